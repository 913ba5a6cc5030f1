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
  // A failed rollback means the connection is gone: released with the error, the pool drops it.
  let broken: Error | undefined;
  try {
    await client.query(options.snapshot ? 'BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY' : 'BEGIN');
    const result = await work(client);
    await client.query('COMMIT');
    return result;
  } catch (error) {
    await client.query('ROLLBACK').catch((rollbackError: unknown) => {
      broken = rollbackError instanceof Error ? rollbackError : new Error(String(rollbackError));
    });
    throw error;
  } finally {
    client.release(broken);
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
 * holds it now. Should this process die meanwhile, its connection closes and the lock goes with it.
 */
export async function withAdvisoryLock<T>(pool: Pool, name: string, work: () => Promise<T>): Promise<T> {
  const client = await pool.connect();
  let broken: Error | undefined;
  try {
    await client.query('SELECT pg_advisory_lock($1::bigint)', [lockKey(name)]);
    try {
      return await work();
    } finally {
      await client.query('SELECT pg_advisory_unlock($1::bigint)', [lockKey(name)]).catch((error: unknown) => {
        broken = error instanceof Error ? error : new Error(String(error));
      });
    }
  } finally {
    client.release(broken);
  }
}
