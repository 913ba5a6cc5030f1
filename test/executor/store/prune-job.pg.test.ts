/**
 * The prune duty with two executors on one PostgreSQL (a fake clock, real databases, real leases):
 * one pass per interval across the cluster, on whichever executor holds `duty:prune`, removing the
 * expired rows of every kind and keeping the rest; the other executor takes the duty over when its
 * holder stops renewing it. A failing table or lease is logged and the next pass makes it good.
 */
import assert from 'node:assert/strict';
import { ManualClock } from '../../../lib/clock.ts';
import { silentLogger } from '../../../lib/logger.ts';
import { MESSAGE_RETENTION_MS } from '../../../executor/mail/ledger.ts';
import { openPostgresBackend, type PostgresBackend } from '../../../executor/store/pg/index.ts';
import { EVENT_RETENTION_MS, type PruneReport } from '../../../executor/store/prune-job.ts';
import { dropSchemas, useTestDatabase, withClient } from '../../helpers/postgres.ts';
import { until } from '../cluster/processes.ts';
import { planEventFixture } from './fixtures.ts';
import { ERROR, pruneDuty, prunedLines, type PruneDuty } from './prune-duty.ts';

const HOUR = 60 * 60_000;
const DAY = 24 * HOUR;
const INTERVAL = 10 * 60_000;

