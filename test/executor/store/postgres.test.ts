import pg from 'pg';
import { silentLogger } from '../../../lib/logger.ts';
import { createPostgresStore } from '../../../executor/store/pg/index.ts';
import { useTestDatabase } from '../../helpers/postgres.ts';
import { storeSuite } from './suite.ts';

/** Drops the executor's schema, so the next store starts on an empty, freshly migrated database. */
export async function resetExecutorSchema(url: string): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query('DROP SCHEMA IF EXISTS deputy CASCADE');
  } finally {
    await client.end();
  }
}

describe('postgres backend', () => {
  const databaseUrl = useTestDatabase();

  storeSuite('postgres', async (clock) => {
    await resetExecutorSchema(databaseUrl());
    return createPostgresStore({ url: databaseUrl(), clock, logger: silentLogger() });
  });
});
