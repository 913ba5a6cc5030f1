/**
 * A small map kept in one JSON file (mode 0600), for run-time state that the catalog format has
 * no place for (plan state, script reviews). Read and checked with zod once at open; every
 * change rewrites the file durably, and writes are serialized so the file always ends up
 * holding the latest state.
 */
import { readFileSync } from 'node:fs';
import { z, type ZodType } from 'zod';
import { isMissingFile, writeFileDurably } from './files.ts';

export class DurableJsonMap<T> {
  private readonly entries: Map<string, T>;
  private writing: Promise<void> = Promise.resolve();

  constructor(
    private readonly path: string,
    schema: ZodType<T>,
  ) {
    let raw: unknown = {};
    try {
      raw = JSON.parse(readFileSync(path, 'utf8'));
    } catch (error) {
      if (!isMissingFile(error)) throw error;
    }
    this.entries = new Map(Object.entries(z.record(z.string(), schema).parse(raw)));
  }

  /** A copy: changing it changes nothing until it is `set`. */
  get(key: string): T | undefined {
    const value = this.entries.get(key);
    return value === undefined ? undefined : structuredClone(value);
  }

  /** Durable when the promise resolves. */
  async set(key: string, value: T): Promise<void> {
    this.entries.set(key, structuredClone(value));
    await this.write();
  }

  /** Durable when the promise resolves; a key that is not there changes nothing. */
  async delete(key: string): Promise<void> {
    if (this.entries.delete(key)) await this.write();
  }

  private async write(): Promise<void> {
    const text = `${JSON.stringify(Object.fromEntries(this.entries), null, 2)}\n`;
    const write = this.writing.then(() => writeFileDurably(this.path, text));
    this.writing = write.catch(() => undefined);
    await write;
  }
}
