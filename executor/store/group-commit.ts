/**
 * Group commit for an append-only file: every caller waits until its line is on disk, but
 * callers that arrive together share one write and one fdatasync. While a batch is being
 * flushed, new arrivals queue for the next batch, so throughput grows with concurrency
 * instead of paying one disk flush per record.
 *
 * The encoder turns a batch into text at flush time and only `commit`s its effect (an index
 * update, the audit chain's new head) once the bytes are durable; a failed batch is cut off
 * the file again and commits nothing.
 */
import type { FileHandle } from 'node:fs/promises';
import { DeputyError } from '../contract/errors.ts';

export interface EncodedBatch<R> {
  text: string;
  /** One result per item, in order. */
  results: R[];
  commit(): void;
}

export type BatchEncoder<T, R> = (items: T[]) => EncodedBatch<R>;

interface Waiter<T, R> {
  item: T;
  resolve(result: R): void;
  reject(error: unknown): void;
}

export class GroupCommitFile<T, R> {
  private pending: Waiter<T, R>[] = [];
  private draining: Promise<void> | undefined;
  private closed = false;
  /** Set when a failed batch could not be cut off the file: appending more would corrupt it. */
  private broken: unknown;
  private syncCount = 0;

  constructor(
    private readonly handle: FileHandle,
    private readonly path: string,
    /** Bytes of the file that are complete and durable. */
    private durableSize: number,
    private readonly encode: BatchEncoder<T, R>,
  ) {}

  get size(): number {
    return this.durableSize;
  }

  get syncs(): number {
    return this.syncCount;
  }

  submit(item: T): Promise<R> {
    if (this.closed) return Promise.reject(new DeputyError('DEPUTY_E_INTERNAL', { detail: `${this.path} is closed` }));
    if (this.broken !== undefined) {
      return Promise.reject(new DeputyError('DEPUTY_E_INTERNAL', { detail: `${this.path} failed earlier and is not written to`, cause: this.broken }));
    }
    return new Promise<R>((resolve, reject) => {
      this.pending.push({ item, resolve, reject });
      // Wait one turn of the event loop so that everyone who submits "at the same time" joins the batch.
      this.draining ??= new Promise<void>((ready) => setImmediate(ready)).then(() => this.drain());
    });
  }

  /** Resolves once everything submitted so far is durable (or failed). */
  async flush(): Promise<void> {
    while (this.draining) await this.draining;
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.flush();
    await this.handle.close();
  }

  private async drain(): Promise<void> {
    while (this.pending.length > 0) {
      const batch = this.pending;
      this.pending = [];
      await this.writeBatch(batch);
    }
    this.draining = undefined;
  }

  private async writeBatch(batch: Waiter<T, R>[]): Promise<void> {
    if (this.broken !== undefined) {
      for (const waiter of batch) waiter.reject(new DeputyError('DEPUTY_E_INTERNAL', { detail: `${this.path} failed earlier`, cause: this.broken }));
      return;
    }
    let encoded: EncodedBatch<R>;
    let bytes: Buffer;
    try {
      encoded = this.encode(batch.map((waiter) => waiter.item));
      bytes = Buffer.from(encoded.text, 'utf8');
      let written = 0;
      while (written < bytes.length) {
        const { bytesWritten } = await this.handle.write(bytes, written, bytes.length - written);
        written += bytesWritten;
      }
      await this.handle.datasync();
      this.syncCount += 1;
    } catch (error) {
      await this.cutOffFailedBatch();
      const failure = new DeputyError('DEPUTY_E_INTERNAL', { detail: `writing ${this.path} failed`, cause: error });
      for (const waiter of batch) waiter.reject(failure);
      return;
    }
    this.durableSize += bytes.length;
    encoded.commit();
    batch.forEach((waiter, index) => waiter.resolve(encoded.results[index] as R));
  }

  /** A half-written batch must not stay in front of the next one, or the file gets a corrupt line in the middle. */
  private async cutOffFailedBatch(): Promise<void> {
    try {
      await this.handle.truncate(this.durableSize);
    } catch (error) {
      this.broken = error;
    }
  }
}
