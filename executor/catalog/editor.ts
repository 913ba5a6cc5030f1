/**
 * Changes to the live catalog, one at a time. Every change reads the whole snapshot, checks it
 * and replaces it; two changes at once would each start from the same snapshot and the later
 * write would drop the earlier one. Everything that edits the catalog while the executor runs
 * (status changes, scripts, actions and plans authored through the API) goes through one editor.
 */
import type { CatalogSnapshot, CatalogStore } from '../store/port.ts';

export class CatalogEditor {
  private tail: Promise<unknown> = Promise.resolve();

  constructor(private readonly catalog: Pick<CatalogStore, 'snapshot' | 'replace'>) {}

  /** Runs `work` after every earlier one has finished, whether it succeeded or not. */
  exclusive<T>(work: () => Promise<T>): Promise<T> {
    const next = this.tail.then(work);
    this.tail = next.catch(() => undefined);
    return next;
  }

  /** The current snapshot, to be changed and handed back to `replace` within `exclusive`. */
  snapshot(): CatalogSnapshot {
    return this.catalog.snapshot();
  }

  replace(next: CatalogSnapshot): Promise<void> {
    return this.catalog.replace(next);
  }
}
