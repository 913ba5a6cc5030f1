/**
 * Warm pwsh workers for one identity. A worker serves one requester for its whole life: it is a
 * pre-warmed *spare* until its first job, bound to that job's requester from then on, and ends
 * when it has been idle too long, when its job timed out, was cancelled or left something behind,
 * or when it died. So .NET state, threads and files of one person's jobs never meet another's
 * (docs/runner.md, "Warm pool").
 */
import type { Logger } from '../../lib/logger.ts';
import { PwshWorker, type LaunchSpec } from './worker.ts';

interface Waiter {
  requester: string;
  resolve(worker: PwshWorker): void;
  reject(error: unknown): void;
}

export interface PoolLimits {
  /** Spare workers kept warm, and the most workers one requester holds at once. */
  size: number;
  /** Workers of this identity at most, spares included. */
  maxWorkers: number;
  /** A bound worker (or a spare beyond `size`) idle this long ends. */
  idleMs: number;
}

export interface PoolWorkerStats {
  /** The host process's pid as the executor sees it. */
  pid: number;
  /** Whom the worker serves; undefined for a spare. */
  requester: string | undefined;
  busy: boolean;
}

export interface PoolStats {
  identity: string;
  size: number;
  workers: number;
  idle: number;
  /** Warm workers bound to no one yet. */
  spares: number;
  waiting: number;
  /** Workers killed and replaced so far (timed out, cancelled, left something behind, died). */
  replaced: number;
  /** Workers ended after being idle. */
  retired: number;
  /** The workers' host process ids, as the executor sees them. */
  pids: number[];
  detail: PoolWorkerStats[];
}

export class WorkerPool {
  private readonly all = new Set<PwshWorker>();
  private readonly spares: PwshWorker[] = [];
  /** Whom each bound worker serves. */
  private readonly owner = new Map<PwshWorker, string>();
  /** Bound workers without a job, oldest first, with the timer that ends them. */
  private readonly idle = new Map<PwshWorker, NodeJS.Timeout | undefined>();
  /** Bound workers whose job ended and which are being checked before they serve again. */
  private readonly returning = new Set<PwshWorker>();
  private starting = 0;
  private readonly waiters: Waiter[] = [];
  private replaced = 0;
  private retired = 0;
  private closed = false;
  /** Aborts workers still starting when the pool closes. */
  private readonly starts = new AbortController();

  constructor(
    private readonly launch: () => LaunchSpec,
    readonly identity: string,
    private readonly limits: PoolLimits,
    private readonly logger: Logger,
  ) {}

