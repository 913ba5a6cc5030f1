/**
 * The prune duty as an executor wires it (executor/app.ts), for the prune job's tests: a real
 * ExecutorLiveness on the backend's leases, whose `asDuty` decides which executor prunes, and a
 * logger whose lines the test reads.
 */
import type { Clock } from '../../../lib/clock.ts';
import { createLogger } from '../../../lib/logger.ts';
import type { EventStream } from '../../../executor/event-stream.ts';
import { ExecutorLiveness } from '../../../executor/runs/liveness.ts';
import { RunRecorder } from '../../../executor/runs/records.ts';
import type { AuditLog } from '../../../executor/store/port.ts';
import { PruneJob, type ExpiringRecords } from '../../../executor/store/prune-job.ts';
import type { AsyncRunStore, Leases } from '../../../executor/store/state-port.ts';

export interface LogLine {
  level: number;
  msg: string;
  kind?: string;
  removed?: Record<string, number>;
}

export const INFO = 30;
export const ERROR = 50;

export interface PruneDuty {
  job: PruneJob;
  liveness: ExecutorLiveness;
  logs: LogLine[];
}

export function pruneDuty(options: {
  executorId: string;
  records: ExpiringRecords;
  leases: Leases;
  runs: AsyncRunStore;
  audit: AuditLog;
  events: EventStream;
  clock: Clock;
  intervalMs: number;
}): PruneDuty {
  const logs: LogLine[] = [];
  const logger = createLogger({ level: 'debug', name: options.executorId, destination: { write: (line: string) => void logs.push(JSON.parse(line) as LogLine) } });
  const { executorId, leases, runs, audit, events, clock } = options;
  const liveness = new ExecutorLiveness({
    executorId,
    leases,
    runs,
    recorder: new RunRecorder({ runs, audit, events, clock }),
    // The sweep for dead executors is not what these tests are about.
    adopt: async () => {},
    giveBackTaken: async () => 0,
    ttlMs: 15_000,
    clock,
    logger,
  });
  const job = new PruneJob({ records: options.records, intervalMs: options.intervalMs, asDuty: (work, ttlMs) => liveness.asDuty('prune', work, ttlMs), clock, logger });
  return { job, liveness, logs };
}

/** The info lines saying what a pass removed. */
export const prunedLines = (logs: LogLine[]) => logs.filter((line) => line.level === INFO && line.removed !== undefined);

