import assert from 'node:assert/strict';
import { ManualClock } from '../../../lib/clock.ts';
import { silentLogger } from '../../../lib/logger.ts';
import { migrate, MigrationError, type MigrationSet } from '../../../lib/postgres/migrate.ts';
import { createPool } from '../../../lib/postgres/pool.ts';
import { createPostgresStore, type PostgresStore } from '../../../executor/store/pg/index.ts';
import { dropSchemas, useTestDatabase, withClient } from '../../helpers/postgres.ts';
import { catalogFixture } from './fixtures.ts';
import { stateSuite } from './state-suite.ts';
import { storeSuite } from './suite.ts';

const resetExecutorSchema = (url: string) => dropSchemas(url, 'deputy');

describe('postgres backend', () => {
  const databaseUrl = useTestDatabase();

  storeSuite('postgres', async (clock) => {
    await resetExecutorSchema(databaseUrl());
    return createPostgresStore({ url: databaseUrl(), clock, logger: silentLogger() });
  });

  // Each handle is a store of its own (its own pool), as another executor on the same database would hold.
  stateSuite('postgres', async () => {
    await resetExecutorSchema(databaseUrl());
    return {
      shared: true,
      durableLeases: true,
      open: async (clock) => {
        const store = await createPostgresStore({ url: databaseUrl(), clock, logger: silentLogger(), poolSize: 4 });
        return { ...store.state, close: () => store.close() };
      },
    };
  });

  describe('two executors on one database', () => {
    let clock: ManualClock;
    let stores: PostgresStore[];

    beforeEach(async () => {
      await resetExecutorSchema(databaseUrl());
      clock = new ManualClock(Date.UTC(2026, 2, 1, 9));
      // Opened together: both migrate at once, and the advisory lock lets exactly one of them do it.
      stores = await Promise.all([0, 1].map(() => createPostgresStore({ url: databaseUrl(), clock, logger: silentLogger(), poolSize: 4 })));
    });

    afterEach(async () => {
      await Promise.all(stores.map((store) => store.close()));
    });

    it('migrated the schema once', async () => {
      const { rows } = await withClient(databaseUrl(), (client) => client.query<{ version: number }>('SELECT version FROM deputy.schema_migrations ORDER BY version'));
      assert.deepEqual(rows, [{ version: 1 }, { version: 2 }, { version: 3 }, { version: 4 }]);
      const indexes = await withClient(databaseUrl(), (client) => client.query<{ indexname: string }>("SELECT indexname FROM pg_indexes WHERE schemaname = 'deputy' AND tablename = 'outbox'"));
      assert.ok(indexes.rows.some((row) => row.indexname === 'outbox_by_age'), 'the prune job finds old outbox events by an index');
      const taken = await withClient(databaseUrl(), (client) => client.query<{ indexname: string }>("SELECT indexname FROM pg_indexes WHERE schemaname = 'deputy' AND tablename = 'queue_taken'"));
      assert.ok(taken.rows.some((row) => row.indexname === 'queue_taken_by_executor'), 'a sweep finds what a dead executor took by an index');
    });

    it('keeps one audit chain when both append at once', async () => {
      const [first, second] = stores as [PostgresStore, PostgresStore];
      const input = (n: number) => ({ type: 'run.create', outcome: 'allowed' as const, correlationId: `c-${n}`, detail: { n } });
      const entries = await Promise.all(Array.from({ length: 120 }, (_, n) => (n % 2 ? second : first).audit.append(input(n))));
      assert.deepEqual(
        entries.map((entry) => entry.seq).sort((a, b) => a - b),
        Array.from({ length: 120 }, (_, index) => index + 1),
      );
      assert.deepEqual(await first.audit.verify(), { ok: true, count: 120 });
      const read = await second.audit.read();
      for (let index = 1; index < read.length; index += 1) assert.equal(read[index]!.prevHash, read[index - 1]!.hash);
    });

    it('shows one executor the catalog the other imported', async () => {
      const [first, second] = stores as [PostgresStore, PostgresStore];
      await first.catalog.replace(catalogFixture());
      await waitFor(() => second.catalog.getAction('disk-usage') !== undefined);
      const changed = catalogFixture();
      changed.scripts[0]!.status = 'draft';
      await second.catalog.replace(changed);
      await waitFor(() => first.catalog.getScript('disk-usage')?.status === 'draft');
      assert.deepEqual(first.catalog.snapshot(), changed);
    });

    it('writes only the records that changed when the catalog is replaced', async () => {
      const [first] = stores as [PostgresStore];
      await first.catalog.replace(catalogFixture());
      const stamps = () =>
        withClient(databaseUrl(), async (client) => {
          const { rows } = await client.query<{ kind: string; id: string; xmin: string }>('SELECT kind, id, xmin::text FROM deputy.catalog_records');
          return new Map(rows.map((row) => [`${row.kind}/${row.id}`, row.xmin]));
        });
      const before = await stamps();
      const changed = catalogFixture();
      changed.scripts[0]!.status = 'testing';
      changed.tenants.pop();
      await first.catalog.replace(changed);
      const after = await stamps();
      const rewritten = [...after].filter(([key, xmin]) => before.get(key) !== xmin).map(([key]) => key);
      assert.deepEqual(rewritten, ['scripts/disk-usage']);
      assert.equal(after.has('tenants/hamburg'), false);
      assert.equal(after.size, before.size - 1);
    });
  });

  describe('migrations', () => {
    const set = (sql: string[]): MigrationSet => ({ schema: 'deputy_migration_test', migrations: sql.map((text, index) => ({ version: index + 1, name: `step ${index + 1}`, sql: text })) });

    it('apply once, in order, under concurrency; refuse an edited migration and a newer database', async () => {
      const pool = createPool({ url: databaseUrl(), applicationName: 'migration-test', max: 8, logger: silentLogger() });
      try {
        await pool.query('DROP SCHEMA IF EXISTS deputy_migration_test CASCADE');
        const first = set(['CREATE TABLE deputy_migration_test.t (n int)', 'INSERT INTO deputy_migration_test.t VALUES (1)']);
        const applied = await Promise.all(Array.from({ length: 4 }, () => migrate(pool, first, silentLogger())));
        assert.deepEqual(applied.flat(), [1, 2]);
        assert.deepEqual((await pool.query('SELECT n FROM deputy_migration_test.t')).rows, [{ n: 1 }]);
        const grown = set([...first.migrations.map((migration) => migration.sql), 'INSERT INTO deputy_migration_test.t VALUES (2)']);
        assert.deepEqual(await migrate(pool, grown, silentLogger()), [3]);
        assert.deepEqual(await migrate(pool, grown, silentLogger()), []);
        const edited = set(['CREATE TABLE deputy_migration_test.t (n bigint)', ...grown.migrations.slice(1).map((migration) => migration.sql)]);
        await assert.rejects(migrate(pool, edited, silentLogger()), (error) => error instanceof MigrationError && /changed after it was applied/.test(error.message));
        await assert.rejects(migrate(pool, first, silentLogger()), (error) => error instanceof MigrationError && /newer than this deputy knows/.test(error.message));
        // A failed migration leaves nothing behind: all of a start-up's migrations are one transaction.
        const broken = set([...grown.migrations.map((migration) => migration.sql), 'INSERT INTO deputy_migration_test.t VALUES (3)', 'SELECT * FROM no_such_table']);
        await assert.rejects(migrate(pool, broken, silentLogger()), /no_such_table/);
        assert.deepEqual((await pool.query('SELECT n FROM deputy_migration_test.t ORDER BY n')).rows, [{ n: 1 }, { n: 2 }]);
      } finally {
        await pool.end();
      }
    });
  });
});

async function waitFor(condition: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
