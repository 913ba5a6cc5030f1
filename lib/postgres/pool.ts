/**
 * Connections to PostgreSQL, shared by the executor's store and the bot's conversation store:
 * a pool that logs (rather than crashes on) a dropped idle connection, and transactions.
 */
import pg from 'pg';
import type { Logger } from '../logger.ts';

export type Pool = pg.Pool;
export type Client = pg.PoolClient;
/** Anything that runs a query: the pool itself, or a client inside a transaction. */
export type Queryable = Pick<pg.Pool, 'query'>;

export interface PoolOptions {
  url: string;
  /** Shows in pg_stat_activity, so an operator can tell executors from bots. */
  applicationName: string;
  max?: number;
  logger: Logger;
}

export function createPool(options: PoolOptions): Pool {
  const pool = new pg.Pool({ connectionString: options.url, application_name: options.applicationName, max: options.max ?? 10 });
  // An idle connection the server closes (restart, failover) emits here; unhandled, it would end the process.
  pool.on('error', (error) => options.logger.warn({ err: error }, 'a pooled PostgreSQL connection failed; the pool opens another'));
  return pool;
}

/**
 * Runs `work` in one transaction: committed when it resolves, rolled back when it throws.
 * `snapshot`: every statement of `work` sees the database as of one moment (REPEATABLE READ, read only).
 */
export async function inTransaction<T>(pool: Pool, work: (client: Client) => Promise<T>, options: { snapshot?: boolean } = {}): Promise<T> {
  const client = await pool.connect();
  const held = { broken: undefined as Error | undefined };
  try {
    return await transaction(client, held, work, options);
  } finally {
    client.release(held.broken);
  }
}

/** One transaction on `client`; a rollback that fails (the connection is gone) is noted in `held.broken` for the release. */
async function transaction<T>(client: Client, held: { broken: Error | undefined }, work: (client: Client) => Promise<T>, options: { snapshot?: boolean } = {}): Promise<T> {
  try {
    await client.query(options.snapshot ? 'BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY' : 'BEGIN');
    const result = await work(client);
    await client.query('COMMIT');
    return result;
  } catch (error) {
    await client.query('ROLLBACK').catch((rollbackError: unknown) => {
      held.broken = rollbackError instanceof Error ? rollbackError : new Error(String(rollbackError));
    });
    throw error;
  }
}

/** A 64-bit advisory lock key from a name, stable across processes and versions. */
export function lockKey(name: string): string {
  let hash = 0xcbf29ce484222325n;
  for (const byte of Buffer.from(name, 'utf8')) {
    hash ^= BigInt(byte);
    hash = (hash * 0x100000001b3n) & 0xffffffffffffffffn;
  }
  // PostgreSQL's bigint is signed.
  return BigInt.asIntN(64, hash).toString();
}

/**
 * Runs `work` while this process holds the session advisory lock `name`, waiting for whoever
 * holds it now; with `inTransaction`, `work` is one transaction begun once the lock is held. Such
 * a transaction sees everything the previous holder committed, the system catalogs included (one
 * that waited for a transaction-level advisory lock may still hold a catalog snapshot from before
 * it waited: a `CREATE SCHEMA IF NOT EXISTS` then fails on the schema the holder just created).
 * Should this process die meanwhile, its connection closes and the lock goes with it.
 */
export async function withAdvisoryLock<T>(pool: Pool, name: string, work: (client: Client) => Promise<T>, options: { inTransaction?: boolean } = {}): Promise<T> {
  const client = await pool.connect();
  const held = { broken: undefined as Error | undefined };
  try {
    await client.query('SELECT pg_advisory_lock($1::bigint)', [lockKey(name)]);
    try {
      return await (options.inTransaction ? transaction(client, held, work) : work(client));
    } finally {
      await client.query('SELECT pg_advisory_unlock($1::bigint)', [lockKey(name)]).catch((error: unknown) => {
        held.broken ??= error instanceof Error ? error : new Error(String(error));
      });
    }
  } finally {
    client.release(held.broken);
  }
}
