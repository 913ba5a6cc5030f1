/**
 * The behaviour every storage backend must have. Each backend's test file runs it:
 * `storeSuite('memory', …)`, `storeSuite('file', …)`; a PostgreSQL backend would run it too.
 */
import assert from 'node:assert/strict';
import { ManualClock } from '../../../lib/clock.ts';
import { isDeputyError } from '../../../executor/contract/index.ts';
import { RUN_STATES } from '../../../executor/contract/index.ts';
import type { Store } from '../../../executor/store/port.ts';
import { GENESIS_HASH } from '../../../executor/store/audit-chain.ts';
import { catalogFixture, runFixture } from './fixtures.ts';

export type StoreFactory = (clock: ManualClock) => Promise<Store>;

function rejectsWithCode(code: string): (error: unknown) => boolean {
  return (error) => isDeputyError(error) && error.code === code;
}

export function storeSuite(name: string, makeStore: StoreFactory): void {
  describe(`store suite: ${name}`, () => {
    let clock: ManualClock;
    let store: Store;

    beforeEach(async () => {
      clock = new ManualClock(Date.UTC(2026, 2, 1, 9, 0, 0));
      store = await makeStore(clock);
    });

    afterEach(async () => {
      await store.close();
    });

    describe('catalog', () => {
      it('starts empty and returns what replace stored', async () => {
        assert.deepEqual(store.catalog.snapshot(), { tenants: [], principals: [], scripts: [], versions: [], actions: [] });
        await store.catalog.replace(catalogFixture());
        assert.deepEqual(store.catalog.snapshot(), catalogFixture());
        assert.equal(store.catalog.getTenant('hamburg')?.parent, 'contoso');
        assert.equal(store.catalog.getPrincipal('casey')?.roles[0], 'cyber-admin');
        assert.equal(store.catalog.getScript('disk-usage')?.status, 'approved');
        assert.equal(store.catalog.getVersion('a'.repeat(64))?.scriptId, 'disk-usage');
        assert.equal(store.catalog.getAction('disk-usage')?.title, 'Disk usage');
        assert.deepEqual(store.catalog.listActions().map((action) => action.id), ['disk-usage']);
        assert.equal(store.catalog.getPrincipal('nobody'), undefined);
      });

      it('finds principals by each kind of chat identity', async () => {
        await store.catalog.replace(catalogFixture());
        assert.equal(store.catalog.findPrincipalByIdentity({ channel: 'webchat', persona: 'casey' })?.id, 'casey');
        assert.equal(store.catalog.findPrincipalByIdentity({ channel: 'slack', teamId: 'T1', userId: 'U1' })?.id, 'alex');
        assert.equal(store.catalog.findPrincipalByIdentity({ channel: 'slack', teamId: 'T1', userId: 'U2' })?.id, 'casey');
        // Teams ids are GUIDs: the same identity in another letter case is the same person.
        const teams = { channel: 'teams', tenantId: '6f1c2d3e-0000-4000-8000-00000000aaaa', aadObjectId: '0B5E9F00-1111-4111-8111-00000000BBBB' } as const;
        assert.equal(store.catalog.findPrincipalByIdentity(teams)?.id, 'alex');
        assert.equal(store.catalog.findPrincipalByIdentity({ channel: 'slack', teamId: 'T2', userId: 'U1' }), undefined);
        assert.equal(store.catalog.findPrincipalByIdentity({ channel: 'webchat', persona: 'mallory' }), undefined);
      });

      it('rebuilds the identity index on replace', async () => {
        await store.catalog.replace(catalogFixture());
        const next = catalogFixture();
        next.principals = next.principals.filter((principal) => principal.id !== 'alex');
        next.principals[0]!.identities.webchat = 'alex';
        await store.catalog.replace(next);
        assert.equal(store.catalog.findPrincipalByIdentity({ channel: 'slack', teamId: 'T1', userId: 'U1' }), undefined);
        assert.equal(store.catalog.findPrincipalByIdentity({ channel: 'webchat', persona: 'alex' })?.id, 'casey');
        assert.equal(store.catalog.findPrincipalByIdentity({ channel: 'webchat', persona: 'casey' }), undefined);
      });

      it('refuses a catalog where two principals share an identity, keeping the previous one', async () => {
        await store.catalog.replace(catalogFixture());
        const clash = catalogFixture();
        clash.principals[1]!.identities.slack = { teamId: 'T1', userId: 'U1' };
        await assert.rejects(store.catalog.replace(clash), rejectsWithCode('DEPUTY_E_CATALOG_INVALID'));
        assert.equal(store.catalog.findPrincipalByIdentity({ channel: 'slack', teamId: 'T1', userId: 'U2' })?.id, 'casey');
      });

      it('refuses duplicate ids and invalid records', async () => {
        const duplicate = catalogFixture();
        duplicate.tenants.push({ id: 'contoso', name: 'Again' });
        await assert.rejects(store.catalog.replace(duplicate), rejectsWithCode('DEPUTY_E_CATALOG_INVALID'));
        const invalid = catalogFixture();
        invalid.tenants[0]!.id = '../etc';
        await assert.rejects(store.catalog.replace(invalid), rejectsWithCode('DEPUTY_E_CATALOG_INVALID'));
        assert.deepEqual(store.catalog.snapshot().tenants, []);
      });

      it('hands out copies, so a caller cannot change the store by editing a record', async () => {
        await store.catalog.replace(catalogFixture());
        store.catalog.snapshot().principals[0]!.roles.push('company-admin');
        store.catalog.getPrincipal('alex')!.roles.push('company-admin');
        assert.deepEqual(store.catalog.getPrincipal('alex')?.roles, ['administrator']);
      });
    });

    describe('runs', () => {
      it('returns the latest record of a run', async () => {
        await store.runs.put(runFixture('run_1'));
        assert.equal(store.runs.get('run_1')?.state, 'queued');
        await store.runs.put(runFixture('run_1', { state: 'running', startedAt: '2026-01-01T00:00:01.000Z' }));
        await store.runs.put(runFixture('run_1', { state: 'succeeded', durationMs: 42 }));
        assert.equal(store.runs.get('run_1')?.state, 'succeeded');
        assert.equal(store.runs.get('run_1')?.durationMs, 42);
        assert.equal(store.runs.get('run_2'), undefined);
      });

      it('lists newest first, with principal and state filters and a limit', async () => {
        await store.runs.put(runFixture('run_1', { principalId: 'alex', state: 'succeeded' }));
        await store.runs.put(runFixture('run_2', { principalId: 'casey', state: 'failed' }));
        await store.runs.put(runFixture('run_3', { principalId: 'alex', state: 'queued' }));
        await store.runs.put(runFixture('run_4', { principalId: 'alex', state: 'succeeded' }));
        // A later state change does not move a run in the order: it is ordered by creation.
        await store.runs.put(runFixture('run_1', { principalId: 'alex', state: 'succeeded', summary: undefined }));
        const ids = (filter: Parameters<Store['runs']['list']>[0]) => store.runs.list(filter).map((run) => run.id);
        assert.deepEqual(ids({ limit: 10 }), ['run_4', 'run_3', 'run_2', 'run_1']);
        assert.deepEqual(ids({ limit: 2 }), ['run_4', 'run_3']);
        assert.deepEqual(ids({ limit: 10, principal: 'alex' }), ['run_4', 'run_3', 'run_1']);
        assert.deepEqual(ids({ limit: 10, principal: 'casey' }), ['run_2']);
        assert.deepEqual(ids({ limit: 10, state: 'succeeded' }), ['run_4', 'run_1']);
        assert.deepEqual(ids({ limit: 10, state: 'queued' }), ['run_3']);
        assert.deepEqual(ids({ limit: 10, state: 'queued', principal: 'casey' }), []);
        assert.deepEqual(ids({ limit: 1, principal: 'alex', state: 'succeeded' }), ['run_4']);
        assert.deepEqual(ids({ limit: 0 }), []);
        assert.deepEqual(ids({ limit: 10, principal: 'nobody' }), []);
      });

      it('filters on the current state, not on a state the run has left', async () => {
        await store.runs.put(runFixture('run_1', { state: 'queued' }));
        await store.runs.put(runFixture('run_1', { state: 'running' }));
        assert.deepEqual(store.runs.list({ limit: 10, state: 'queued' }), []);
        assert.deepEqual(store.runs.list({ limit: 10, state: 'running' }).map((run) => run.id), ['run_1']);
      });

      it('lists unfinished runs oldest first, for recovery', async () => {
        for (const [index, state] of RUN_STATES.entries()) await store.runs.put(runFixture(`run_${index}`, { state }));
        assert.deepEqual(
          store.runs.unfinished().map((run) => `${run.id}:${run.state}`),
          ['run_0:requested', 'run_1:awaiting-approval', 'run_2:queued', 'run_3:running'],
        );
        await store.runs.put(runFixture('run_2', { state: 'running' }));
        await store.runs.put(runFixture('run_0', { state: 'rejected' }));
        assert.deepEqual(store.runs.unfinished().map((run) => run.id), ['run_1', 'run_2', 'run_3']);
      });

      it('refuses a run id that could name a path, and an invalid record', async () => {
        for (const id of ['../escape', 'a/b', '.hidden', 'a\\b', '', 'x'.repeat(200)]) {
          await assert.rejects(store.runs.put(runFixture(id)), rejectsWithCode('DEPUTY_E_BAD_REQUEST'), id);
        }
        await assert.rejects(store.runs.put({ ...runFixture('run_1'), state: 'exploded' as never }), rejectsWithCode('DEPUTY_E_INTERNAL'));
        assert.deepEqual(store.runs.list({ limit: 10 }), []);
      });

      it('hands out copies of runs', async () => {
        await store.runs.put(runFixture('run_1'));
        const copy = store.runs.get('run_1')!;
        copy.state = 'succeeded';
        store.runs.list({ limit: 1 })[0]!.state = 'failed';
        assert.equal(store.runs.get('run_1')?.state, 'queued');
      });

      it('keeps all of 200 concurrent puts', async () => {
        const ids = Array.from({ length: 200 }, (_, index) => `run_${index}`);
        await Promise.all(ids.map((id, index) => store.runs.put(runFixture(id, { principalId: index % 2 ? 'alex' : 'casey' }))));
        for (const id of ids) assert.equal(store.runs.get(id)?.id, id);
        assert.equal(store.runs.list({ limit: 1000 }).length, 200);
        assert.equal(store.runs.list({ limit: 1000, principal: 'alex' }).length, 100);
        assert.equal(store.runs.unfinished().length, 200);
      });

      it('stores and returns a run output', async () => {
        const records = [
          { stream: 'output' as const, text: 'Name Used', data: { Name: 'C', Used: 12 } },
          { stream: 'warning' as const, text: 'disk "almost" full\nsecond line' },
          { stream: 'error' as const, text: 'ünïcode ✓' },
        ];
        await store.runs.writeOutput('run_1', records);
        assert.deepEqual(await store.runs.readOutput('run_1'), records);
        assert.deepEqual(await store.runs.readOutput('run_unknown'), []);
        await assert.rejects(store.runs.writeOutput('../../etc/passwd', records), rejectsWithCode('DEPUTY_E_BAD_REQUEST'));
        await assert.rejects(store.runs.readOutput('../runs'), rejectsWithCode('DEPUTY_E_BAD_REQUEST'));
      });
    });

    describe('audit', () => {
      const input = (n: number) => ({ type: 'run.create', outcome: 'allowed' as const, correlationId: `corr-${n}`, actor: 'alex', subject: `run_${n}`, detail: { n } });

      it('chains entries from the genesis value, stamped by the clock', async () => {
        const first = await store.audit.append(input(1));
        clock.advance(1500);
        const second = await store.audit.append({ type: 'identity.resolve', outcome: 'denied', correlationId: 'c2' });
        assert.equal(first.seq, 1);
        assert.equal(first.prevHash, GENESIS_HASH);
        assert.match(first.hash, /^[0-9a-f]{64}$/);
        assert.equal(first.at, '2026-03-01T09:00:00.000Z');
        assert.equal(second.seq, 2);
        assert.equal(second.prevHash, first.hash);
        assert.equal(second.at, '2026-03-01T09:00:01.500Z');
        assert.deepEqual(second.detail, {});
        assert.deepEqual(await store.audit.verify(), { ok: true, count: 2 });
        assert.deepEqual(await store.audit.read(), [first, second]);
      });

      it('verifies an empty log', async () => {
        assert.deepEqual(await store.audit.verify(), { ok: true, count: 0 });
      });

      it('refuses an invalid entry without breaking the chain', async () => {
        await store.audit.append(input(1));
        await assert.rejects(store.audit.append({ ...input(2), outcome: 'maybe' as never }), rejectsWithCode('DEPUTY_E_INTERNAL'));
        const circular: Record<string, unknown> = {};
        circular.self = circular;
        await assert.rejects(store.audit.append({ ...input(2), detail: circular }), rejectsWithCode('DEPUTY_E_INTERNAL'));
        const next = await store.audit.append(input(3));
        assert.equal(next.seq, 2);
        assert.deepEqual(await store.audit.verify(), { ok: true, count: 2 });
      });

      it('makes one valid chain of concurrent appends', async () => {
        const entries = await Promise.all(Array.from({ length: 100 }, (_, index) => store.audit.append(input(index))));
        assert.deepEqual(
          entries.map((entry) => entry.seq),
          Array.from({ length: 100 }, (_, index) => index + 1),
        );
        for (let index = 1; index < entries.length; index += 1) assert.equal(entries[index]!.prevHash, entries[index - 1]!.hash);
        assert.deepEqual(await store.audit.verify(), { ok: true, count: 100 });
      });

      it('reads a tail, or pages forward from a seq', async () => {
        for (let n = 1; n <= 7; n += 1) await store.audit.append(input(n));
        const seqs = async (options?: { sinceSeq?: number; limit?: number }) => (await store.audit.read(options)).map((entry) => entry.seq);
        assert.deepEqual(await seqs(), [1, 2, 3, 4, 5, 6, 7]);
        assert.deepEqual(await seqs({ limit: 3 }), [5, 6, 7]);
        assert.deepEqual(await seqs({ sinceSeq: 2, limit: 3 }), [3, 4, 5]);
        assert.deepEqual(await seqs({ sinceSeq: 5 }), [6, 7]);
        assert.deepEqual(await seqs({ sinceSeq: 7 }), []);
        assert.deepEqual(await seqs({ limit: 0 }), []);
      });
    });
  });
}
