import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { systemClock } from '../../../lib/clock.ts';
import { silentLogger } from '../../../lib/logger.ts';
import { KeyRing } from '../../../executor/credentials/keyring.ts';
import { PgBossRunQueue, QUEUE_SCHEMA, type PgBossRunQueueOptions } from '../../../executor/queue/pg-boss.ts';
import type { QueuedRun } from '../../../executor/queue/port.ts';
import { openPostgresBackend, type PostgresBackend } from '../../../executor/store/pg/index.ts';
import { dropSchemas, useTestDatabase, withClient } from '../../helpers/postgres.ts';
import { gate, queueSuite, until } from './suite.ts';

describe('run queue on pg-boss', () => {
  const databaseUrl = useTestDatabase();
  const keys = new KeyRing([randomBytes(32)]);
  const backends: PostgresBackend[] = [];

  const reset = () => dropSchemas(databaseUrl(), 'deputy', QUEUE_SCHEMA);

  /** An executor's store and queue on the shared database. */
  async function executor(options: Partial<PgBossRunQueueOptions> & Pick<PgBossRunQueueOptions, 'caps' | 'concurrency'>): Promise<PgBossRunQueue> {
    const backend = await openPostgresBackend({ url: databaseUrl(), clock: systemClock, logger: silentLogger(), poolSize: 4 });
    backends.push(backend);
    return PgBossRunQueue.start({ url: databaseUrl(), pool: backend.pool, notifications: backend.notifications, keys, logger: silentLogger(), executorId: `exec-${backends.length}`, ...options });
  }

  afterEach(async () => {
    await Promise.all(backends.splice(0).map((backend) => backend.close()));
  });

  describe('one executor', () => {
    beforeEach(reset);
    queueSuite('pg-boss', ({ concurrency, ...caps }) => executor({ concurrency, caps }));
  });

  describe('two executors', () => {
    const caps = { maxQueued: 1000, maxQueuedPerPrincipal: 1000 };
    const queues: PgBossRunQueue[] = [];
    const held: Array<{ open(): void }> = [];

    beforeEach(async () => {
      await reset();
      // Polling only every minute: a run starts within the test's time only if the notification wakes a worker.
      queues.push(await executor({ caps, concurrency: 2, pollMs: 60_000 }));
      queues.push(await executor({ caps, concurrency: 2, pollMs: 60_000 }));
    });

    afterEach(async () => {
      for (const release of held.splice(0)) release.open();
      await Promise.all(queues.splice(0).map((queue) => queue.close()));
    });

    it('share one queue: every run executes once, on whichever executor has room', async () => {
      const [a, b] = queues as [PgBossRunQueue, PgBossRunQueue];
      const executedBy = new Map<string, string[]>();
      let running = 0;
      const allBusy = gate();
      held.push(allBusy);
      const worker = (name: string) => async (run: QueuedRun) => {
        executedBy.set(run.runId, [...(executedBy.get(run.runId) ?? []), name]);
        running += 1;
        // The first four wait until both executors run two each: proof both take work at once.
        if (running === 4) allBusy.open();
        await allBusy.opened;
        running -= 1;
      };
      await a.work(worker('a'));
      await b.work(worker('b'));
      await Promise.all(Array.from({ length: 40 }, (_, index) => (index % 2 ? b : a).enqueue({ runId: `run_${index}`, principalId: `p${index % 3}` })));
      await until(() => executedBy.size === 40 && running === 0, 'all 40 runs');
      assert.deepEqual([...executedBy.values()].filter((names) => names.length !== 1), []);
      const counts = [...executedBy.values()].flat().reduce((tally, name) => tally.set(name, (tally.get(name) ?? 0) + 1), new Map<string, number>());
      assert.ok((counts.get('a') ?? 0) >= 2 && (counts.get('b') ?? 0) >= 2, `both executors ran runs: ${JSON.stringify([...counts])}`);
      assert.equal(await a.depth(), 0);
    });

    it('keep the caps across executors', async () => {
      await queues.splice(0).reduce((closing, queue) => closing.then(() => queue.close()), Promise.resolve());
      const capped = { maxQueued: 5, maxQueuedPerPrincipal: 3 };
      const a = await executor({ caps: capped, concurrency: 1 });
      const b = await executor({ caps: capped, concurrency: 1 });
      queues.push(a, b);
      // No worker: everything stays queued. Ten at once from both sides, one principal: exactly three get in.
      const results = await Promise.allSettled(Array.from({ length: 10 }, (_, index) => (index % 2 ? b : a).enqueue({ runId: `alex_${index}`, principalId: 'alex' })));
      assert.equal(results.filter((result) => result.status === 'fulfilled').length, 3);
      await a.enqueue({ runId: 'casey_1', principalId: 'casey' });
      await b.enqueue({ runId: 'dana_1', principalId: 'dana' });
      await assert.rejects(a.enqueue({ runId: 'erin_1', principalId: 'erin' }), /busy/i);
      assert.equal(await b.depth(), 5);
    });

    it('give back the runs an executor took and never started when it stops: another executor runs them, secrets and caps intact', async () => {
      const [a, b] = queues as [PgBossRunQueue, PgBossRunQueue];
      // a takes two runs and never gets further, as an executor killed between taking a run and claiming it.
      const taken: string[] = [];
      const neverReturns = gate();
      held.push(neverReturns);
      await a.work(async (run) => {
        taken.push(run.runId);
        await neverReturns.opened;
      });
      await a.enqueue({ runId: 'run_taken_1', principalId: 'alex', secrets: { Password: 'kept sealed' } });
      await a.enqueue({ runId: 'run_taken_2', principalId: 'alex' });
      await until(() => taken.length === 2, 'a to take both runs');
      assert.equal(await b.depth(), 0);
      const received: QueuedRun[] = [];
      await b.work(async (run) => void received.push(run));
      // Of the two, one was claimed by a before it stopped (its fate is the lease's business); the other was not.
      const given = await b.giveBackTakenBy('exec-1', async (runId) => runId === 'run_taken_1');
      assert.equal(given, 1);
      await until(() => received.length === 1, 'b to run the run given back');
      assert.deepEqual(received[0], { runId: 'run_taken_1', principalId: 'alex', secrets: { Password: 'kept sealed' } });
      // Nothing is given back twice, nor by another sweeper.
      assert.equal(await a.giveBackTakenBy('exec-1', async () => true), 0);
      assert.equal(await b.depth(), 0);
    });

    it('keep secrets sealed in the database and open them in the worker of another executor', async () => {
      const [a, b] = queues as [PgBossRunQueue, PgBossRunQueue];
      const secret = `hunter2-${randomBytes(6).toString('hex')}`;
      await a.enqueue({ runId: 'run_secret', principalId: 'alex', secrets: { Password: secret } });
      await withClient(databaseUrl(), async (client) => {
        const { rows } = await client.query<{ data: string }>(`SELECT data::text FROM ${QUEUE_SCHEMA}.job WHERE name = 'deputy-runs'`);
        assert.equal(rows.length, 1);
        assert.ok(!rows[0]!.data.includes(secret), 'the secret is not in the job row');
        assert.match(rows[0]!.data, /"ciphertext"/);
        const { rows: dump } = await client.query<{ text: string }>("SELECT string_agg(t::text, ' ') AS text FROM deputy.queue_slots t");
        assert.ok(!(dump[0]?.text ?? '').includes(secret));
      });
      // Executor a never works; b, woken by the notification, takes the run and opens its secret.
      const received: QueuedRun[] = [];
      await b.work(async (run) => void received.push(run));
      await until(() => received.length === 1, 'b to run it');
      assert.deepEqual(received[0], { runId: 'run_secret', principalId: 'alex', secrets: { Password: secret } });
    });
  });
});
