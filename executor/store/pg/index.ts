/**
 * The PostgreSQL backend: `createPostgresStore({ url, clock, logger })` migrates the `deputy`
 * schema (under an advisory lock, so executors starting together migrate once) and returns the
 * synchronous Store of port.ts plus every asynchronous port of state-port.ts, all on one pool.
 * See docs/store.md.
 */
import type { Clock } from '../../../lib/clock.ts';
import type { Logger } from '../../../lib/logger.ts';
import { migrate } from '../../../lib/postgres/migrate.ts';
import { Notifications } from '../../../lib/postgres/notifications.ts';
import { createPool, type Pool } from '../../../lib/postgres/pool.ts';
import { ScriptReviewStateSchema } from '../../contract/index.ts';
import { PlanStateSchema } from '../../plans/state.ts';
import type { Store } from '../port.ts';
import type { StateStore } from '../state-port.ts';
import { PgAudit } from './audit.ts';
import { PgCatalog } from './catalog.ts';
import { PgOutbox } from './outbox.ts';
import { PgRunCache, PgRunStore } from './runs.ts';
import { EXECUTOR_MIGRATIONS } from './schema.ts';
import { PgCredentialRecords, PgHookSignatures, PgIdempotency, PgLeases, PgMailLedger, PgRecordMap } from './state.ts';

export interface PostgresStoreOptions {
  url: string;
  clock: Clock;
  logger: Logger;
  /** Connections in the pool (default 10). */
  poolSize?: number;
  /** Shows in pg_stat_activity (default `deputy-executor`). */
  applicationName?: string;
}

/** Everything but the synchronous run cache: what phase two's executors open. */
export interface PostgresBackend {
  pool: Pool;
  notifications: Notifications;
  catalog: PgCatalog;
  audit: PgAudit;
  state: StateStore;
  /** The event outbox (not yet what the executor's SSE route reads). */
  events: PgOutbox;
  close(): Promise<void>;
}

/** `runs` is the synchronous run port of port.ts for today's callers: every run read at open (see PgRunCache). */
export type PostgresStore = PostgresBackend & Store & { runs: PgRunCache };

/** Opens the pool, migrates, and builds every port but the run cache; start-up reads no runs. */
export async function openPostgresBackend(options: PostgresStoreOptions): Promise<PostgresBackend> {
  const { clock, logger } = options;
  const applicationName = options.applicationName ?? 'deputy-executor';
  const pool = createPool({ url: options.url, applicationName, max: options.poolSize ?? 10, logger });
  let notifications: Notifications | undefined;
  try {
    await migrate(pool, EXECUTOR_MIGRATIONS, logger);
    notifications = await Notifications.open({ url: options.url, logger, applicationName: `${applicationName}-listen` });
    const catalog = await PgCatalog.open(pool, logger, notifications);
    const events = await PgOutbox.open(pool, notifications, logger);
    const audit = new PgAudit(pool, clock);
    const opened = notifications;
    let closing: Promise<void> | undefined;
    return {
      pool,
      notifications,
      catalog,
      audit,
      events,
      state: {
        runs: new PgRunStore(pool),
        planStates: new PgRecordMap(pool, 'planStates', PlanStateSchema),
        scriptReviews: new PgRecordMap(pool, 'scriptReviews', ScriptReviewStateSchema),
        hookIdempotency: new PgIdempotency(pool, clock, 'hook'),
        runIdempotency: new PgIdempotency(pool, clock, 'run'),
        hookSignatures: new PgHookSignatures(pool, clock),
        mailLedger: new PgMailLedger(pool, clock),
        credentials: new PgCredentialRecords(pool),
        leases: new PgLeases(pool, clock),
        // The ports share the backend's pool: closing the backend closes them.
        close: async () => {},
      },
      close: () => {
        // Everything accepted is written first; then the connections go. Closing twice is harmless.
        closing ??= Promise.all([catalog.close(), audit.close(), events.close()])
          .then(() => opened.close())
          .then(() => pool.end());
        return closing;
      },
    };
  } catch (error) {
    await notifications?.close();
    await pool.end();
    throw error;
  }
}

/** The Store of port.ts on PostgreSQL, with the asynchronous ports beside it. */
export async function createPostgresStore(options: PostgresStoreOptions): Promise<PostgresStore> {
  const backend = await openPostgresBackend(options);
  let runs: PgRunCache;
  try {
    runs = await PgRunCache.open(new PgRunStore(backend.pool));
  } catch (error) {
    await backend.close();
    throw error;
  }
  let closing: Promise<void> | undefined;
  return {
    ...backend,
    runs,
    close: () => {
      closing ??= runs.close().then(() => backend.close());
      return closing;
    },
  };
}
