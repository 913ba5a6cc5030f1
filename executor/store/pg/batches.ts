/**
 * Group commit for PostgreSQL writes: callers that arrive in the same turn of the event loop
 * share one transaction, and while it runs new arrivals wait for the next. Batches run one at a
 * time in submission order, which the audit chain and the outbox sequence rely on within one
 * process (across processes a row lock orders them; see audit.ts and outbox.ts).
 */
import { DeputyError } from '../../contract/errors.ts';

interface Waiter<T, R> {
  item: T;
  resolve(result: R): void;
  reject(error: unknown): void;
}

export class TransactionBatches<T, R> {
  private pending: Waiter<T, R>[] = [];
  private draining: Promise<void> | undefined;
  private closed = false;

  constructor(
    /** Writes a batch in one transaction and returns one result per item, in order. */
    private readonly write: (items: T[]) => Promise<R[]>,
    private readonly what: string,
  ) {}

  submit(item: T): Promise<R> {
    if (this.closed) return Promise.reject(new DeputyError('DEPUTY_E_INTERNAL', { detail: `${this.what}: the store is closed` }));
    return new Promise<R>((resolve, reject) => {
      this.pending.push({ item, resolve, reject });
      this.draining ??= new Promise<void>((ready) => setImmediate(ready)).then(() => this.drain());
    });
  }

  /** Waits for everything submitted so far, then refuses more. */
  async close(): Promise<void> {
    this.closed = true;
    while (this.draining) await this.draining;
  }

  private async drain(): Promise<void> {
    while (this.pending.length > 0) {
      const batch = this.pending;
      this.pending = [];
      try {
        const results = await this.write(batch.map((waiter) => waiter.item));
        batch.forEach((waiter, index) => waiter.resolve(results[index] as R));
      } catch (error) {
        const failure = new DeputyError('DEPUTY_E_INTERNAL', { detail: `${this.what} failed`, cause: error });
        for (const waiter of batch) waiter.reject(failure);
      }
    }
    this.draining = undefined;
  }
}

/** A database error as the store reports it: DEPUTY_E_INTERNAL, with the detail for the log. */
export function storeFailure(what: string, error: unknown): DeputyError {
  if (error instanceof DeputyError) return error;
  return new DeputyError('DEPUTY_E_INTERNAL', { detail: `${what} failed: ${error instanceof Error ? error.message : String(error)}`, cause: error });
}