describe('prune duty: two executors on one PostgreSQL', () => {
  const databaseUrl = useTestDatabase();
  let clock: ManualClock;
  let backends: PostgresBackend[];
  let duties: PruneDuty[];

  const sql = async <R extends object>(text: string, values: unknown[] = []) => withClient(databaseUrl(), async (client) => (await client.query<R>(text, values)).rows);
  const rows = async () =>
    (
      await sql<{ keys: number; signatures: number; mail: number; events: number }>(
        `SELECT (SELECT count(*)::int FROM deputy.idempotency_keys) AS keys, (SELECT count(*)::int FROM deputy.hook_signatures) AS signatures,
                (SELECT count(*)::int FROM deputy.mail_messages) AS mail, (SELECT count(*)::int FROM deputy.outbox) AS events`,
      )
    )[0];

  /** Through executor `on`: one record of each kind, expiring after `ttlMs` (mail after its retention), and an event written `eventAgeMs` ago. */
  async function record(on: PostgresBackend, tag: string, ttlMs: number, eventAgeMs: number): Promise<void> {
    for (const records of [on.state.hookIdempotency, on.state.runIdempotency]) {
      await records.claim({ scope: 'itsm', key: tag, bodyHash: 'b', claimTtlMs: 60_000 });
      await records.complete({ scope: 'itsm', key: tag, answer: { runId: `run_${tag}`, state: 'queued', correlationId: 'c' }, ttlMs });
    }
    await on.state.hookSignatures.claim('itsm', `sig-${tag}`, undefined, clock.now() + ttlMs);
    await on.state.mailLedger.claim({ connector: 'helpdesk', messageId: `<${tag}@x>`, replyTo: 'a@x', mailbox: 'b@x', subject: 's' });
    const { seq } = await on.events.publish(planEventFixture(tag));
    // The outbox stamps rows with the database's time; this one was written `eventAgeMs` before the test clock's now.
    await sql('UPDATE deputy.outbox SET created_at = $2 WHERE seq = $1', [seq, new Date(clock.now() - eventAgeMs)]);
  }

  /** Both executors' passes at one moment: the reports, by executor. */
  const passes = () => Promise.all(duties.map((duty) => duty.job.runOnce()));
  const ran = (reports: (PruneReport | undefined)[]) => reports.map((report) => report !== undefined);

  beforeEach(async function () {
    this.timeout(60_000);
    await dropSchemas(databaseUrl(), 'deputy');
    clock = new ManualClock(Date.UTC(2026, 2, 1, 9));
    backends = [];
    duties = [];
    for (const id of ['exec-a', 'exec-b']) {
      const backend = await openPostgresBackend({ url: databaseUrl(), clock, logger: silentLogger(), poolSize: 4, applicationName: `prune-test-${id}` });
      backends.push(backend);
      const { state, audit, events } = backend;
      duties.push(pruneDuty({ executorId: id, records: { ...state, events }, leases: state.leases, runs: state.runs, audit, events, clock, intervalMs: INTERVAL }));
    }
  });

  afterEach(async () => {
    for (const duty of duties) await duty.job.stop();
    await Promise.all(backends.map((backend) => backend.close()));
  });

  it('prunes once per interval across both, removing the expired rows of every kind and keeping the rest', async () => {
    const [a, b] = backends as [PostgresBackend, PostgresBackend];
    await record(a, 'old', HOUR, EVENT_RETENTION_MS + 1);
    clock.advance(MESSAGE_RETENTION_MS + 1);
    await record(b, 'new', DAY, EVENT_RETENTION_MS - DAY);
    assert.equal((await a.state.runIdempotency.claim({ scope: 'itsm', key: 'slow', bodyHash: 'b', claimTtlMs: 60_000 })).kind, 'owner');
    assert.deepEqual(await rows(), { keys: 5, signatures: 2, mail: 2, events: 2 });

    const first = await passes();
    assert.deepEqual(ran(first).sort(), [false, true], 'one executor pruned');
    const holder = ran(first).indexOf(true);
    const other = 1 - holder;
    assert.deepEqual(first[holder], { removed: { runIdempotency: 1, hookIdempotency: 1, hookSignatures: 1, mailLedger: 1, events: 1 }, failed: [] });
    assert.deepEqual(await rows(), { keys: 3, signatures: 1, mail: 1, events: 1 }, 'the new records and the claim in flight are kept');
    assert.deepEqual(await a.state.runIdempotency.claim({ scope: 'itsm', key: 'slow', bodyHash: 'x', claimTtlMs: 60_000 }), { kind: 'in-flight', bodyHash: 'b' });
    assert.equal((await b.state.hookIdempotency.claim({ scope: 'itsm', key: 'new', bodyHash: 'x', claimTtlMs: 60_000 })).kind, 'answered');
    assert.equal(prunedLines(duties[holder]!.logs).length, 1);
    assert.equal(prunedLines(duties[other]!.logs).length, 0);

    // The other executor's timer is not in step: half an interval later, the duty is still taken.
    clock.advance(INTERVAL / 2);
    assert.equal(await duties[other]!.job.runOnce(), undefined);
    clock.advance(INTERVAL / 2);
    const second = await passes();
    assert.deepEqual(ran(second), [holder === 0, holder === 1], 'the holder, renewing its lease');
    assert.deepEqual(second[holder]?.removed, { runIdempotency: 1, hookIdempotency: 0, hookSignatures: 0, mailLedger: 0, events: 0 }, 'the claim whose holder never finished');
    assert.deepEqual(await rows(), { keys: 2, signatures: 1, mail: 1, events: 1 });
    clock.advance(INTERVAL / 2);
    assert.equal(await duties[other]!.job.runOnce(), undefined);
    assert.equal((await a.state.leases.get('duty:prune'))?.holder, holder === 0 ? 'exec-a' : 'exec-b');

    // The holder stops (dies): once its lease has run out, two intervals after its last pass, the other takes over.
    await duties[holder]!.job.stop();
    await b.state.hookSignatures.claim('itsm', 'sig-short', undefined, clock.now() + INTERVAL);
    clock.advance(INTERVAL + INTERVAL / 2 - 1);
    assert.equal(await duties[other]!.job.runOnce(), undefined);
    clock.advance(1);
    assert.deepEqual(await duties[other]!.job.runOnce(), { removed: { runIdempotency: 0, hookIdempotency: 0, hookSignatures: 1, mailLedger: 0, events: 0 }, failed: [] });
    assert.deepEqual(await rows(), { keys: 2, signatures: 1, mail: 1, events: 1 });
  });

  it('logs a table it could not prune and a lease it could not take, and the next pass makes both good', async () => {
    const [a] = backends as [PostgresBackend];
    const [duty] = duties as [PruneDuty];
    await record(a, 'old', HOUR, EVENT_RETENTION_MS + 1);
    clock.advance(MESSAGE_RETENTION_MS + 1);
    await sql('ALTER TABLE deputy.hook_signatures RENAME TO hook_signatures_away');
    try {
      const report = await duty.job.runOnce();
      assert.deepEqual(report, { removed: { runIdempotency: 1, hookIdempotency: 1, mailLedger: 1, events: 1 }, failed: ['hookSignatures'] });
      assert.deepEqual(
        duty.logs.filter((line) => line.level === ERROR).map((line) => [line.msg, line.kind]),
        [['pruning expired records failed; tried again at the next interval', 'hookSignatures']],
      );
    } finally {
      await sql('ALTER TABLE deputy.hook_signatures_away RENAME TO hook_signatures');
    }

    await sql('ALTER TABLE deputy.leases RENAME TO leases_away');
    try {
      clock.advance(INTERVAL);
      assert.equal(await duty.job.runOnce(), undefined);
      assert.equal(duty.logs.filter((line) => line.level === ERROR).at(-1)?.msg, 'the prune duty could not run; it is tried again at the next interval');
    } finally {
      await sql('ALTER TABLE deputy.leases_away RENAME TO leases');
    }

    clock.advance(INTERVAL);
    assert.deepEqual(await duty.job.runOnce(), { removed: { runIdempotency: 0, hookIdempotency: 0, hookSignatures: 1, mailLedger: 0, events: 0 }, failed: [] });
    assert.deepEqual(await rows(), { keys: 0, signatures: 0, mail: 0, events: 0 });
  });

  it('runs on its timer on one executor only, started on both', async () => {
    const [a, b] = backends as [PostgresBackend, PostgresBackend];
    await record(a, 'first', HOUR, EVENT_RETENTION_MS + 1);
    clock.advance(MESSAGE_RETENTION_MS + 1);
    // Real time between passes, short; the fake clock stands still, so the first holder's lease never runs out.
    for (const duty of duties) await duty.job.stop();
    duties = duties.map((_, index) => {
      const backend = index === 0 ? a : b;
      const { state, audit, events } = backend;
      return pruneDuty({ executorId: `exec-${'ab'[index]}`, records: { ...state, events }, leases: state.leases, runs: state.runs, audit, events, clock, intervalMs: 25 });
    });
    for (const duty of duties) duty.job.start();
    await until('a pass to remove the expired rows', async () => (await rows())?.keys === 0, 20_000);
    // Keys that expire at once, and an old event: the clock must not move, or the lease would run out.
    await record(b, 'second', 0, EVENT_RETENTION_MS + 1);
    await until('a later pass to remove the next ones', async () => (await rows())?.keys === 0 && (await rows())?.events === 0, 20_000);
    // A pass may come while the second records are being written, and take them in two goes.
    const reported = duties.map((duty) => prunedLines(duty.logs).length);
    assert.ok(Math.min(...reported) === 0 && Math.max(...reported) >= 2, `one executor pruned every time (lines per executor: ${reported.join(', ')})`);
  });
});
