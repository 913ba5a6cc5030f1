/**
 * An append-only JSON-lines file of small records that expire (hook idempotency keys, accepted
 * hook signatures, handled mail). Opening reads it once, drops lines that no longer parse (a
 * torn last line after a crash) or that the caller no longer keeps, and rewrites the file
 * compacted; while running, the caller's prune `compact`s it to its live entries, so the file
 * never holds more than what lived since the last prune. Writes are serialized so lines never
 * interleave.
 */
import { appendFile, readFile } from 'node:fs/promises';
import type { ZodType } from 'zod';
import { isMissingFile, writeFileDurably } from './files.ts';

export class ExpiringLog<T> {
  private writing: Promise<void> = Promise.resolve();

  private constructor(
    private readonly path: string,
    /** Lines in the file, as this process wrote them: more than the caller's live entries means some expired or were superseded. */
    private lines: number,
  ) {}

  /** The log and the entries still kept, oldest first. */
  static async open<T>(path: string, schema: ZodType<T>, keep: (entry: T) => boolean): Promise<{ log: ExpiringLog<T>; entries: T[] }> {
    let text = '';
    try {
      text = await readFile(path, 'utf8');
    } catch (error) {
      if (!isMissingFile(error)) throw error;
    }
    const entries: T[] = [];
    for (const line of text.split('\n')) {
      if (!line.trim()) continue;
      let value: unknown;
      try {
        value = JSON.parse(line);
      } catch {
        continue;
      }
      const parsed = schema.safeParse(value);
      if (parsed.success && keep(parsed.data)) entries.push(parsed.data);
    }
    await writeFileDurably(path, linesOf(entries));
    return { log: new ExpiringLog<T>(path, entries.length), entries };
  }

  /**
   * Replaces the file with `entries` (the caller's live ones, one line each), after the appends
   * so far, when it holds more lines than that; resolves true when it rewrote it. Entries
   * appended after this call are not in `entries` and land in the new file.
   */
  compact(entries: readonly T[]): Promise<boolean> {
    const text = linesOf(entries);
    const next = this.writing.then(async () => {
      if (this.lines <= entries.length) return false;
      await writeFileDurably(this.path, text);
      this.lines = entries.length;
      return true;
    });
    this.writing = next.then(
      () => undefined,
      () => undefined,
    );
    return next;
  }

  append(entry: T): Promise<void> {
    const next = this.writing.then(async () => {
      await appendFile(this.path, `${JSON.stringify(entry)}\n`, { mode: 0o600 });
      this.lines += 1;
    });
    this.writing = next.catch(() => undefined);
    return next;
  }

  /** Resolves when every append so far has reached the file. */
  async settled(): Promise<void> {
    await this.writing;
  }
}

function linesOf<T>(entries: readonly T[]): string {
  return entries.map((entry) => `${JSON.stringify(entry)}\n`).join('');
}
