/**
 * Warm pwsh workers for one identity. A job takes a free worker or waits for one; a worker
 * that died, or whose job timed out, was cancelled or left something behind, is killed and
 * replaced, never reused.
 */
import type { Logger } from '../../lib/logger.ts';
import { PwshWorker, type LaunchSpec } from './worker.ts';

interface Waiter {
  resolve(worker: PwshWorker): void;
  reject(error: unknown): void;
}

export interface PoolStats {
  identity: string;
  size: number;
  workers: number;
  idle: number;
  waiting: number;
  /** Workers killed and replaced so far. */
  replaced: number;
  /** The workers' pwsh process ids (what their scripts see as `$PID`). */
  pids: number[];
}

export class WorkerPool {
  private readonly idle: PwshWorker[] = [];
  private readonly all = new Set<PwshWorker>();
  /** Workers being started, counted against the size. */
  private starting = 0;
  private readonly waiters: Waiter[] = [];
  private replaced = 0;
  private closed = false;
  /** Aborts workers still starting when the pool closes. */
  private readonly starts = new AbortController();

  constructor(
    private readonly spec: LaunchSpec,
    private readonly size: number,
    private readonly logger: Logger,
  ) {}

  /** A free worker, started if the pool is below its size; waits otherwise. Abort leaves the queue. */
  acquire(signal?: AbortSignal): Promise<PwshWorker> {
    if (this.closed) return Promise.reject(new Error('the worker pool is closed'));
    const ready = this.takeIdle();
    if (ready) return Promise.resolve(ready);
    return new Promise<PwshWorker>((resolve, reject) => {
      const waiter: Waiter = {
        resolve: (worker) => {
          signal?.removeEventListener('abort', onAbort);
          resolve(worker);
        },
        reject: (error) => {
          signal?.removeEventListener('abort', onAbort);
          reject(error);
        },
      };
      const onAbort = (): void => {
        const at = this.waiters.indexOf(waiter);
        if (at >= 0) this.waiters.splice(at, 1);
        reject(signal?.reason ?? new Error('aborted'));
      };
      if (signal?.aborted) return onAbort();
      signal?.addEventListener('abort', onAbort, { once: true });
      this.waiters.push(waiter);
      this.grow();
    });
  }

  /** Gives a worker back: to the next waiter or the idle list if reusable, else kills and replaces it. */
  release(worker: PwshWorker, reusable: boolean): void {
    if (!reusable || !worker.alive || this.closed) return this.replace(worker);
    // Off the caller's path: the job's result does not wait for this check, only the next job does.
    void worker.strayProcesses().then(
      (stray) => {
        if (stray.length > 0) {
          this.logger.warn({ pid: worker.pid, stray, identity: this.spec.identity }, 'a job left processes behind; replacing its pwsh worker');
          this.replace(worker);
        } else this.handOver(worker);
      },
      (error: unknown) => {
        this.logger.warn({ err: error, pid: worker.pid }, 'cannot check a pwsh worker for stray processes; replacing it');
        this.replace(worker);
      },
    );
  }

  private handOver(worker: PwshWorker): void {
    if (!worker.alive || this.closed) return this.replace(worker);
    const waiter = this.waiters.shift();
    if (waiter) waiter.resolve(worker);
    else this.idle.push(worker);
  }

  private replace(worker: PwshWorker): void {
    this.retire(worker);
    this.replaced += 1;
    // Keep the pool warm: a replacement starts now, not when the next job arrives.
    if (!this.closed) this.grow(true);
  }

  /** Starts workers up to the pool size (prewarm). */
  async prewarm(): Promise<void> {
    const starts: Array<Promise<void>> = [];
    while (this.all.size + this.starting < this.size) starts.push(this.startOne());
    await Promise.all(starts);
  }

  stats(): PoolStats {
    return {
      identity: this.spec.identity,
      size: this.size,
      workers: this.all.size,
      idle: this.idle.length,
      waiting: this.waiters.length,
      replaced: this.replaced,
      pids: [...this.all].map((worker) => worker.hostProcessId),
    };
  }

  async close(): Promise<void> {
    const exits = [...this.all].map((worker) => worker.whenExited());
    this.killNow();
    await Promise.all(exits);
  }

  /** Kills every worker at once, synchronously (also for the executor's own exit). */
  killNow(): void {
    this.closed = true;
    this.starts.abort(new Error('the worker pool is closed'));
    for (const waiter of this.waiters.splice(0)) waiter.reject(new Error('the worker pool is closed'));
    for (const worker of this.all) worker.kill();
    this.all.clear();
    this.idle.length = 0;
  }

  private takeIdle(): PwshWorker | undefined {
    while (this.idle.length > 0) {
      const worker = this.idle.shift();
      if (worker?.alive) return worker;
      if (worker) this.retire(worker);
    }
    return undefined;
  }

  /** Starts one worker when there is room and either a waiter or a wish to stay warm. */
  private grow(keepWarm = false): void {
    if (this.all.size + this.starting >= this.size) return;
    if (this.waiters.length === 0 && !keepWarm) return;
    void this.startOne().catch(() => undefined);
  }

  private async startOne(): Promise<void> {
    this.starting += 1;
    let worker: PwshWorker;
    try {
      worker = await PwshWorker.start(this.spec, this.logger, this.starts.signal);
    } catch (error) {
      this.starting -= 1;
      if (this.closed) return;
      this.logger.error({ err: error, identity: this.spec.identity }, 'pwsh worker failed to start');
      // Nothing will get better by waiting: the queued jobs learn why.
      for (const waiter of this.waiters.splice(0)) waiter.reject(error);
      throw error;
    }
    this.starting -= 1;
    if (this.closed) {
      worker.kill();
      return;
    }
    this.all.add(worker);
    void worker.whenExited().then(() => {
      if (!this.all.has(worker)) return;
      // Died while idle: forget it; the next acquire starts another.
      this.retire(worker);
      this.grow();
    });
    this.logger.debug({ pid: worker.pid, identity: this.spec.identity }, 'pwsh worker ready');
    this.handOver(worker);
  }

  private retire(worker: PwshWorker): void {
    worker.kill();
    this.all.delete(worker);
    const at = this.idle.indexOf(worker);
    if (at >= 0) this.idle.splice(at, 1);
  }
}
