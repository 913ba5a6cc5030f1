/**
 * An append-only JSON-lines file of small records that expire (hook idempotency keys, accepted
 * hook signatures, handled mail). Opening reads it once, drops lines that no longer parse (a
 * torn last line after a crash) or that the caller no longer keeps, and rewrites the file
 * compacted; a busy caller may `rewrite` it compacted while running too. Writes are serialized
 * so lines never interleave.
 */
import { appendFile, readFile } from 'node:fs/promises';
import type { ZodType } from 'zod';
import { isMissingFile, writeFileDurably } from './files.ts';

export class ExpiringLog<T> {
  private writing: Promise<void> = Promise.resolve();

  private constructor(private readonly path: string) {}

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
    await writeFileDurably(path, entries.map((entry) => `${JSON.stringify(entry)}\n`).join(''));
    return { log: new ExpiringLog<T>(path), entries };
  }

  /** Replaces the file with `entries` (the caller's live ones), after the appends so far. */
  rewrite(entries: readonly T[]): Promise<void> {
    const next = this.writing.then(() => writeFileDurably(this.path, entries.map((entry) => `${JSON.stringify(entry)}\n`).join('')));
    this.writing = next.catch(() => undefined);
    return next;
  }

  append(entry: T): Promise<void> {
    const next = this.writing.then(() => appendFile(this.path, `${JSON.stringify(entry)}\n`, { mode: 0o600 }));
    this.writing = next.catch(() => undefined);
    return next;
  }

  /** Resolves when every append so far has reached the file. */
  async settled(): Promise<void> {
    await this.writing;
  }
}
