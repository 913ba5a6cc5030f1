/**
 * The behaviour every backend of the asynchronous state ports (executor/store/state-port.ts)
 * must have: files and PostgreSQL each run it. Where a backend can be opened twice at once (as
 * two executors on one database), the races run between the two handles too.
 */
import assert from 'node:assert/strict';
import { ManualClock } from '../../../lib/clock.ts';
import { isDeputyError } from '../../../executor/contract/index.ts';
import type { CredentialRecord } from '../../../executor/credentials/vault.ts';
import type { StateStore } from '../../../executor/store/state-port.ts';
import { runFixture } from './fixtures.ts';
import { IdempotencyOnce } from '../../../executor/runs/idempotency.ts';
import sinon from 'sinon';
import { until } from '../queue/suite.ts';

/** One place where state lives (a data folder, a database), which may be opened more than once. */
export interface StoragePlace {
  open(clock: ManualClock): Promise<StateStore>;
  /** True when two handles may be open on it at once, as several executors on one database. */
  shared: boolean;
  /** Leases survive a restart (false for files, where one process holds them in memory). */
  durableLeases: boolean;
}

export type StoragePlaces = () => Promise<StoragePlace>;

function rejectsWithCode(code: string): (error: unknown) => boolean {
  return (error) => isDeputyError(error) && error.code === code;
}

const HOUR = 60 * 60_000;

function credential(version: number, overrides: Partial<CredentialRecord> = {}): CredentialRecord {
  return { id: 'graph-key', tenant: 'contoso', kind: 'secret', ciphertext: `c${version}`, iv: 'iv', tag: 'tag', keyId: 'k1', version, rotatedAt: '2026-03-01T09:00:00.000Z', ...overrides };
}

