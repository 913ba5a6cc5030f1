/**
 * Versioned schema migrations. Each component (the executor's store, the bot's conversation
 * store) owns one PostgreSQL schema and a list of migrations numbered 1, 2, 3 …; start-up
 * applies the ones the database lacks, in one transaction, under an advisory lock, so several
 * processes starting at once migrate exactly once and none sees a half-made schema.
 *
 * Each applied migration is recorded with the SHA-256 of its SQL: a migration edited after it
 * was applied somewhere, or a database migrated by a newer deputy, stops start-up with a clear
 * error instead of running against a schema this code does not know.
 */
import { createHash } from 'node:crypto';
import type { Logger } from '../logger.ts';
import { withAdvisoryLock, type Pool } from './pool.ts';

export interface Migration {
  version: number;
  /** A few words on what it does, kept in the migrations table for operators. */
  name: string;
  sql: string;
}

export interface MigrationSet {
  /** The PostgreSQL schema the migrations create their objects in (and keep their record in). */
  schema: string;
  migrations: readonly Migration[];
}

export class MigrationError extends Error {}

const IDENTIFIER = /^[a-z_][a-z0-9_]{0,62}$/;

function checksum(sql: string): string {
  return createHash('sha256').update(sql, 'utf8').digest('hex');
}

function assertWellFormed(set: MigrationSet): void {
  if (!IDENTIFIER.test(set.schema)) throw new MigrationError(`invalid schema name ${JSON.stringify(set.schema)}`);
  set.migrations.forEach((migration, index) => {
    if (migration.version !== index + 1) throw new MigrationError(`${set.schema}: migration ${index + 1} is numbered ${migration.version}; number them 1, 2, 3 … in order`);
  });
}

/** Applies what is missing; returns the versions applied now (empty when the schema was current). */
export async function migrate(pool: Pool, set: MigrationSet, logger: Logger): Promise<number[]> {
  assertWellFormed(set);
  const { schema } = set;
  return withAdvisoryLock(pool, `deputy.migrate.${schema}`, async (client) => {
    await client.query(`CREATE SCHEMA IF NOT EXISTS ${schema}`);
    await client.query(`CREATE TABLE IF NOT EXISTS ${schema}.schema_migrations (
      version integer PRIMARY KEY,
      name text NOT NULL,
      checksum text NOT NULL,
      applied_at timestamptz NOT NULL DEFAULT now()
    )`);
    const { rows } = await client.query<{ version: number; checksum: string }>(`SELECT version, checksum FROM ${schema}.schema_migrations ORDER BY version`);
    const known = set.migrations.length;
    for (const [index, row] of rows.entries()) {
      const migration = set.migrations[row.version - 1];
      if (row.version !== index + 1) throw new MigrationError(`The migrations table of schema "${schema}" skips version ${index + 1}; it was edited by hand.`);
      if (!migration) {
        throw new MigrationError(
          `The database schema "${schema}" is at version ${rows.at(-1)?.version}, newer than this deputy knows (${known}): upgrade deputy, or point it at another database.`,
        );
      }
      if (migration.version !== row.version || checksum(migration.sql) !== row.checksum) {
        throw new MigrationError(`Migration ${row.version} of schema "${schema}" was changed after it was applied; add a new migration instead of editing an applied one.`);
      }
    }
    const applied: number[] = [];
    for (const migration of set.migrations.slice(rows.length)) {
      await client.query(migration.sql);
      await client.query(`INSERT INTO ${schema}.schema_migrations (version, name, checksum) VALUES ($1, $2, $3)`, [migration.version, migration.name, checksum(migration.sql)]);
      applied.push(migration.version);
    }
    if (applied.length > 0) logger.info({ schema, applied, version: known }, 'database schema migrated');
    return applied;
  }, { inTransaction: true });
}
