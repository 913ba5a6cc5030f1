/**
 * Who asked for each script's review and how it was decided. The catalog holds the status
 * itself; this holds what the catalog format has no place for, so a decision still reaches the
 * person who asked after a restart, and on whichever executor of a cluster it was made
 * (`<dataDir>/script-reviews.json` on files, `deputy.script_reviews` on PostgreSQL). A record
 * names the hash it is about: once the script's text changes, the record no longer applies to it.
 */
import type { ScriptReviewState } from '../contract/index.ts';
import type { RecordMap } from '../store/state-port.ts';

export class ReviewStore {
  constructor(private readonly records: RecordMap<ScriptReviewState>) {}

  /** The review of this exact version of the script, if there is one. */
  async get(scriptId: string, hash: string): Promise<ScriptReviewState | undefined> {
    const review = (await this.records.get(scriptId))?.value;
    return review?.hash === hash ? review : undefined;
  }

  /** Durable when the promise resolves. */
  put(scriptId: string, review: ScriptReviewState): Promise<void> {
    return this.records.set(scriptId, review);
  }
}
