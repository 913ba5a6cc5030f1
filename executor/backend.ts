/**
 * Where the executor keeps its state, chosen once at start-up: the files in the data folder (the
 * embedded default of `npm start`), or PostgreSQL when `DEPUTY_DATABASE_URL` is set, shared by
 * every executor of a cluster (docs/store.md). Either way the rest of the executor sees the same
 * ports: the store (catalog, audit, runs with compare-and-set), the event stream, leases, the
 * cancel channel, the run queue and the idempotency records.
 */
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { Clock } from '../lib/clock.ts';
import type { AuditCheckpointConfig } from './store/audit-checkpoint.ts';
import type { KeyRing } from './credentials/keyring.ts';
import { EchoingEventStream, InProcessEventStream, type EventStream } from './event-stream.ts';
import { EventBus } from './events.ts';
import { InProcessRunQueue } from './queue/in-process.ts';
import { PgBossRunQueue } from './queue/pg-boss.ts';
import type { QueueCaps, RunQueue } from './queue/port.ts';
import { InProcessCancels, PgCancels, type CancelChannel } from './runs/cancels.ts';
import { IdempotencyOnce } from './runs/idempotency.ts';
import { openFileExecutorStore } from './store/file.ts';
import { withAdvisoryLock } from '../lib/postgres/pool.ts';
import { openPostgresBackend } from './store/pg/index.ts';
import type { ExpiringRecords } from './store/prune-job.ts';
import { FileHookSignatures, FileIdempotency, FileMailLedger, FileRecordMap, MemoryLeases, RUN_IDEMPOTENCY_FILE, SCRIPT_REVIEWS_FILE } from './store/state-file.ts';
import type { CredentialRecords, ExecutorStore, HookSignatureRecords, Leases, MailLedgerRecords, RecordMap } from './store/state-port.ts';
import { IDEMPOTENCY_FILE, SIGNATURES_FILE } from './connectors/index.ts';
import { SignatureLedger } from './connectors/replay.ts';
import { ScriptReviewStateSchema, type ScriptReviewState } from './contract/index.ts';
import { MAIL_LEDGER_FILE } from './mail/index.ts';
import { MessageLedger } from './mail/ledger.ts';
import { PLAN_STATE_FILE } from './plans/index.ts';
import { PlanStateSchema, type PlanState } from './plans/state.ts';

/**
 * The small records the executor's services share across executors: plan state, script reviews,
 * hook Idempotency-Keys and accepted signatures, the mail ledger. On files they are the data
 * folder's files as before; on PostgreSQL, rows every executor reads and writes.
 */
export interface SharedRecords {
  planStates: RecordMap<PlanState>;
  scriptReviews: RecordMap<ScriptReviewState>;
  hookIdempotency: IdempotencyOnce;
  hookSignatures: HookSignatureRecords;
  mailLedger: MailLedgerRecords;
}

