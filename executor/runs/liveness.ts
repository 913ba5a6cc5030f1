/**
 * Executors in a cluster watch each other through leases (docs/store.md, "Leases"):
 *
 * - each executor renews `executor:<id>` every third of its lease time;
 * - any executor that finds another's lease expired takes over that executor's runs: those it
 *   was running become `interrupted` (a compare-and-set from `running`, so of several executors
 *   sweeping at once exactly one records it: audited, and the requester hears of it on the event
 *   stream). Its queued runs wait in the shared queue for whoever has room; one it accepted but
 *   died before handing to the queue is queued again by the sweeper;
 * - duties that must run once across the cluster (the plan scheduler, approval expiry, the prune
 *   of expired records) run only on the executor that holds their lease (`duty:<name>`), which
 *   moves when that one dies.
 *
 * On files there is one executor per data folder and the leases live in memory: it always holds them.
 */
import type { Logger } from 'pino';
import type { Clock } from '../../lib/clock.ts';
import type { RunRecord } from '../domain.ts';
import type { AsyncRunStore, Leases } from '../store/state-port.ts';
import type { RunRecorder } from './records.ts';

export const EXECUTOR_LEASE_PREFIX = 'executor:';

export interface LivenessOptions {
  executorId: string;
  leases: Leases;
  runs: AsyncRunStore;
  recorder: RunRecorder;
  /** A queued run the dead executor accepted: queued again if it never reached the queue (worker.ts `adopt`). */
  adopt(run: RunRecord): Promise<void>;
  /** Runs the dead executor took from the queue and never claimed: back in the queue (RunQueue.giveBackTakenBy); how many. */
  giveBackTaken(executor: string): Promise<number>;
  ttlMs: number;
  clock: Clock;
  logger: Logger;
}

export class ExecutorLiveness {
  private timer: NodeJS.Timeout | undefined;
  private beating: Promise<void> = Promise.resolve();
  private stopped = false;

  constructor(private readonly options: LivenessOptions) {}

  get leaseName(): string {
    return `${EXECUTOR_LEASE_PREFIX}${this.options.executorId}`;
  }

  /** Takes this executor's lease and keeps renewing it; sweeps for dead executors on each beat. */
  async start(): Promise<void> {
    await this.renew();
    this.timer = setInterval(() => {
      this.beating = this.beating.then(() => this.beat());
    }, Math.max(250, Math.floor(this.options.ttlMs / 3)));
    this.timer.unref();
  }

  /** One renewal and one sweep (the timer calls it; tests may too). */
  async beat(): Promise<void> {
    if (this.stopped) return;
    try {
      await this.renew();
      await this.sweep();
    } catch (error) {
      this.options.logger.error({ err: error }, 'renewing the executor lease or sweeping for dead executors failed');
    }
  }

  /**
   * Runs `work` only while this executor holds the lease of duty `name` (taking it when it is free
   * or its holder's lease expired, for `ttlMs`: by default the executor lease's time); true when it ran.
   */
  async asDuty(name: string, work: () => Promise<unknown>, ttlMs = this.options.ttlMs): Promise<boolean> {
    if (this.stopped) return false;
    const held = await this.options.leases.acquire(`duty:${name}`, this.options.executorId, ttlMs);
    if (!held) return false;
    await work();
    return true;
  }

  /** Interrupts the runs the dead executors were running; returns how many. */
  async sweep(): Promise<number> {
    const { leases, executorId, logger } = this.options;
    let interrupted = 0;
    for (const lease of await leases.expired(EXECUTOR_LEASE_PREFIX)) {
      if (lease.holder === executorId) continue;
      const dead = lease.name.slice(EXECUTOR_LEASE_PREFIX.length);
      const count = await this.interruptRunsOf(dead, `The executor running this run (${dead}) stopped before it finished.`);
      interrupted += count;
      const givenBack = await this.options.giveBackTaken(dead);
      logger.warn(
        { executor: dead, interrupted: count, givenBack, expiredAt: new Date(lease.expiresAt).toISOString() },
        'an executor stopped renewing its lease; its running runs were interrupted, and the runs it had taken but not started are queued again',
      );
      await leases.release(lease.name, lease.holder);
    }
    return interrupted;
  }

  /** `running` → `interrupted` for each run `executor` holds, each a compare-and-set (one sweeper wins). */
  async interruptRunsOf(executor: string, message: string): Promise<number> {
    let interrupted = 0;
    for (const run of await this.options.runs.unfinished()) {
      if (run.executor !== executor) continue;
      if (run.state === 'queued') await this.options.adopt(run);
      if (run.state !== 'running') continue;
      const result = await this.options.recorder.finish(run, 'interrupted', { error: { code: 'DEPUTY_E_INTERNAL', message } });
      if (result.ok) interrupted++;
    }
    return interrupted;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    await this.beating;
    await this.options.leases.release(this.leaseName, this.options.executorId);
  }

  private async renew(): Promise<void> {
    const held = await this.options.leases.acquire(this.leaseName, this.options.executorId, this.options.ttlMs);
    // Another process claims this executor's name: two executors must never share one.
    if (!held) this.options.logger.error({ executor: this.options.executorId }, 'another executor holds this executor id’s lease; give each executor its own DEPUTY_EXECUTOR_ID');
  }
}
