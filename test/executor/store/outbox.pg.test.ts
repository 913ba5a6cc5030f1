import assert from 'node:assert/strict';
import pg from 'pg';
import { systemClock } from '../../../lib/clock.ts';
import { silentLogger } from '../../../lib/logger.ts';
import type { ExecutorEvent } from '../../../executor/events.ts';
import { openPostgresBackend, type PostgresBackend } from '../../../executor/store/pg/index.ts';
import { dropSchemas, useTestDatabase } from '../../helpers/postgres.ts';
import { planEventFixture as planEvent } from './fixtures.ts';

const tagOf = (event: ExecutorEvent) => (event.type === 'plan.missed' ? event.plan.id : `?${event.type}`);

async function until(condition: () => boolean | Promise<boolean>, what: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

describe('event outbox on PostgreSQL', () => {
  const databaseUrl = useTestDatabase();
  let executors: PostgresBackend[];

  beforeEach(async () => {
    await dropSchemas(databaseUrl(), 'deputy');
    executors = [];
    for (const name of ['a', 'b']) {
      executors.push(await openPostgresBackend({ url: databaseUrl(), clock: systemClock, logger: silentLogger(), poolSize: 4, applicationName: `outbox-test-${name}` }));
    }
  });

  afterEach(async () => {
    await Promise.all(executors.map((executor) => executor.close()));
  });

  it("delivers every executor's events to every subscriber once, in one gapless sequence", async () => {
    const [a, b] = executors as [PostgresBackend, PostgresBackend];
    const seen: ExecutorEvent[][] = [[], []];
    a.events.subscribe((event) => seen[0]!.push(event));
    b.events.subscribe((event) => seen[1]!.push(event));
    const published = await Promise.all(Array.from({ length: 200 }, (_, index) => (index % 2 ? b : a).events.publish(planEvent(`e${index}`))));
    assert.deepEqual(
      published.map((event) => event.seq).sort((x, y) => x - y),
      Array.from({ length: 200 }, (_, index) => index + 1),
    );
    await until(() => seen.every((events) => events.length >= 200), 'both subscribers to see 200 events');
    for (const events of seen) {
      assert.deepEqual(
        events.map((event) => event.seq),
        Array.from({ length: 200 }, (_, index) => index + 1),
      );
      assert.deepEqual(new Set(events.map(tagOf)).size, 200);
    }
    assert.deepEqual(seen[0], seen[1]);
  });

  it('gives a client resuming with Last-Event-ID what it missed, on any executor', async () => {
    const [a, b] = executors as [PostgresBackend, PostgresBackend];
    for (let index = 0; index < 7; index += 1) await a.events.publish(planEvent(`e${index}`));
    assert.deepEqual((await b.events.since(4)).map(tagOf), ['e4', 'e5', 'e6']);
    assert.deepEqual((await b.events.since(0, 2)).map((event) => event.seq), [1, 2]);
    assert.deepEqual(await b.events.since(7), []);
  });

  it('catches up after its notification connection was lost', async () => {
    const [a, b] = executors as [PostgresBackend, PostgresBackend];
    const seen: string[] = [];
    b.events.subscribe((event) => seen.push(tagOf(event)));
    const admin = new pg.Client({ connectionString: databaseUrl() });
    await admin.connect();
    try {
      const { rowCount } = await admin.query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'outbox-test-b-listen'");
      assert.equal(rowCount, 1);
      // Published while b cannot hear: b reads them when it is back.
      await a.events.publish(planEvent('while-away'));
      await until(() => b.notifications.reconnections >= 1, 'the listener to reconnect');
      await a.events.publish(planEvent('after'));
      await until(() => seen.length >= 2, 'both events');
      assert.deepEqual(seen, ['while-away', 'after']);
    } finally {
      await admin.end();
    }
  });

  it('numbers events in commit order, so a late commit is never skipped', async () => {
    const [a, b] = executors as [PostgresBackend, PostgresBackend];
    const seen: string[] = [];
    b.events.subscribe((event) => seen.push(`${event.seq}:${tagOf(event)}`));
    // A slow publisher: takes the next number and holds its transaction open.
    const slow = new pg.Client({ connectionString: databaseUrl(), application_name: 'outbox-test-slow' });
    await slow.connect();
    try {
      await slow.query('BEGIN');
      const { rows } = await slow.query<{ seq: string }>('UPDATE deputy.outbox_head SET seq = seq + 1 RETURNING seq');
      const slowSeq = Number(rows[0]?.seq);
      const fast = a.events.publish(planEvent('fast'));
      await until(async () => {
        const { rowCount } = await slow.query("SELECT 1 FROM pg_stat_activity WHERE application_name = 'outbox-test-a' AND wait_event_type = 'Lock'");
        return rowCount === 1;
      }, 'the fast publisher to wait for the slow one');
      await slow.query('INSERT INTO deputy.outbox (seq, event) VALUES ($1, $2)', [slowSeq, JSON.stringify(planEvent('slow'))]);
      await slow.query("SELECT pg_notify('deputy_events', $1)", [String(slowSeq)]);
      await slow.query('COMMIT');
      assert.equal((await fast).seq, slowSeq + 1);
      await until(() => seen.length >= 2, 'both events');
      assert.deepEqual(seen, [`${slowSeq}:slow`, `${slowSeq + 1}:fast`]);
    } finally {
      await slow.end();
    }
  });
});