export interface ExecutorBackend {
  kind: 'files' | 'postgres';
  store: ExecutorStore;
  /** Every executor's events (what `GET /v1/events` streams). */
  events: EventStream;
  /** This process's own events, for what must act once per event (mail replies, connector callbacks). */
  localEvents: EventBus;
  leases: Leases;
  cancels: CancelChannel;
  runIdempotency: IdempotencyOnce;
  records: SharedRecords;
  /** What expires, for the prune duty (executor/store/prune-job.ts). */
  expiring: ExpiringRecords;
  /** Where sealed credentials live; undefined: the vault's file in the data folder. */
  credentials: CredentialRecords | undefined;
  openQueue(options: { caps: QueueCaps; concurrency: number; keys: KeyRing }): Promise<RunQueue>;
  /**
   * Runs start-up work that must happen once however many executors start together (the catalog
   * import): on PostgreSQL under an advisory lock, after reading the catalog again, so the second
   * executor finds the first one's import and has nothing left to do.
   */
  startingAlone<T>(work: () => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

export interface BackendOptions {
  dataDir: string;
  databaseUrl: string | undefined;
  executorId: string;
  auditCheckpoint: AuditCheckpointConfig;
  clock: Clock;
  logger: Logger;
}

export async function openExecutorBackend(options: BackendOptions): Promise<ExecutorBackend> {
  return options.databaseUrl === undefined ? openFiles(options) : openPostgres({ ...options, databaseUrl: options.databaseUrl });
}

async function openFiles(options: BackendOptions): Promise<ExecutorBackend> {
  const { clock, logger } = options;
  // Runs on IndexedFileRuns: start-up reads what came after the index's last checkpoint, never the whole history.
  const files = await openFileExecutorStore({ dataDir: options.dataDir, clock, logger, auditCheckpoint: options.auditCheckpoint });
  const path = (file: string) => join(options.dataDir, file);
  let idempotency: FileIdempotency;
  let hookIdempotency: FileIdempotency;
  let signatures: SignatureLedger;
  let ledger: MessageLedger;
  try {
    idempotency = await FileIdempotency.open(path(RUN_IDEMPOTENCY_FILE), clock);
    hookIdempotency = await FileIdempotency.open(path(IDEMPOTENCY_FILE), clock);
    signatures = await SignatureLedger.open(path(SIGNATURES_FILE), clock);
    ledger = await MessageLedger.open(path(MAIL_LEDGER_FILE), clock);
  } catch (error) {
    await files.close();
    throw error;
  }
  const bus = new EventBus(clock);
  const hookSignatures = new FileHookSignatures(signatures);
  const mailLedger = new FileMailLedger(ledger);
  return {
    kind: 'files',
    store: { catalog: files.catalog, audit: files.audit, runs: files.runs, close: () => files.close() },
    events: new InProcessEventStream(bus),
    localEvents: bus,
    leases: new MemoryLeases(clock),
    cancels: new InProcessCancels(),
    runIdempotency: new IdempotencyOnce(idempotency),
    records: {
      planStates: new FileRecordMap(path(PLAN_STATE_FILE), PlanStateSchema),
      scriptReviews: new FileRecordMap(path(SCRIPT_REVIEWS_FILE), ScriptReviewStateSchema),
      hookIdempotency: new IdempotencyOnce(hookIdempotency),
      hookSignatures,
      mailLedger,
    },
    expiring: { runIdempotency: idempotency, hookIdempotency, hookSignatures, mailLedger },
    credentials: undefined,
    openQueue: async ({ caps, concurrency }) => new InProcessRunQueue({ ...caps, concurrency }, logger),
    // The data folder's lock (executor/data-lock.ts) already keeps every other executor out.
    startingAlone: (work) => work(),
    close: async () => {
      await Promise.all([idempotency.settled(), hookIdempotency.settled(), signatures.settled(), ledger.settled()]);
      await files.close();
    },
  };
}

async function openPostgres(options: BackendOptions & { databaseUrl: string }): Promise<ExecutorBackend> {
  const { clock, logger, executorId, databaseUrl } = options;
  const applicationName = `deputy-executor-${executorId}`.slice(0, 63);
  const backend = await openPostgresBackend({ url: databaseUrl, clock, logger, applicationName });
  const bus = new EventBus(clock);
  return {
    kind: 'postgres',
    store: { catalog: backend.catalog, audit: backend.audit, runs: backend.state.runs, close: () => backend.close() },
    events: new EchoingEventStream(backend.events, bus),
    localEvents: bus,
    leases: backend.state.leases,
    cancels: new PgCancels(backend.pool, backend.notifications, executorId, logger),
    runIdempotency: new IdempotencyOnce(backend.state.runIdempotency),
    records: {
      planStates: backend.state.planStates,
      scriptReviews: backend.state.scriptReviews,
      hookIdempotency: new IdempotencyOnce(backend.state.hookIdempotency),
      hookSignatures: backend.state.hookSignatures,
      mailLedger: backend.state.mailLedger,
    },
    expiring: {
      runIdempotency: backend.state.runIdempotency,
      hookIdempotency: backend.state.hookIdempotency,
      hookSignatures: backend.state.hookSignatures,
      mailLedger: backend.state.mailLedger,
      events: backend.events,
    },
    credentials: backend.state.credentials,
    openQueue: ({ caps, concurrency, keys }) =>
      PgBossRunQueue.start({ url: databaseUrl, pool: backend.pool, notifications: backend.notifications, keys, caps, concurrency, executorId, logger, applicationName: `${applicationName}-queue`.slice(0, 63) }),
    startingAlone: (work) =>
      withAdvisoryLock(backend.pool, 'deputy.executor-start-up', async () => {
        await backend.catalog.reload();
        return work();
      }),
    close: () => backend.close(),
  };
}
