/**
 * Runs in `<dataDir>/runs.jsonl`: every put appends the run's full record as one line, so a
 * run's history is its lines and the newest line wins. Opening reads the file once to
 * rebuild the index; writing never rewrites anything, so a put costs the same with a million
 * runs behind it. Each run's output is one file, `<dataDir>/output/<runId>.jsonl`.
 */
import { DeputyError } from '../contract/errors.ts';
import { RunRecordSchema, type RunRecord } from '../domain.ts';
import type { Logger } from '../../lib/logger.ts';
import { openAppendOnly } from './files.ts';
import { GroupCommitFile } from './group-commit.ts';
import { scanLines } from './lines.ts';
import type { RunFilter, RunStore, StoredRecord } from './port.ts';
import { RunOutputFiles } from './output-files.ts';
import { parseJsonOrUndefined, parseRun, RunIndex } from './run-index.ts';

interface PendingRun {
  record: RunRecord;
  line: string;
}

export class FileRuns implements RunStore {
  private constructor(
    private readonly index: RunIndex,
    private readonly log: GroupCommitFile<PendingRun, void>,
    private readonly outputs: RunOutputFiles,
  ) {}

  static async open(path: string, outputDir: string, logger: Logger): Promise<FileRuns> {
    const { handle, size } = await openAppendOnly(path);
    try {
      const index = new RunIndex();
      let tornFrom: number | undefined;
      let damaged: DeputyError | undefined;
      await scanLines(handle, (line) => {
        if (!line.terminated) {
          tornFrom = line.start;
          return false;
        }
        if (line.text.trim() === '') return true;
        const record = parseStoredRun(line.text);
        if (!record) {
          damaged = new DeputyError('DEPUTY_E_INTERNAL', { message: `The run history ${path} is damaged at line ${line.number}; fix or remove that line.` });
          return false;
        }
        index.apply(record);
        return true;
      });
      if (damaged) throw damaged;
      let durableSize = size;
      if (tornFrom !== undefined) {
        // A crash cut the last write short. That put never returned, so dropping the fragment
        // loses nothing anyone was promised, and the next append starts on a clean line.
        logger.warn({ path, offset: tornFrom, bytes: size - tornFrom }, 'dropping an incomplete last line of the run history (a write was cut off)');
        await handle.truncate(tornFrom);
        await handle.datasync();
        durableSize = tornFrom;
      }
      const log = new GroupCommitFile<PendingRun, void>(handle, path, durableSize, (batch) => ({
        text: batch.map((pending) => pending.line).join(''),
        results: batch.map(() => undefined),
        // The index changes only once the lines are durable: nobody reads a run that a crash could take back.
        commit: () => batch.forEach((pending) => index.apply(pending.record)),
      }));
      return new FileRuns(index, log, new RunOutputFiles(outputDir));
    } catch (error) {
      await handle.close();
      throw error;
    }
  }

  get syncs(): number {
    return this.log.syncs;
  }

  async put(run: RunRecord): Promise<void> {
    const record = parseRun(run);
    await this.log.submit({ record, line: `${JSON.stringify(record)}\n` });
  }

  get(id: string): RunRecord | undefined {
    return this.index.get(id);
  }

  list(filter: RunFilter): RunRecord[] {
    return this.index.list(filter);
  }

  unfinished(): RunRecord[] {
    return this.index.unfinished();
  }

  writeOutput(runId: string, records: StoredRecord[]): Promise<void> {
    return this.outputs.write(runId, records);
  }

  readOutput(runId: string): Promise<StoredRecord[]> {
    return this.outputs.read(runId);
  }

  async close(): Promise<void> {
    await this.log.close();
  }
}

function parseStoredRun(text: string): RunRecord | undefined {
  const parsed = RunRecordSchema.safeParse(parseJsonOrUndefined(text));
  return parsed.success ? parsed.data : undefined;
}