  /**
   * A worker for `requester`: one of theirs that is free, else a spare (bound to them from now
   * on), else a new one; waits when they already hold `size` workers or the pool is full. Abort
   * leaves the queue.
   */
  acquire(requester: string, signal?: AbortSignal): Promise<PwshWorker> {
    if (this.closed) return Promise.reject(new Error('the worker pool is closed'));
    const ready = this.takeFor(requester);
    if (ready) {
      this.fill();
      return Promise.resolve(ready);
    }
    return new Promise<PwshWorker>((resolve, reject) => {
      const waiter: Waiter = {
        requester,
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
      this.fill();
    });
  }

  /**
   * Gives a worker back to its requester if reusable (once `recorded` settles: ExecutionHooks);
   * else kills and replaces it.
   */
  release(worker: PwshWorker, reusable: boolean, recorded: Promise<unknown> = Promise.resolve()): void {
    if (!reusable || !worker.alive || this.closed) return this.replace(worker);
    // Off the caller's path: the job's result does not wait for this check (not even its first,
    // synchronous look at /proc), only the next job does.
    this.returning.add(worker);
    const afterRecording = recorded.then(
      () => undefined,
      () => undefined,
    );
    void afterRecording.then(() => new Promise((resolve) => setImmediate(resolve))).then(() => worker.strayProcesses()).then(
      (stray) => {
        this.returning.delete(worker);
        if (stray.length > 0) {
          this.logger.warn({ pid: worker.pid, stray, identity: this.identity }, 'a job left processes behind; replacing its pwsh worker');
          this.replace(worker);
        } else this.handBack(worker);
      },
      (error: unknown) => {
        this.returning.delete(worker);
        this.logger.warn({ err: error, pid: worker.pid }, 'cannot check a pwsh worker for stray processes; replacing it');
        this.replace(worker);
      },
    );
  }

  /** Starts spares up to the pool size. */
  async prewarm(): Promise<void> {
    const starts: Array<Promise<void>> = [];
    while (this.spares.length + this.starting < this.limits.size && this.hasRoom()) starts.push(this.startOne());
    await Promise.all(starts);
  }

  stats(): PoolStats {
    const detail = [...this.all].map((worker) => ({
      pid: worker.hostProcessId,
      requester: this.owner.get(worker),
      busy: this.owner.has(worker) && !this.idle.has(worker),
    }));
    return {
      identity: this.identity,
      size: this.limits.size,
      workers: this.all.size,
      idle: [...this.idle.keys()].filter((worker) => this.owner.has(worker)).length + this.spares.length,
      spares: this.spares.length,
      waiting: this.waiters.length,
      replaced: this.replaced,
      retired: this.retired,
      pids: detail.map((worker) => worker.pid),
      detail,
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
    for (const worker of [...this.all]) this.forget(worker);
  }

  /**
   * A free worker of the requester, or a spare bound to them now (while they hold fewer than
   * `size`, and none of theirs is about to come back: a worker's check takes milliseconds, a
   * spare taken instead would have to be replaced by a cold start).
   */
  private takeFor(requester: string): PwshWorker | undefined {
    for (const worker of this.idle.keys()) {
      if (this.owner.get(worker) !== requester) continue;
      clearTimeout(this.idle.get(worker));
      this.idle.delete(worker);
      if (worker.alive) return worker;
      this.forget(worker);
    }
    if (this.held(requester) >= this.limits.size || this.comingBack(requester)) return undefined;
    return this.bindSpare(requester);
  }

  private comingBack(requester: string): boolean {
    for (const worker of this.returning) if (this.owner.get(worker) === requester) return true;
    return false;
  }

  private bindSpare(requester: string): PwshWorker | undefined {
    while (this.spares.length > 0) {
      const spare = this.spares.shift() as PwshWorker;
      clearTimeout(this.idle.get(spare));
      this.idle.delete(spare);
      if (!spare.alive) {
        this.forget(spare);
        continue;
      }
      this.owner.set(spare, requester);
      this.logger.debug({ pid: spare.pid, identity: this.identity, requester }, 'pwsh worker bound to its requester');
      return spare;
    }
    return undefined;
  }

  private held(requester: string): number {
    let count = 0;
    for (const owner of this.owner.values()) if (owner === requester) count += 1;
    return count;
  }

  /** A bound worker whose job went well: to the next waiter of the same requester, else idle until its timer ends it. */
  private handBack(worker: PwshWorker): void {
    if (!worker.alive || this.closed) return this.replace(worker);
    worker.prepareNext();
    const requester = this.owner.get(worker);
    const at = this.waiters.findIndex((waiter) => waiter.requester === requester);
    if (at >= 0) {
      const [waiter] = this.waiters.splice(at, 1);
      waiter?.resolve(worker);
      return;
    }
    this.idle.set(worker, this.retireLater(worker));
    this.fill();
  }

  /** A new worker: to the first waiter who may take another worker, else a spare. */
  private handOverNew(worker: PwshWorker): void {
    const at = this.eligibleWaiters().at(0);
    if (at !== undefined) {
      const [waiter] = this.waiters.splice(at, 1);
      if (waiter) {
        this.owner.set(worker, waiter.requester);
        waiter.resolve(worker);
        return;
      }
    }
    this.spares.push(worker);
    // Spares beyond the size (started for waiters that were served otherwise) end when idle.
    if (this.spares.length > this.limits.size) this.idle.set(worker, this.retireLater(worker));
  }

  private retireLater(worker: PwshWorker): NodeJS.Timeout {
    const timer = setTimeout(() => {
      this.logger.debug({ pid: worker.pid, identity: this.identity, requester: this.owner.get(worker) }, 'idle pwsh worker retired');
      this.retired += 1;
      this.forget(worker);
      this.fill();
    }, this.limits.idleMs);
    timer.unref();
    return timer;
  }

  /**
   * Indexes of waiters a spare or a new worker should serve: their requester holds fewer than
   * `size` (counting earlier waiters) and has no worker coming back.
   */
  private eligibleWaiters(): number[] {
    const counts = new Map<string, number>();
    const eligible: number[] = [];
    this.waiters.forEach((waiter, index) => {
      const count = counts.get(waiter.requester) ?? this.held(waiter.requester);
      if (count < this.limits.size && !this.comingBack(waiter.requester)) eligible.push(index);
      counts.set(waiter.requester, count + 1);
    });
    return eligible;
  }

  private hasRoom(): boolean {
    return this.all.size + this.starting < this.limits.maxWorkers;
  }

  /**
   * Starts workers for waiters no one else will serve, and spares up to the size. When the pool is
   * full and a waiter needs a worker, the longest-idle worker of another requester ends first.
   */
  private fill(): void {
    if (this.closed) return;
    // Spares first: a waiter whose worker was just replaced takes one at once.
    for (let at = this.eligibleWaiters().at(0); at !== undefined; at = this.eligibleWaiters().at(0)) {
      const waiter = this.waiters[at] as Waiter;
      const spare = this.bindSpare(waiter.requester);
      if (!spare) break;
      this.waiters.splice(at, 1);
      waiter.resolve(spare);
    }
    const needed = () => Math.max(0, this.eligibleWaiters().length + this.limits.size - this.spares.length - this.starting);
    while (needed() > 0) {
      if (!this.hasRoom()) {
        const forWaiters = this.eligibleWaiters().length > this.starting;
        const victim = forWaiters ? [...this.idle.keys()].find((worker) => this.owner.has(worker)) : undefined;
        if (!victim) return;
        this.retired += 1;
        this.forget(victim);
        continue;
      }
      void this.startOne().catch(() => undefined);
    }
  }

  private replace(worker: PwshWorker): void {
    this.forget(worker);
    this.replaced += 1;
    // Keep the pool warm: a replacement spare starts now, not when the next job arrives.
    this.fill();
  }

  private async startOne(): Promise<void> {
    this.starting += 1;
    let worker: PwshWorker;
    try {
      worker = await PwshWorker.start(this.launch(), this.logger, this.starts.signal);
    } catch (error) {
      this.starting -= 1;
      if (this.closed) return;
      this.logger.error({ err: error, identity: this.identity }, 'pwsh worker failed to start');
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
      // Died while idle: forget it, and keep the spares up.
      this.forget(worker);
      this.fill();
    });
    this.logger.debug({ pid: worker.pid, identity: this.identity }, 'pwsh worker ready');
    this.handOverNew(worker);
  }

  /** Kills a worker and drops it from every list. */
  private forget(worker: PwshWorker): void {
    worker.kill();
    clearTimeout(this.idle.get(worker));
    this.idle.delete(worker);
    this.owner.delete(worker);
    this.all.delete(worker);
    const at = this.spares.indexOf(worker);
    if (at >= 0) this.spares.splice(at, 1);
  }
}