export function stateSuite(name: string, places: StoragePlaces): void {
  describe(`state suite: ${name}`, () => {
    let clock: ManualClock;
    let place: StoragePlace;
    let store: StateStore;
    const open: StateStore[] = [];

    /** Another handle on the same place (another executor), or the same one where the place is not shared. */
    async function another(): Promise<StateStore> {
      if (!place.shared) return store;
      const second = await place.open(clock);
      open.push(second);
      return second;
    }

    async function reopen(): Promise<StateStore> {
      await store.close();
      open.splice(open.indexOf(store), 1);
      store = await place.open(clock);
      open.push(store);
      return store;
    }

    beforeEach(async () => {
      clock = new ManualClock(Date.UTC(2026, 2, 1, 9, 0, 0));
      place = await places();
      store = await place.open(clock);
      open.push(store);
    });

    afterEach(async () => {
      await Promise.all(open.splice(0).map((handle) => handle.close()));
    });

    describe('runs', () => {
      it('creates a run once and reads it back', async () => {
        await store.runs.create(runFixture('run_1'));
        assert.equal((await store.runs.get('run_1'))?.state, 'queued');
        assert.equal(await store.runs.get('run_2'), undefined);
        await assert.rejects(store.runs.create(runFixture('run_1', { state: 'running' })), rejectsWithCode('DEPUTY_E_CONFLICT'));
        assert.equal((await store.runs.get('run_1'))?.state, 'queued');
        await assert.rejects(store.runs.create(runFixture('../run')), rejectsWithCode('DEPUTY_E_BAD_REQUEST'));
        await assert.rejects(store.runs.get('a/b'), rejectsWithCode('DEPUTY_E_BAD_REQUEST'));
        await assert.rejects(store.runs.create({ ...runFixture('run_3'), state: 'exploded' as never }), rejectsWithCode('DEPUTY_E_INTERNAL'));
      });

      it('changes a run only from the state the caller expects', async () => {
        await store.runs.create(runFixture('run_1'));
        const started = await store.runs.transition('run_1', 'queued', runFixture('run_1', { state: 'running', startedAt: '2026-03-01T09:00:01.000Z' }));
        assert.equal(started.ok, true);
        const stale = await store.runs.transition('run_1', 'queued', runFixture('run_1', { state: 'cancelled' }));
        assert.equal(stale.ok, false);
        assert.equal(!stale.ok && stale.current?.state, 'running');
        assert.equal(!stale.ok && stale.current?.startedAt, '2026-03-01T09:00:01.000Z');
        // An update within one state is a transition from that state to itself.
        const updated = await store.runs.transition('run_1', 'running', runFixture('run_1', { state: 'running', durationMs: 5 }));
        assert.equal(updated.ok && updated.run.durationMs, 5);
        assert.deepEqual(await store.runs.transition('run_9', 'queued', runFixture('run_9', { state: 'running' })), { ok: false, current: undefined });
        await assert.rejects(store.runs.transition('run_1', 'running', runFixture('run_2', { state: 'failed' })), rejectsWithCode('DEPUTY_E_INTERNAL'));
        assert.equal((await store.runs.get('run_1'))?.durationMs, 5);
      });

      it('lets exactly one of many racing writers move a run', async () => {
        await store.runs.create(runFixture('run_1'));
        const second = await another();
        const contenders = Array.from({ length: 12 }, (_, index) => {
          const handle = index % 2 === 0 ? store : second;
          const next = index % 3 === 0 ? 'cancelled' : 'running';
          return handle.runs.transition('run_1', 'queued', runFixture('run_1', { state: next, error: { code: 'W', message: `writer ${index}` } }));
        });
        const results = await Promise.all(contenders);
        const winners = results.filter((result) => result.ok);
        assert.equal(winners.length, 1);
        const winner = winners[0]!;
        assert.ok(winner.ok);
        for (const result of results.filter((candidate) => !candidate.ok)) {
          assert.ok(!result.ok);
          assert.deepEqual(result.current, winner.run);
        }
        assert.deepEqual(await second.runs.get('run_1'), winner.run);
      });

      it('lists newest first with filters, unfinished runs oldest first, and counts waiting runs', async () => {
        await store.runs.create(runFixture('run_1', { principalId: 'alex', state: 'succeeded' }));
        await store.runs.create(runFixture('run_2', { principalId: 'casey', state: 'failed' }));
        await store.runs.create(runFixture('run_3', { principalId: 'alex', state: 'queued' }));
        await store.runs.create(runFixture('run_4', { principalId: 'alex', state: 'queued' }));
        await store.runs.create(runFixture('run_5', { principalId: 'casey', state: 'queued' }));
        await store.runs.transition('run_4', 'queued', runFixture('run_4', { principalId: 'alex', state: 'running' }));
        const ids = async (filter: Parameters<StateStore['runs']['list']>[0]) => (await store.runs.list(filter)).map((run) => run.id);
        assert.deepEqual(await ids({ limit: 10 }), ['run_5', 'run_4', 'run_3', 'run_2', 'run_1']);
        assert.deepEqual(await ids({ limit: 2 }), ['run_5', 'run_4']);
        assert.deepEqual(await ids({ limit: 10, principal: 'alex' }), ['run_4', 'run_3', 'run_1']);
        assert.deepEqual(await ids({ limit: 10, state: 'queued' }), ['run_5', 'run_3']);
        assert.deepEqual(await ids({ limit: 10, state: 'succeeded' }), ['run_1']);
        assert.deepEqual(await ids({ limit: 10, state: 'queued', principal: 'alex' }), ['run_3']);
        assert.deepEqual(await ids({ limit: 0 }), []);
        assert.deepEqual((await store.runs.unfinished()).map((run) => `${run.id}:${run.state}`), ['run_3:queued', 'run_4:running', 'run_5:queued']);
        assert.equal(await store.runs.count({ state: 'queued' }), 2);
        assert.equal(await store.runs.count({ state: 'queued', principal: 'casey' }), 1);
        assert.equal(await store.runs.count({ state: 'running', principal: 'casey' }), 0);
        assert.equal(await store.runs.count({ state: 'running' }), 1);
      });

      it('keeps all of 200 concurrent creates and their transitions', async () => {
        const ids = Array.from({ length: 200 }, (_, index) => `run_${index}`);
        await Promise.all(ids.map((id, index) => store.runs.create(runFixture(id, { principalId: index % 2 ? 'alex' : 'casey' }))));
        const moved = await Promise.all(ids.map((id, index) => store.runs.transition(id, 'queued', runFixture(id, { principalId: index % 2 ? 'alex' : 'casey', state: 'running' }))));
        assert.equal(moved.filter((result) => result.ok).length, 200);
        assert.equal((await store.runs.list({ limit: 1000 })).length, 200);
        assert.equal((await store.runs.list({ limit: 1000, principal: 'alex' })).length, 100);
        assert.equal(await store.runs.count({ state: 'running' }), 200);
        // Creations racing each other have no order among themselves; sequential ones do (above).
        assert.deepEqual((await store.runs.unfinished()).map((run) => run.id).sort(), [...ids].sort());
      });

      it('stores a run output', async () => {
        const records = [
          { stream: 'output' as const, text: 'Name Used', data: { Name: 'C', Used: 12 } },
          { stream: 'error' as const, text: 'nul \u0000 and ünïcode ✓' },
        ];
        await store.runs.writeOutput('run_1', records);
        assert.deepEqual(await store.runs.readOutput('run_1'), records);
        assert.deepEqual(await store.runs.readOutput('run_2'), []);
        await assert.rejects(store.runs.writeOutput('../x', records), rejectsWithCode('DEPUTY_E_BAD_REQUEST'));
      });

      it("stores a final state's output with it, small or large, only for the writer that wins, and keeps it across a restart", async () => {
        const small = [{ stream: 'output' as const, text: 'done' }, { stream: 'warning' as const, text: 'careful' }];
        // Larger than any inline limit: a backend may keep it apart, and must still give it back whole.
        const large = Array.from({ length: 400 }, (_, index) => ({ stream: 'output' as const, text: `line ${index} ${'x'.repeat(100)}` }));
        for (const id of ['run_small', 'run_large']) {
          await store.runs.create(runFixture(id));
          await store.runs.transition(id, 'queued', runFixture(id, { state: 'running' }));
        }
        const second = await another();
        const lost = await second.runs.transition('run_small', 'queued', runFixture('run_small', { state: 'failed' }), { output: [{ stream: 'error', text: 'the loser' }] });
        assert.equal(lost.ok, false);
        assert.deepEqual(await store.runs.readOutput('run_small'), []);
        assert.equal((await store.runs.transition('run_small', 'running', runFixture('run_small', { state: 'succeeded' }), { output: small })).ok, true);
        assert.equal((await store.runs.transition('run_large', 'running', runFixture('run_large', { state: 'succeeded' }), { output: large })).ok, true);
        assert.deepEqual(await second.runs.readOutput('run_small'), small);
        assert.deepEqual(await second.runs.readOutput('run_large'), large);
        // The record itself carries no output; a later change of the final run keeps it.
        assert.equal('output' in ((await store.runs.get('run_small')) ?? {}), false);
        assert.equal((await store.runs.transition('run_small', 'succeeded', runFixture('run_small', { state: 'succeeded', durationMs: 7 }))).ok, true);
        await reopen();
        assert.deepEqual(await store.runs.readOutput('run_small'), small);
        assert.deepEqual(await store.runs.readOutput('run_large'), large);
        assert.equal((await store.runs.get('run_small'))?.durationMs, 7);
      });

      it("runs what goes with a change (its audit entry) only for the writer that wins, and settles after it", async () => {
        const done: string[] = [];
        const alongside = (label: string) => async () => {
          await new Promise((resolve) => setImmediate(resolve));
          done.push(label);
        };
        await store.runs.create(runFixture('run_1'), alongside('created'));
        assert.deepEqual(done, ['created']);
        await assert.rejects(store.runs.create(runFixture('run_1'), alongside('created again')), rejectsWithCode('DEPUTY_E_CONFLICT'));
        const second = await another();
        const results = await Promise.all([
          store.runs.transition('run_1', 'queued', runFixture('run_1', { state: 'running' }), { alongside: alongside('first') }),
          second.runs.transition('run_1', 'queued', runFixture('run_1', { state: 'cancelled' }), { alongside: alongside('second') }),
        ]);
        assert.equal(results.filter((result) => result.ok).length, 1);
        assert.deepEqual(done, ['created', results[0]?.ok ? 'first' : 'second']);
        // A failure of what goes with the change is the change's failure to its caller.
        await assert.rejects(
          store.runs.transition('run_1', results[0]?.ok ? 'running' : 'cancelled', runFixture('run_1', { state: 'failed' }), {
            alongside: () => Promise.reject(new Error('audit log unavailable')),
          }),
          /audit log unavailable/,
        );
      });

      it('keeps user text as given, \\u0000 included', async () => {
        await store.runs.create(runFixture('run_1', { inputs: { Note: 'a\u0000b' } }));
        assert.deepEqual((await store.runs.get('run_1'))?.inputs, { Note: 'a\u0000b' });
      });
    });

    describe('plan state and script reviews', () => {
      const planState = (handledUntil: number) => ({ handledUntil, enabled: true });

      it('writes a record only from the revision the writer read', async () => {
        assert.equal(await store.planStates.get('nightly'), undefined);
        assert.equal(await store.planStates.compareAndSet('nightly', undefined, planState(1)), 1);
        assert.equal(await store.planStates.compareAndSet('nightly', undefined, planState(2)), undefined);
        assert.equal(await store.planStates.compareAndSet('nightly', 1, planState(3)), 2);
        assert.equal(await store.planStates.compareAndSet('nightly', 1, planState(4)), undefined);
        assert.deepEqual(await store.planStates.get('nightly'), { value: planState(3), revision: 2 });
        await store.planStates.set('nightly', planState(5));
        assert.deepEqual(await store.planStates.get('nightly'), { value: planState(5), revision: 3 });
        await store.planStates.delete('nightly');
        assert.equal(await store.planStates.get('nightly'), undefined);
        await store.planStates.delete('never-there');
      });

      it('lets one of two executors move a plan past a fire time', async () => {
        await store.planStates.set('nightly', planState(100));
        const second = await another();
        const read = await store.planStates.get('nightly');
        const results = await Promise.all([
          store.planStates.compareAndSet('nightly', read?.revision, planState(200)),
          second.planStates.compareAndSet('nightly', read?.revision, planState(200)),
        ]);
        assert.equal(results.filter((revision) => revision !== undefined).length, 1);
      });

      it('keeps script reviews, and refuses an invalid one', async () => {
        const review = { hash: 'a'.repeat(64), requestedBy: 'alex', requestedAt: '2026-03-01T09:00:00.000Z' };
        await store.scriptReviews.set('disk-usage', review);
        assert.deepEqual((await store.scriptReviews.get('disk-usage'))?.value, review);
        await assert.rejects(store.scriptReviews.set('disk-usage', { hash: 1 } as never));
        assert.deepEqual((await store.scriptReviews.get('disk-usage'))?.value, review);
      });
    });

    describe('idempotency keys and hook signatures', () => {
      const claim = (handle: StateStore, bodyHash = 'body-1') => handle.hookIdempotency.claim({ scope: 'itsm', key: 'key-1', bodyHash, claimTtlMs: 60_000 });
      const answer = { runId: 'run_1', state: 'queued', correlationId: 'c-1' };

      it('gives a key to one request, then its answer to every repeat', async () => {
        assert.deepEqual(await claim(store), { kind: 'owner' });
        assert.deepEqual(await claim(store, 'body-2'), { kind: 'in-flight', bodyHash: 'body-1' });
        await store.hookIdempotency.complete({ scope: 'itsm', key: 'key-1', answer, ttlMs: 24 * HOUR });
        assert.deepEqual(await claim(store, 'body-2'), { kind: 'answered', bodyHash: 'body-1', answer });
        assert.deepEqual(await store.hookIdempotency.claim({ scope: 'other', key: 'key-1', bodyHash: 'x', claimTtlMs: 60_000 }), { kind: 'owner' });
        clock.advance(24 * HOUR);
        assert.deepEqual(await claim(store, 'body-3'), { kind: 'owner' });
      });

      it('frees a key whose start failed, or whose holder went away', async () => {
        await claim(store);
        await store.hookIdempotency.release('itsm', 'key-1');
        assert.deepEqual(await claim(store), { kind: 'owner' });
        clock.advance(60_000);
        assert.deepEqual(await claim(store, 'body-2'), { kind: 'owner' });
        assert.deepEqual(await claim(store), { kind: 'in-flight', bodyHash: 'body-2' });
      });

      it('renews a claim in flight so that it does not lapse while its holder works, and nothing else', async () => {
        const second = await another();
        await claim(store);
        clock.advance(50_000);
        assert.equal(await second.hookIdempotency.renew({ scope: 'itsm', key: 'key-1', claimTtlMs: 60_000 }), true);
        clock.advance(50_000);
        assert.deepEqual(await claim(second, 'body-2'), { kind: 'in-flight', bodyHash: 'body-1' });
        assert.equal(await store.hookIdempotency.prune(), 0);
        await store.hookIdempotency.complete({ scope: 'itsm', key: 'key-1', answer, ttlMs: HOUR });
        assert.equal(await store.hookIdempotency.renew({ scope: 'itsm', key: 'key-1', claimTtlMs: 60_000 }), false, 'an answered key is no claim');
        assert.equal(await store.hookIdempotency.renew({ scope: 'itsm', key: 'key-2', claimTtlMs: 60_000 }), false, 'nor is an unknown key');
        assert.equal(await store.runIdempotency.renew({ scope: 'itsm', key: 'key-1', claimTtlMs: 60_000 }), false, "nor a hook's key among run requests' keys");
      });

      it('does a slow start once: its claim is renewed while it works, so a repeat on another executor waits for its answer', async () => {
        const second = await another();
        const renewals = sinon.spy(store.hookIdempotency, 'renew');
        const once = new IdempotencyOnce(store.hookIdempotency, { claimTtlMs: 60_000, renewEveryMs: 5 });
        const again = new IdempotencyOnce(second.hookIdempotency, { claimTtlMs: 60_000, renewEveryMs: 5 });
        let finish: (value: typeof answer) => void = () => undefined;
        let starts = 0;
        const first = once.once('itsm', 'key-slow', 'body', () => {
          starts += 1;
          return new Promise((resolve) => (finish = resolve));
        });
        // Ten minutes pass while the first start works (a slow query): far beyond the claim's life.
        for (let minute = 0; minute < 10; minute += 1) {
          clock.advance(60_000);
          const seen = renewals.callCount;
          await until(() => renewals.callCount > seen, 'a renewal of the claim');
        }
        const repeat = again.once('itsm', 'key-slow', 'body', async () => {
          starts += 1;
          return { ...answer, runId: 'run_twice' };
        });
        finish(answer);
        assert.deepEqual(await first, { answer, replay: false });
        assert.deepEqual(await repeat, { answer, replay: true });
        assert.equal(starts, 1);
        renewals.restore();
      });

      it('lets one of many racing requests own a key', async () => {
        const second = await another();
        const claims = await Promise.all(Array.from({ length: 10 }, (_, index) => claim(index % 2 ? second : store)));
        assert.equal(claims.filter((result) => result.kind === 'owner').length, 1);
      });

      it("keeps run requests' keys apart from hooks' keys", async () => {
        assert.deepEqual(await claim(store), { kind: 'owner' });
        assert.deepEqual(await store.runIdempotency.claim({ scope: 'itsm', key: 'key-1', bodyHash: 'other', claimTtlMs: 60_000 }), { kind: 'owner' });
        await store.runIdempotency.complete({ scope: 'itsm', key: 'key-1', answer, ttlMs: HOUR });
        assert.deepEqual(await claim(store), { kind: 'in-flight', bodyHash: 'body-1' });
      });

      it('prunes what expired', async () => {
        await claim(store);
        await store.hookIdempotency.complete({ scope: 'itsm', key: 'key-1', answer, ttlMs: HOUR });
        assert.equal(await store.hookIdempotency.prune(), 0);
        clock.advance(HOUR);
        assert.equal(await store.hookIdempotency.prune(), 1);
      });

      it('prunes expired answers and lapsed claims of both kinds on any executor, and keeps live answers and claims in flight', async () => {
        const second = await another();
        const both = (handle: StateStore) => [handle.hookIdempotency, handle.runIdempotency];
        const claimAs = (records: StateStore['hookIdempotency'], key: string, bodyHash = 'b') => records.claim({ scope: 'itsm', key, bodyHash, claimTtlMs: 60_000 });
        for (const records of both(store)) {
          for (const [key, ttlMs] of [['short', HOUR], ['long', 24 * HOUR]] as const) {
            await claimAs(records, key);
            await records.complete({ scope: 'itsm', key, answer, ttlMs });
          }
        }
        clock.advance(HOUR - 30_000);
        // Claimed half a minute before the hour, with a minute to finish: still in flight at the prune.
        for (const records of both(store)) assert.deepEqual(await claimAs(records, 'slow'), { kind: 'owner' });
        clock.advance(30_000);
        for (const records of both(second)) assert.equal(await records.prune(), 1, 'the answer of an hour');
        for (const records of both(store)) {
          assert.equal(await records.prune(), 0, 'pruned once, whichever executor pruned it');
          assert.deepEqual(await claimAs(records, 'slow', 'other'), { kind: 'in-flight', bodyHash: 'b' });
          assert.equal((await claimAs(records, 'long', 'other')).kind, 'answered');
          assert.deepEqual(await claimAs(records, 'short'), { kind: 'owner' });
          await records.release('itsm', 'short');
        }
        clock.advance(30_000);
        for (const records of both(store)) {
          assert.equal(await records.prune(), 1, 'the claim whose holder never finished');
          assert.deepEqual(await claimAs(records, 'slow', 'other'), { kind: 'owner' });
        }
      });

      it('prunes signatures whose window closed on any executor, and keeps the others', async () => {
        const second = await another();
        await store.hookSignatures.claim('itsm', 'sig-old', 'key-1', clock.now() + 60_000);
        await second.hookSignatures.claim('itsm', 'sig-new', 'key-2', clock.now() + 5 * 60_000);
        clock.advance(60_000);
        assert.equal(await store.hookSignatures.prune(), 0, 'the window includes its last millisecond');
        clock.advance(1);
        assert.equal(await second.hookSignatures.prune(), 1);
        assert.equal(await store.hookSignatures.prune(), 0);
        assert.equal(await store.hookSignatures.claim('itsm', 'sig-new', 'key-2', clock.now() + 60_000), 'retry');
        assert.equal(await second.hookSignatures.claim('itsm', 'sig-new', undefined, clock.now() + 60_000), 'replay');
        assert.equal(await store.hookSignatures.claim('itsm', 'sig-old', undefined, clock.now() + 60_000), 'first');
      });

      it('accepts a signature once until its window closes, on any executor; a retry repeats its Idempotency-Key', async () => {
        const second = await another();
        const expiresAt = clock.now() + 5 * 60_000;
        const first = await Promise.all([store.hookSignatures.claim('itsm', 'sig-1', 'key-1', expiresAt), second.hookSignatures.claim('itsm', 'sig-1', 'key-1', expiresAt)]);
        assert.deepEqual(first.sort(), ['first', 'retry']);
        assert.equal(await second.hookSignatures.claim('itsm', 'sig-1', 'key-1', expiresAt), 'retry');
        assert.equal(await store.hookSignatures.claim('itsm', 'sig-1', 'key-2', expiresAt), 'replay');
        assert.equal(await store.hookSignatures.claim('itsm', 'sig-1', undefined, expiresAt), 'replay');
        assert.equal(await store.hookSignatures.claim('other', 'sig-1', undefined, expiresAt), 'first');
        assert.equal(await store.hookSignatures.claim('other', 'sig-1', undefined, expiresAt), 'replay');
        // The window includes its last millisecond.
        clock.advance(5 * 60_000);
        assert.equal(await second.hookSignatures.claim('itsm', 'sig-1', undefined, clock.now() + 60_000), 'replay');
        clock.advance(1);
        assert.equal(await second.hookSignatures.claim('itsm', 'sig-1', undefined, clock.now() + 60_000), 'first');
      });
    });

    describe('mail ledger', () => {
      const message = (messageId: string) => ({ connector: 'helpdesk', messageId, replyTo: 'a@example.com', mailbox: 'deputy@example.com', subject: 'Unlock' });

      it('claims a Message-ID once, stamped with the clock, and finds it by its run', async () => {
        const second = await another();
        const claimedAt = clock.now();
        const claims = await Promise.all([store.mailLedger.claim(message('<m1@x>')), second.mailLedger.claim(message('<m1@x>'))]);
        assert.deepEqual(claims.sort(), [false, true]);
        await store.mailLedger.attachRun('helpdesk', '<m1@x>', 'run_1');
        assert.deepEqual(await second.mailLedger.forRun('run_1'), { ...message('<m1@x>'), at: claimedAt, runId: 'run_1' });
        assert.equal(await store.mailLedger.forRun('run_2'), undefined);
        clock.advance(10);
        await store.mailLedger.claim(message('<m2@x>'));
        assert.equal(await store.mailLedger.prune(claimedAt + 1), 1);
        assert.equal(await store.mailLedger.forRun('run_1'), undefined);
      });

      it('drops what was handled before the cut-off on any executor; a message kept is still a repeat', async () => {
        const second = await another();
        await store.mailLedger.claim(message('<old@x>'));
        await store.mailLedger.attachRun('helpdesk', '<old@x>', 'run_old');
        clock.advance(HOUR);
        const cutOff = clock.now();
        await second.mailLedger.claim(message('<new@x>'));
        await second.mailLedger.attachRun('helpdesk', '<new@x>', 'run_new');
        assert.equal(await second.mailLedger.prune(cutOff), 1);
        assert.equal(await store.mailLedger.prune(cutOff), 0);
        assert.equal(await store.mailLedger.forRun('run_old'), undefined);
        assert.equal((await store.mailLedger.forRun('run_new'))?.messageId, '<new@x>');
        assert.equal(await store.mailLedger.claim(message('<new@x>')), false);
        assert.equal(await store.mailLedger.claim(message('<old@x>')), true, 'forgotten: a copy now would start a run');
      });
    });

    describe('credentials', () => {
      it('stores sealed records, each change from the version it read', async () => {
        assert.equal(await store.credentials.compareAndSet(credential(1), undefined), true);
        assert.equal(await store.credentials.compareAndSet(credential(1, { ciphertext: 'other' }), undefined), false);
        assert.equal(await store.credentials.compareAndSet(credential(2), { version: 1, keyId: 'k1' }), true);
        assert.equal(await store.credentials.compareAndSet(credential(2, { ciphertext: 'late' }), { version: 1, keyId: 'k1' }), false);
        // Re-encryption keeps the version and changes the key.
        assert.equal(await store.credentials.compareAndSet(credential(2, { keyId: 'k2', ciphertext: 'rewrapped' }), { version: 2, keyId: 'k1' }), true);
        assert.deepEqual(await store.credentials.get('graph-key'), credential(2, { keyId: 'k2', ciphertext: 'rewrapped' }));
        await store.credentials.compareAndSet(credential(1, { id: 'aaa', username: 'svc' }), undefined);
        assert.deepEqual((await store.credentials.list()).map((record) => `${record.id}:${record.version}:${record.username ?? '-'}`), ['aaa:1:svc', 'graph-key:2:-']);
      });

      it('lets one of two executors write a new version', async () => {
        await store.credentials.compareAndSet(credential(1), undefined);
        const second = await another();
        const results = await Promise.all([
          store.credentials.compareAndSet(credential(2, { ciphertext: 'mine' }), { version: 1, keyId: 'k1' }),
          second.credentials.compareAndSet(credential(2, { ciphertext: 'theirs' }), { version: 1, keyId: 'k1' }),
        ]);
        assert.deepEqual(results.sort(), [false, true]);
      });
    });

    describe('leases', () => {
      it('holds a lease for one holder until it expires or is released', async () => {
        const second = await another();
        assert.equal(await store.leases.acquire('scheduler', 'executor-a', 30_000), true);
        assert.equal(await second.leases.acquire('scheduler', 'executor-b', 30_000), false);
        clock.advance(10_000);
        assert.equal(await store.leases.acquire('scheduler', 'executor-a', 30_000), true);
        assert.deepEqual(await second.leases.get('scheduler'), { name: 'scheduler', holder: 'executor-a', acquiredAt: Date.UTC(2026, 2, 1, 9, 0, 0), expiresAt: clock.now() + 30_000 });
        clock.advance(30_000);
        assert.equal(await second.leases.acquire('scheduler', 'executor-b', 30_000), true);
        await second.leases.release('scheduler', 'executor-a');
        assert.equal((await store.leases.get('scheduler'))?.holder, 'executor-b');
        await second.leases.release('scheduler', 'executor-b');
        assert.equal(await store.leases.get('scheduler'), undefined);
      });

      it('lists the expired leases under a prefix', async () => {
        await store.leases.acquire('executor:a', 'a', 10_000);
        await store.leases.acquire('executor:b', 'b', 60_000);
        await store.leases.acquire('scheduler', 'a', 10_000);
        clock.advance(20_000);
        assert.deepEqual((await store.leases.expired('executor:')).map((lease) => lease.name), ['executor:a']);
      });

      it('lets one of many executors take a free lease', async () => {
        const second = await another();
        const results = await Promise.all(Array.from({ length: 10 }, (_, index) => (index % 2 ? second : store).leases.acquire('approval-expiry', `executor-${index}`, 30_000)));
        assert.equal(results.filter(Boolean).length, 1);
      });
    });

    it('keeps what a prune kept across a restart, and not what it dropped', async () => {
      const message = (messageId: string) => ({ connector: 'm', messageId, replyTo: 'a@x', mailbox: 'b@x', subject: 's' });
      for (const [key, ttlMs] of [['gone', HOUR], ['kept', 24 * HOUR]] as const) {
        await store.runIdempotency.claim({ scope: 'principal:alex', key, bodyHash: 'b', claimTtlMs: 60_000 });
        await store.runIdempotency.complete({ scope: 'principal:alex', key, answer: { runId: `run_${key}`, state: 'queued', correlationId: 'c' }, ttlMs });
      }
      await store.hookSignatures.claim('itsm', 'sig-gone', undefined, clock.now() + 60_000);
      await store.hookSignatures.claim('itsm', 'sig-kept', undefined, clock.now() + 2 * HOUR);
      await store.mailLedger.claim(message('<gone@x>'));
      clock.advance(HOUR);
      const cutOff = clock.now();
      await store.mailLedger.claim(message('<kept@x>'));
      await store.mailLedger.attachRun('m', '<kept@x>', 'run_mail');
      assert.deepEqual(
        [await store.runIdempotency.prune(), await store.hookSignatures.prune(), await store.mailLedger.prune(cutOff)],
        [1, 1, 1],
      );
      const after = await reopen();
      const claim = (key: string) => after.runIdempotency.claim({ scope: 'principal:alex', key, bodyHash: 'b', claimTtlMs: 60_000 });
      assert.deepEqual(await claim('kept'), { kind: 'answered', bodyHash: 'b', answer: { runId: 'run_kept', state: 'queued', correlationId: 'c' } });
      assert.deepEqual(await claim('gone'), { kind: 'owner' });
      assert.equal(await after.hookSignatures.claim('itsm', 'sig-kept', undefined, clock.now() + 60_000), 'replay');
      assert.equal(await after.hookSignatures.claim('itsm', 'sig-gone', undefined, clock.now() + 60_000), 'first');
      assert.equal((await after.mailLedger.forRun('run_mail'))?.messageId, '<kept@x>');
      assert.equal(await after.mailLedger.claim(message('<kept@x>')), false);
      assert.equal(await after.mailLedger.claim(message('<gone@x>')), true);
    });

    it('keeps everything across a restart', async () => {
      await store.runs.create(runFixture('run_1'));
      await store.runs.transition('run_1', 'queued', runFixture('run_1', { state: 'succeeded' }));
      await store.runs.create(runFixture('run_2', { state: 'awaiting-approval' }));
      await store.planStates.compareAndSet('nightly', undefined, { handledUntil: 7 });
      await store.hookIdempotency.claim({ scope: 'itsm', key: 'k', bodyHash: 'b', claimTtlMs: 60_000 });
      await store.hookIdempotency.complete({ scope: 'itsm', key: 'k', answer: { runId: 'run_1', state: 'queued', correlationId: 'c' }, ttlMs: HOUR });
      await store.hookSignatures.claim('itsm', 'sig', undefined, clock.now() + 60_000);
      await store.mailLedger.claim({ connector: 'm', messageId: '<1@x>', replyTo: 'a@x', mailbox: 'b@x', subject: 's' });
      await store.mailLedger.attachRun('m', '<1@x>', 'run_1');
      await store.credentials.compareAndSet(credential(1), undefined);
      await store.leases.acquire('scheduler', 'a', HOUR);
      const after = await reopen();
      assert.equal((await after.runs.get('run_1'))?.state, 'succeeded');
      assert.deepEqual((await after.runs.unfinished()).map((run) => run.id), ['run_2']);
      assert.deepEqual((await after.runs.list({ limit: 5 })).map((run) => run.id), ['run_2', 'run_1']);
      assert.deepEqual(await after.planStates.get('nightly'), { value: { handledUntil: 7 }, revision: 1 });
      assert.equal((await after.hookIdempotency.claim({ scope: 'itsm', key: 'k', bodyHash: 'b', claimTtlMs: 60_000 })).kind, 'answered');
      assert.equal(await after.hookSignatures.claim('itsm', 'sig', undefined, clock.now() + 60_000), 'replay');
      assert.equal((await after.mailLedger.forRun('run_1'))?.messageId, '<1@x>');
      assert.equal((await after.credentials.get('graph-key'))?.ciphertext, 'c1');
      assert.equal((await after.leases.get('scheduler'))?.holder, place.durableLeases ? 'a' : undefined);
    });
  });
}
