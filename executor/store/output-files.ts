/**
 * Each run's full output in its own file, `<dataDir>/output/<runId>.jsonl` (one record per
 * line), written once atomically when the run ends. Shared by both file run stores.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { isMissingFile, writeFileDurably } from './files.ts';
import type { StoredRecord } from './port.ts';
import { assertRunId, outputLines, parseOutputLines } from './run-index.ts';

export class RunOutputFiles {
  constructor(private readonly dir: string) {}

  async write(runId: string, records: StoredRecord[]): Promise<void> {
    assertRunId(runId);
    await writeFileDurably(this.path(runId), outputLines(records));
  }

  /** Empty when no output was written (yet). */
  async read(runId: string): Promise<StoredRecord[]> {
    assertRunId(runId);
    const path = this.path(runId);
    let text: string;
    try {
      text = await readFile(path, 'utf8');
    } catch (error) {
      // No file: the run has not finished (or produced nothing yet).
      if (isMissingFile(error)) return [];
      throw error;
    }
    return parseOutputLines(text, `the output file ${path}`);
  }

  private path(runId: string): string {
    return join(this.dir, `${runId}.jsonl`);
  }
}
