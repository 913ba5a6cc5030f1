/**
 * Who asked for each script's review and how it was decided, kept in
 * `<dataDir>/script-reviews.json` (0600). The catalog holds the status itself; this file holds
 * what the catalog format has no place for, so a decision still reaches the person who asked
 * after a restart. A record names the hash it is about: once the script's text changes, the
 * record no longer applies to it.
 */
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { ScriptReviewStateSchema, type ScriptReviewState } from '../contract/index.ts';
import { isMissingFile, writeFileDurably } from '../store/files.ts';

const FileSchema = z.record(z.string(), ScriptReviewStateSchema);

export class ReviewStore {
  private readonly reviews: Map<string, ScriptReviewState>;
  private writing: Promise<void> = Promise.resolve();

  constructor(private readonly path: string) {
    let raw: unknown = {};
    try {
      raw = JSON.parse(readFileSync(path, 'utf8'));
    } catch (error) {
      if (!isMissingFile(error)) throw error;
    }
    this.reviews = new Map(Object.entries(FileSchema.parse(raw)));
  }

  /** The review of this exact version of the script, if there is one. */
  get(scriptId: string, hash: string): ScriptReviewState | undefined {
    const review = this.reviews.get(scriptId);
    return review?.hash === hash ? structuredClone(review) : undefined;
  }

  /** Durable when the promise resolves; writes are serialized so the file always holds the latest state. */
  async put(scriptId: string, review: ScriptReviewState): Promise<void> {
    this.reviews.set(scriptId, structuredClone(review));
    const text = `${JSON.stringify(Object.fromEntries(this.reviews), null, 2)}\n`;
    const write = this.writing.then(() => writeFileDurably(this.path, text));
    this.writing = write.catch(() => undefined);
    await write;
  }
}
