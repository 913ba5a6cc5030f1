/**
 * Who asked for each script's review and how it was decided, kept in
 * `<dataDir>/script-reviews.json` (0600). The catalog holds the status itself; this file holds
 * what the catalog format has no place for, so a decision still reaches the person who asked
 * after a restart. A record names the hash it is about: once the script's text changes, the
 * record no longer applies to it.
 */
import { ScriptReviewStateSchema, type ScriptReviewState } from '../contract/index.ts';
import { DurableJsonMap } from '../store/json-map.ts';

export class ReviewStore {
  private readonly reviews: DurableJsonMap<ScriptReviewState>;

  constructor(path: string) {
    this.reviews = new DurableJsonMap(path, ScriptReviewStateSchema);
  }

  /** The review of this exact version of the script, if there is one. */
  get(scriptId: string, hash: string): ScriptReviewState | undefined {
    const review = this.reviews.get(scriptId);
    return review?.hash === hash ? review : undefined;
  }

  /** Durable when the promise resolves. */
  put(scriptId: string, review: ScriptReviewState): Promise<void> {
    return this.reviews.set(scriptId, review);
  }
}
