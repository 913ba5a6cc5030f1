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
import { PgRunCache, PgRunStore } from './runs.ts';
import { EXECUTOR_MIGRATIONS } from './schema.ts';
import { PgCredentialRecords, PgHookIdempotency, PgHookSignatures, PgLeases, PgMailLedger, PgRecordMap } from './state.ts';

export interface PostgresStoreOptions {
  url: string;
  clock: Clock;
  logger: Logger;
  /** Connections in the pool (default 10). */
  poolSize?: number;
  /** Shows in pg_stat_activity (default `deputy-executor`). */
  applicationName?: string;
}

export interface PostgresStore extends Store {
  pool: Pool;
  notifications: Notifications;
  /** The asynchronous ports, on the same pool; `state.close()` is a no-op (close the store). */
  state: StateStore;
}

export async function createPostgresStore(options: PostgresStoreOptions): Promise<PostgresStore> {
  const { clock, logger } = options;
  const applicationName = options.applicationName ?? 'deputy-executor';
  const pool = createPool({ url: options.url, applicationName, max: options.poolSize ?? 10, logger });
  let notifications: Notifications | undefined;
  try {
    await migrate(pool, EXECUTOR_MIGRATIONS, logger);
    notifications = await Notifications.open({ url: options.url, logger, applicationName: `${applicationName}-listen` });
    const catalog = await PgCatalog.open(pool, logger, notifications);
    const runStore = new PgRunStore(pool);
    const runs = await PgRunCache.open(runStore);
    const audit = new PgAudit(pool, clock);
    let closing: Promise<void> | undefined;
    const openNotifications = notifications;
    return {
      pool,
      notifications,
      catalog,
      runs,
      audit,
      state: {
        runs: runStore,
        planStates: new PgRecordMap(pool, 'planStates', PlanStateSchema),
        scriptReviews: new PgRecordMap(pool, 'scriptReviews', ScriptReviewStateSchema),
        hookIdempotency: new PgHookIdempotency(pool, clock),
        hookSignatures: new PgHookSignatures(pool, clock),
        mailLedger: new PgMailLedger(pool, clock),
        credentials: new PgCredentialRecords(pool),
        leases: new PgLeases(pool, clock),
        close: async () => {},
      },
      close: () => {
        // Everything accepted is written first; then the connections go. Closing twice is harmless.
        closing ??= Promise.all([catalog.close(), runs.close(), audit.close()])
          .then(() => openNotifications.close())
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
