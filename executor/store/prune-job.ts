/**
 * The prune duty: records that expire (Idempotency-Keys of runs and hooks, accepted hook
 * signatures, the mail ledger, and on PostgreSQL the event outbox) count as absent once their
 * time has passed, but stay in the rows and files until something drops them. This job does, once
 * at start and then every interval (`DEPUTY_PRUNE_INTERVAL_SECONDS`), on whichever executor holds
 * the duty's lease (`duty:prune`), so a cluster prunes once per interval, not once per executor.
 *
 * The lease is held for two intervals and renewed at every pass: while its holder lives, no other
 * executor finds it free (their timers are not in step with its), and when the holder dies another
 * takes over within two intervals. A kind that fails is logged and tried again at the next pass;
 * the others still run. Nothing here ever stops the executor.
 */
import type { Logger } from 'pino';
import type { Clock } from '../../lib/clock.ts';
import { MESSAGE_RETENTION_MS } from '../mail/ledger.ts';
import type { HookSignatureRecords, IdempotencyRecords, MailLedgerRecords } from './state-port.ts';

/** How long the event outbox keeps an event for a client resuming with `Last-Event-ID`. */
export const EVENT_RETENTION_MS = 7 * 24 * 60 * 60_000;

/** Everything a backend holds that expires. */
export interface ExpiringRecords {
  runIdempotency: IdempotencyRecords;
  hookIdempotency: IdempotencyRecords;
  hookSignatures: HookSignatureRecords;
  mailLedger: MailLedgerRecords;
  /** The event outbox, where events outlive the process (PostgreSQL); the files keep events in memory only. */
  events?: { prune(before: number): Promise<number> };
}

export type ExpiringKind = keyof ExpiringRecords;

export interface PruneReport {
  /** Records dropped, per kind that was pruned. */
  removed: Partial<Record<ExpiringKind, number>>;
  /** Kinds whose prune failed this time (logged; tried again at the next pass). */
  failed: ExpiringKind[];
}

export interface PruneJobOptions {
  records: ExpiringRecords;
  /** Real time between passes. */
  intervalMs: number;
  /** Runs `work` only while this executor holds the duty's lease, taken for `ttlMs`; true when it ran (ExecutorLiveness.asDuty). */
  asDuty(work: () => Promise<void>, ttlMs: number): Promise<boolean>;
  clock: Clock;
  logger: Logger;
}

export class PruneJob {
  private timer: NodeJS.Timeout | undefined;
  private pass: Promise<PruneReport | undefined> | undefined;
  private stopped = false;

  constructor(private readonly options: PruneJobOptions) {}

  /** A pass now (in the background), then one every interval. */
  start(): void {
    void this.runOnce();
    this.timer = setInterval(() => void this.runOnce(), this.options.intervalMs);
    this.timer.unref();
  }

  /**
   * One pass, when this executor holds the duty: what it removed, or undefined when another
   * executor holds the duty (or the lease could not be read; logged). A pass still under way is
   * joined, not doubled.
   */
  runOnce(): Promise<PruneReport | undefined> {
    if (this.stopped) return Promise.resolve(undefined);
    this.pass ??= this.duty().finally(() => (this.pass = undefined));
    return this.pass;
  }

  /** No pass after this; resolves once the one under way has ended. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    await this.pass;
  }

  private async duty(): Promise<PruneReport | undefined> {
    const { asDuty, intervalMs, logger } = this.options;
    let report: PruneReport | undefined;
    try {
      await asDuty(async () => {
        report = await this.pruneAll();
      }, 2 * intervalMs);
    } catch (error) {
      logger.error({ err: error }, 'the prune duty could not run; it is tried again at the next interval');
    }
    return report;
  }

  private async pruneAll(): Promise<PruneReport> {
    const { records, clock, logger } = this.options;
    const now = clock.now();
    const kinds: [ExpiringKind, () => Promise<number>][] = [
      ['runIdempotency', () => records.runIdempotency.prune()],
      ['hookIdempotency', () => records.hookIdempotency.prune()],
      ['hookSignatures', () => records.hookSignatures.prune()],
      ['mailLedger', () => records.mailLedger.prune(now - MESSAGE_RETENTION_MS)],
    ];
    const { events } = records;
    if (events) kinds.push(['events', () => events.prune(now - EVENT_RETENTION_MS)]);
    const report: PruneReport = { removed: {}, failed: [] };
    for (const [kind, prune] of kinds) {
      try {
        report.removed[kind] = await prune();
      } catch (error) {
        report.failed.push(kind);
        logger.error({ err: error, kind }, 'pruning expired records failed; tried again at the next interval');
      }
    }
    const total = Object.values(report.removed).reduce((sum, count) => sum + count, 0);
    if (total > 0) logger.info({ removed: report.removed }, `pruned ${total} expired records`);
    else logger.debug({ removed: report.removed }, 'no expired records to prune');
    return report;
  }
}
