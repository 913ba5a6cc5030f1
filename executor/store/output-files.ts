/**
 * Each run's full output in its own file, `<dataDir>/output/<runId>.jsonl` (one record per
 * line), written once when a run ends. Shared by both file run stores.
 *
 * A run's output is written before its final state, and that final state is what makes the run
 * count as ended: so the output only has to be durable before the final state is written, not
 * atomic. It is therefore written under its own name at once and made durable with one flush of
 * the file and one of the folder side by side (one disk round trip, where a temporary file and a
 * rename cost two, on every run's path; docs/store.md, "output"). A crash before that leaves a
 * file cut short for a run that never ended (it becomes `interrupted`): reading drops an
 * unterminated last line, as the run log does. Writing a run's output a second time replaces it
 * through a temporary file and a rename.
 */
import { open, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fsyncDir, isMissingFile, PRIVATE_FILE_MODE, writeFileDurably } from './files.ts';
import type { StoredRecord } from './port.ts';
import { assertRunId, outputLines, parseOutputLines } from './run-index.ts';

export class RunOutputFiles {
  constructor(private readonly dir: string) {}

  async write(runId: string, records: StoredRecord[]): Promise<void> {
    assertRunId(runId);
    const path = this.path(runId);
    const text = outputLines(records);
    let handle;
    try {
      handle = await open(path, 'wx', PRIVATE_FILE_MODE);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'EEXIST') return writeFileDurably(path, text);
      throw error;
    }
    try {
      await handle.writeFile(text, 'utf8');
      await Promise.all([handle.datasync(), fsyncDir(this.dir)]);
    } finally {
      await handle.close();
    }
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
    // An unterminated last line is a write a crash (or this very moment) cut short: not output yet.
    const whole = text.endsWith('\n') ? text : text.slice(0, text.lastIndexOf('\n') + 1);
    return parseOutputLines(whole, `the output file ${path}`);
  }

  private path(runId: string): string {
    return join(this.dir, `${runId}.jsonl`);
  }
}
