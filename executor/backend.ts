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
import { createFileStore } from './store/file.ts';
import { openPostgresBackend } from './store/pg/index.ts';
import { FileRunsAsync } from './store/runs-async.ts';
import { FileIdempotency, MemoryLeases, RUN_IDEMPOTENCY_FILE } from './store/state-file.ts';
import type { CredentialRecords, ExecutorStore, Leases } from './store/state-port.ts';

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
  /** Where sealed credentials live; undefined: the vault's file in the data folder. */
  credentials: CredentialRecords | undefined;
  openQueue(options: { caps: QueueCaps; concurrency: number; keys: KeyRing }): Promise<RunQueue>;
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
  const files = await createFileStore({ dataDir: options.dataDir, clock, logger, auditCheckpoint: options.auditCheckpoint });
  let idempotency: FileIdempotency;
  try {
    idempotency = await FileIdempotency.open(join(options.dataDir, RUN_IDEMPOTENCY_FILE), clock);
  } catch (error) {
    await files.close();
    throw error;
  }
  const bus = new EventBus(clock);
  return {
    kind: 'files',
    store: { catalog: files.catalog, audit: files.audit, runs: new FileRunsAsync(files.runs), close: () => files.close() },
    events: new InProcessEventStream(bus),
    localEvents: bus,
    leases: new MemoryLeases(clock),
    cancels: new InProcessCancels(),
    runIdempotency: new IdempotencyOnce(idempotency),
    credentials: undefined,
    openQueue: async ({ caps, concurrency }) => new InProcessRunQueue({ ...caps, concurrency }, logger),
    close: async () => {
      await idempotency.settled();
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
    credentials: backend.state.credentials,
    openQueue: ({ caps, concurrency, keys }) =>
      PgBossRunQueue.start({ url: databaseUrl, pool: backend.pool, notifications: backend.notifications, keys, caps, concurrency, logger, applicationName: `${applicationName}-queue`.slice(0, 63) }),
    close: () => backend.close(),
  };
}
