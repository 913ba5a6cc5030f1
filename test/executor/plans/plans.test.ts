import assert from 'node:assert/strict';
import { ErrorBodySchema, type RunView } from '../../../executor/contract/index.ts';
import type { PlanView } from '../../../executor/plans/index.ts';
import { ManualClock } from '../../../lib/clock.ts';
import { removeDataFolder, startTestExecutor, type TestExecutor } from '../../helpers/executor.ts';
import { prepareAutomationCatalog, type AutomationCatalog } from '../connectors/fixture.ts';

const MINUTE = 60_000;

describe('scripting plans (real executor, real pwsh, injected clock)', function () {
  this.timeout(90_000);
  let catalog: AutomationCatalog;
  before(() => {
    catalog = prepareAutomationCatalog();
  });
  after(() => catalog.cleanup());

  describe('scheduler', () => {
    const clock = new ManualClock(Date.UTC(2026, 0, 1, 0, 0, 30));
    let executor: TestExecutor;
    let dataDir: string;
    const start = async () => startTestExecutor({ catalog: catalog.folder, clock, config: { planTickMs: 0 }, ...(dataDir ? { dataDir } : {}) });
    const planRuns = async () => {
      const { runs } = (await (await executor.operatorApi('/v1/runs?limit=500')).json()) as { runs: RunView[] };
      return runs.filter((run) => run.origin.kind === 'schedule');
    };
    const tickAndSettle = async () => {
      await executor.plans.scheduler.tick();
      await executor.runs.idle();
    };

    before(async () => {
      executor = await start();
      dataDir = executor.dataDir;
    });
    after(async () => {
      await executor.close();
      removeDataFolder(dataDir);
    });

    it('fires a due plan once, as its principal, through the run service; disabled plans stay quiet', async () => {
      await tickAndSettle(); // first sight of each plan: nothing was due before now
      assert.equal((await planRuns()).length, 0);
      clock.set(Date.UTC(2026, 0, 1, 0, 5, 0));
      await tickAndSettle();
      await tickAndSettle();
      const runs = await planRuns();
      assert.equal(runs.length, 1, JSON.stringify(runs));
      const [run] = runs;
      assert.equal(run?.principalId, 'alex');
      assert.equal(run?.actionId, 'echo');
      assert.deepEqual(run?.origin, { kind: 'schedule', conversationId: 'five-minutes', messageId: '2026-01-01T00:05:00.000Z' });
      assert.equal(run?.state, 'succeeded');
      assert.deepEqual(run?.summary?.lines, ['tick']);
      assert.ok(!runs.some((candidate) => candidate.inputs.Message === 'never'), 'the disabled plan did not fire');
      const request = (await executor.store.audit.read({ limit: 10_000 })).find((entry) => entry.type === 'run.request' && entry.detail.runId === run?.id);
      assert.equal(request?.via, 'plan:five-minutes');
      clock.set(Date.UTC(2026, 0, 1, 0, 10, 0));
      await tickAndSettle();
      assert.equal((await planRuns()).length, 2);
    });

    it('never fires the same time twice across a restart', async () => {
      await executor.close();
      executor = await start();
      await tickAndSettle();
      assert.equal((await planRuns()).length, 2);
    });

    it('reports fire times missed during downtime once per plan (audit + event), runs none of them, then carries on', async () => {
      await executor.close();
      clock.set(Date.UTC(2026, 0, 1, 1, 2, 0)); // down from 00:10 to 01:02: 00:15 … 01:00 missed (10 times)
      executor = await start();
      const seqBefore = (await executor.events.since(0)).length;
      await tickAndSettle();
      assert.equal((await planRuns()).length, 2, 'no catch-up runs');
      const missed = (await executor.store.audit.read({ limit: 10_000 })).filter((entry) => entry.type === 'plan.missed');
      assert.equal(missed.length, 1);
      assert.equal(missed[0]?.subject, 'five-minutes');
      assert.deepEqual({ ...missed[0]?.detail }, { count: 10, first: '2026-01-01T00:15:00.000Z', last: '2026-01-01T01:00:00.000Z', action: 'echo' });
      const events = (await executor.events.since(0)).slice(seqBefore).filter((event) => event.type === 'plan.missed');
      assert.equal(events.length, 1);
      assert.deepEqual(events[0]?.type === 'plan.missed' ? events[0].missed : undefined, { count: 10, first: '2026-01-01T00:15:00.000Z', last: '2026-01-01T01:00:00.000Z' });
      await tickAndSettle();
      assert.equal((await executor.store.audit.read({ limit: 10_000 })).filter((entry) => entry.type === 'plan.missed').length, 1, 'reported once');
      clock.set(Date.UTC(2026, 0, 1, 1, 5, 10));
      await tickAndSettle();
      assert.equal((await planRuns()).length, 3, 'the schedule carries on');
    });

    it('a plan disabled through the API does not fire, and owes nothing when enabled again', async () => {
      const disable = await executor.operatorApi('/v1/plans/five-minutes/disable', { method: 'POST', json: { principalId: 'alex' } });
      assert.equal(disable.status, 200, await disable.clone().text());
      clock.set(Date.UTC(2026, 0, 1, 1, 30, 0));
      await tickAndSettle();
      assert.equal((await planRuns()).length, 3);
      const enable = await executor.operatorApi('/v1/plans/five-minutes/enable', { method: 'POST', json: { principalId: 'alex' } });
      assert.equal(((await enable.json()) as PlanView).nextRunAt, '2026-01-01T01:35:00.000Z');
      await tickAndSettle();
      assert.equal((await executor.store.audit.read({ limit: 10_000 })).filter((entry) => entry.type === 'plan.missed').length, 1, 'no missed report for the disabled time');
      clock.advance(5 * MINUTE);
      await tickAndSettle();
      assert.equal((await planRuns()).length, 4);
    });
  });

  describe('plan API and rights', () => {
    let executor: TestExecutor;
    before(async () => {
      executor = await startTestExecutor({ catalog: catalog.folder, config: { planTickMs: 0 } });
    });
    after(async () => executor.dispose());

    const list = async (principal: string) => {
      const response = await executor.operatorApi(`/v1/plans?principal=${principal}`);
      assert.equal(response.status, 200, await response.clone().text());
      return new Map(((await response.json()) as { plans: PlanView[] }).plans.map((plan) => [plan.id, plan]));
    };
    const command = (plan: string, verb: string, principalId: string) => executor.operatorApi(`/v1/plans/${plan}/${verb}`, { method: 'POST', json: { principalId } });
    const codeOf = async (response: Response) => ErrorBodySchema.parse(await response.json()).error.code;

    it('lists what each principal may view, with the commands they may give', async () => {
      const alex = await list('alex');
      assert.deepEqual([...alex.keys()].sort(), ['five-minutes', 'group-wide', 'nightly-echo', 'paused']);
      assert.deepEqual(alex.get('five-minutes')?.allowed, ['enable', 'disable', 'stop', 'revoke', 'run', 'apply', 'edit', 'delete']);
      assert.deepEqual(alex.get('group-wide')?.allowed, [], 'a plan applied from the parent tenant is read-only below');
      assert.equal(alex.get('paused')?.enabled, false);
      assert.equal(alex.get('five-minutes')?.status, 'approved');
      const rita = await list('rita');
      assert.deepEqual([...rita.keys()].sort(), ['five-minutes', 'group-wide', 'munich-plan', 'nightly-echo', 'paused']);
      assert.ok([...rita.values()].every((plan) => plan.allowed.length === 0), 'read-only administrators only view');
      const carl = await list('carl');
      assert.deepEqual(carl.get('group-wide')?.allowed, ['enable', 'disable', 'stop', 'revoke', 'run', 'apply', 'edit', 'delete']);
      assert.deepEqual([...(await list('max')).keys()].sort(), ['group-wide', 'munich-plan'], 'the parent tenant\'s plan, not a sibling\'s');
      const unknown = await executor.operatorApi('/v1/plans?principal=nobody');
      assert.equal(await codeOf(unknown), 'DEPUTY_E_NOT_ENROLLED');
    });

    it('checks every command with the plan rights and audits it', async () => {
      assert.equal(await codeOf(await command('group-wide', 'disable', 'alex')), 'DEPUTY_E_FORBIDDEN');
      assert.equal(await codeOf(await command('five-minutes', 'disable', 'rita')), 'DEPUTY_E_FORBIDDEN');
      assert.equal(await codeOf(await command('five-minutes', 'disable', 'max')), 'DEPUTY_E_NOT_FOUND');
      assert.equal(await codeOf(await command('no-such-plan', 'disable', 'alex')), 'DEPUTY_E_NOT_FOUND');
      assert.equal((await command('five-minutes', 'explode', 'alex')).status, 404);

      const disabled = await command('group-wide', 'disable', 'carl');
      assert.equal(disabled.status, 200);
      assert.equal(((await disabled.json()) as PlanView).enabled, false);
      assert.equal((await list('alex')).get('group-wide')?.enabled, false);

      const revoked = (await (await command('nightly-echo', 'revoke', 'alex')).json()) as PlanView;
      assert.equal(revoked.revoked, true);
      assert.equal(revoked.enabled, false);
      const again = await command('nightly-echo', 'enable', 'alex');
      assert.equal(again.status, 409);

      const audit = await executor.store.audit.read({ limit: 10_000 });
      assert.ok(audit.some((entry) => entry.type === 'plan.disable' && entry.outcome === 'denied' && entry.actor === 'rita'));
      assert.ok(audit.some((entry) => entry.type === 'plan.disable' && entry.outcome === 'allowed' && entry.actor === 'carl' && entry.subject === 'group-wide'));
      assert.ok(audit.some((entry) => entry.type === 'plan.revoke' && entry.outcome === 'allowed'));
      assert.ok(audit.some((entry) => entry.type === 'plan.enable' && entry.outcome === 'denied' && entry.detail.reason === 'revoked'));
    });

    it('needs the bearer token', async () => {
      assert.equal((await fetch(`${executor.url}/v1/plans?principal=alex`)).status, 401);
    });
  });
});
