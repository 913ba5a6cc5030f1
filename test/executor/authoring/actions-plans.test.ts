/**
 * Actions and scripting plans authored through the REST API (real restify, real pwsh, file
 * store): who may create, change and delete them (the table's plan cells, the tenant tree, and
 * actions for Cyber and Company administrators only), what makes a definition valid, and that
 * a plan's own commands (run, apply) obey the same rights.
 */
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { ErrorBodySchema, PlanResponseSchema, type PlanView, type ScriptStatus } from '../../../executor/contract/index.ts';
import type { Action } from '../../../executor/domain.ts';
import { startTestExecutor, type TestExecutor } from '../../helpers/executor.ts';
import { ROLE_ACTORS, writeAuthoringCatalog, type RoleActor } from './catalog.ts';

const TENANTS = [
  { relation: 'own', tenant: 'hamburg' },
  { relation: 'child', tenant: 'hamburg-lab' },
  { relation: 'parent', tenant: 'contoso' },
  { relation: 'sideways', tenant: 'munich' },
] as const;

const isAdmin = (actor: RoleActor) => actor.role === 'company-admin' || actor.role === 'cyber-admin';

async function errorOf(response: Response) {
  return ErrorBodySchema.parse(await response.json()).error;
}

describe('actions and plans authored over REST', function () {
  this.timeout(120_000);
  let executor: TestExecutor;
  let folder: string;
  let cell = 0;

  before(async () => {
    folder = writeAuthoringCatalog();
    executor = await startTestExecutor({ catalog: folder, config: { planTickMs: 0 } });
  });
  after(async () => {
    await executor.dispose();
    rmSync(folder, { recursive: true, force: true });
  });

  const post = (path: string, json: unknown) => executor.api(path, { method: 'POST', json });
  const put = (path: string, json: unknown) => executor.api(path, { method: 'PUT', json });
  const del = (path: string) => executor.api(path, { method: 'DELETE' });
  const lastAudit = async () => (await executor.store.audit.read({ limit: 1 }))[0];

  async function arrangeEcho(status: ScriptStatus): Promise<void> {
    const snapshot = executor.store.catalog.snapshot();
    await executor.store.catalog.replace({
      ...snapshot,
      scripts: snapshot.scripts.map((script) => (script.id === 'echo' ? { ...script, status, approvedHash: status === 'approved' ? script.currentHash : undefined } : script)),
    });
  }

  describe('actions: Cyber and Company administrators of the action’s tenant', () => {
    for (const actor of ROLE_ACTORS) {
      for (const where of TENANTS) {
        const want =
          where.relation === 'sideways' ? { status: 404, code: 'DEPUTY_E_NOT_FOUND' }
          : !isAdmin(actor) || where.relation === 'parent' ? { status: 403, code: 'DEPUTY_E_FORBIDDEN' }
          : { status: 201 };
        it(`create: ${actor.id} (${actor.role}) an action in the ${where.relation} tenant ${where.tenant} → ${want.code ?? want.status}`, async () => {
          const id = `action-${++cell}`;
          const response = await post('/v1/actions', { principalId: actor.id, id, tenant: where.tenant, script: 'central-tool', title: `Action ${cell}`, runAs: 'pool', allow: { roles: ['administrator'] } });
          assert.equal(response.status, want.status, await response.clone().text());
          if (want.code) assert.equal((await errorOf(response)).code, want.code);
          assert.equal(executor.store.catalog.getAction(id) !== undefined, !want.code);
          const audit = await lastAudit();
          assert.equal(audit?.type, 'action.create');
          assert.equal(audit?.outcome, want.code ? 'denied' : 'allowed');
        });
      }
    }

    it('says why an Administrator is refused', async () => {
      const response = await post('/v1/actions', { principalId: 'adam', id: 'adams-action', script: 'echo', title: 'Mine', runAs: 'pool', allow: { roles: ['administrator'] } });
      assert.equal((await errorOf(response)).message, 'Only cyber and company administrators create, change or delete actions.');
    });

    it('checks the entry as the catalog import does, field by field', async () => {
      const response = await post('/v1/actions', {
        principalId: 'hana',
        id: 'bad-action',
        script: 'echo',
        title: 'Bad',
        runAs: 'pool',
        fixed: { Nope: 1 },
        ask: [],
        allow: { roles: ['administrator'], principals: ['ghost'] },
      });
      assert.equal(response.status, 400);
      const error = await errorOf(response);
      assert.equal(error.code, 'DEPUTY_E_VALIDATION');
      assert.deepEqual(Object.keys(error.fields ?? {}).sort(), ['allow.principals[0]', 'ask', 'fixed.Nope']);
      assert.match(error.fields?.['fixed.Nope'] ?? '', /no parameter "Nope"/);
      assert.match(error.fields?.ask ?? '', /Message/);
    });

    it('a central script gets a local action in the admin’s own tenant; changed and deleted by its tenant’s admins only', async () => {
      const created = await post('/v1/actions', { principalId: 'hana', id: 'local-central', script: 'central-tool', title: 'Central tool, Hamburg', runAs: 'pool', allow: { roles: ['administrator'] } });
      assert.equal(created.status, 201, await created.clone().text());
      assert.equal(((await created.json()) as { action: Action }).action.tenant, 'hamburg', 'the script is from above, so the action is the admin’s own');
      const byOther = await put('/v1/actions/local-central', { principalId: 'milo', script: 'central-tool', title: 'Renamed', runAs: 'pool', allow: { roles: ['administrator'] } });
      assert.equal(byOther.status, 404, 'a sibling tenant’s admin does not even see it');
      const renamed = await put('/v1/actions/local-central', { principalId: 'hugo', script: 'central-tool', title: 'Renamed', runAs: 'pool', allow: { roles: ['administrator'] } });
      assert.equal(renamed.status, 200, await renamed.clone().text());
      assert.equal(executor.store.catalog.getAction('local-central')?.title, 'Renamed');
      assert.equal((await lastAudit())?.type, 'action.update');
      const plan = await post('/v1/plans', { principalId: 'adam', id: 'uses-local', action: 'local-central', schedule: '0 6 * * *' });
      assert.equal(plan.status, 201, await plan.clone().text());
      const refused = await del('/v1/actions/local-central?principal=hana');
      assert.equal(refused.status, 409);
      assert.match((await errorOf(refused)).message, /plan uses-local/);
      assert.equal((await del('/v1/plans/uses-local?principal=adam')).status, 200);
      assert.equal((await del('/v1/actions/local-central?principal=hana')).status, 200);
      assert.equal(executor.store.catalog.getAction('local-central'), undefined);
    });
  });

  describe('plans: the table’s plan cells, by the status of the script the action runs', () => {
    const planBody = (actor: RoleActor, id: string, tenant: string) => ({
      principalId: actor.id,
      id,
      tenant,
      action: 'echo-pinned',
      schedule: '*/15 * * * *',
      inputs: { Message: actor.role === 'user' ? 'uma-laptop' : 'hello' },
      ...(actor.role === 'user' ? { workloads: ['uma-laptop'] } : {}),
    });

    for (const actor of ROLE_ACTORS) {
      for (const status of ['testing', 'approved'] as const) {
        for (const where of TENANTS.filter((candidate) => candidate.relation !== 'child')) {
          // Admins create plans of Testing and Approved scripts; Administrator and User of Approved ones only.
          const want =
            where.relation === 'sideways' ? { status: 404, code: 'DEPUTY_E_NOT_FOUND' }
            : actor.role === 'read-only' || where.relation === 'parent' ? { status: 403, code: 'DEPUTY_E_FORBIDDEN' }
            : status === 'testing' && !isAdmin(actor) ? { status: 403, code: 'DEPUTY_E_FORBIDDEN' }
            : { status: 201 };
          it(`create: ${actor.id} (${actor.role}) a plan of a ${status} script in the ${where.relation} tenant → ${want.code ?? want.status}`, async () => {
            await arrangeEcho(status);
            const id = `plan-${++cell}`;
            const response = await post('/v1/plans', planBody(actor, id, where.tenant));
            assert.equal(response.status, want.status, await response.clone().text());
            const stored = executor.store.catalog.snapshot().plans?.find((plan) => plan.id === id);
            const audit = await lastAudit();
            assert.equal(audit?.type, 'plan.create');
            if (want.code) {
              assert.equal((await errorOf(response)).code, want.code);
              assert.equal(stored, undefined);
              assert.equal(audit?.outcome, 'denied');
              return;
            }
            const { plan } = PlanResponseSchema.parse(await response.json());
            assert.equal(plan.principalId, actor.id, 'a plan runs as whoever defined it');
            assert.equal(stored?.principal, actor.id);
            assert.equal(plan.status, status);
            assert.equal(audit?.outcome, 'allowed');
          });
        }
      }
    }

    it('a User’s plan must be applied to their own workloads only', async () => {
      await arrangeEcho('approved');
      const foreign = await post('/v1/plans', { principalId: 'uma', id: 'uma-foreign', action: 'echo', schedule: '0 8 * * *', inputs: { Message: 'uma-laptop' }, workloads: ['file-server'] });
      assert.equal(foreign.status, 403);
      assert.match((await errorOf(foreign)).message, /file-server is not yours/);
      const none = await post('/v1/plans', { principalId: 'uma', id: 'uma-none', action: 'echo', schedule: '0 8 * * *', inputs: { Message: 'uma-laptop' } });
      assert.match((await errorOf(none)).message, /name them as the targets/);
      const own = await post('/v1/plans', { principalId: 'uma', id: 'uma-own', action: 'echo', schedule: '0 8 * * *', inputs: { Message: 'uma-laptop' }, workloads: ['uma-laptop'] });
      assert.equal(own.status, 201, await own.clone().text());
      const applied = await post('/v1/plans/uma-own/apply', { principalId: 'uma', workloads: ['uma-laptop', 'file-server'] });
      assert.equal(applied.status, 403, 'apply obeys the same limit');
    });

    it('checks the schedule, the inputs and that its principal may run the action', async () => {
      await arrangeEcho('approved');
      const bad = await post('/v1/plans', { principalId: 'hana', id: 'bad-plan', action: 'echo', schedule: 'every day', inputs: {} });
      assert.equal(bad.status, 400);
      const error = await errorOf(bad);
      assert.deepEqual(Object.keys(error.fields ?? {}).sort(), ['inputs.Message', 'schedule']);
      const unknown = await post('/v1/plans', { principalId: 'hana', id: 'bad-plan', action: 'no-such-action', schedule: '0 1 * * *' });
      assert.match((await errorOf(unknown)).fields?.action ?? '', /no-such-action/);
    });

    it('a parent tenant’s plan is read-only below; its own tenant’s admins change it', async () => {
      const edit = { action: 'central-echo', schedule: '0 5 * * *' };
      for (const actor of ['hana', 'adam']) {
        const response = await put('/v1/plans/central-nightly', { principalId: actor, ...edit });
        assert.equal(response.status, 403, actor);
        assert.match((await errorOf(response)).message, /above yours|read-only/);
        assert.equal((await del(`/v1/plans/central-nightly?principal=${actor}`)).status, 403);
        assert.equal((await post('/v1/plans/central-nightly/run', { principalId: actor })).status, 403);
      }
      const plans = (await (await executor.api('/v1/plans?principal=hana')).json()) as { plans: PlanView[] };
      const central = plans.plans.find((plan) => plan.id === 'central-nightly');
      assert.equal(central?.fromTenantAbove, true);
      assert.deepEqual(central?.allowed, []);
      const changed = await put('/v1/plans/central-nightly', { principalId: 'cyra', ...edit });
      assert.equal(changed.status, 200, await changed.clone().text());
      assert.equal(PlanResponseSchema.parse(await changed.json()).plan.schedule, '0 5 * * *');
    });

    it('run starts the plan’s action now, as its principal', async () => {
      await arrangeEcho('approved');
      const created = await post('/v1/plans', { principalId: 'adam', id: 'run-me', action: 'echo', schedule: '0 0 1 1 *', inputs: { Message: 'now' } });
      assert.equal(created.status, 201, await created.clone().text());
      const response = await post('/v1/plans/run-me/run', { principalId: 'hana' });
      assert.equal(response.status, 202, await response.clone().text());
      const { runId } = (await response.json()) as PlanView;
      const run = await executor.waitForRun(runId as string);
      assert.equal(run.principalId, 'adam', 'the plan’s principal, not who pressed run');
      assert.equal(run.origin.conversationId, 'run-me');
      assert.deepEqual(run.summary?.lines, ['echo: now']);
      const audit = (await executor.store.audit.read({ limit: 50 })).find((entry) => entry.type === 'plan.run' && entry.subject === 'run-me');
      assert.equal(audit?.actor, 'hana');
      assert.equal(audit?.detail.runId, runId);
    });

    it('a plan of a Draft script: an Administrator may edit it, an admin only to take the Draft script out', async () => {
      await arrangeEcho('approved');
      assert.equal((await post('/v1/plans', { principalId: 'hugo', id: 'drafted', action: 'echo', schedule: '0 2 * * *', inputs: { Message: 'x' } })).status, 201);
      await arrangeEcho('draft');
      const same = await put('/v1/plans/drafted', { principalId: 'hugo', action: 'echo', schedule: '0 3 * * *', inputs: { Message: 'x' } });
      assert.equal(same.status, 403, 'admins do not edit a Draft plan, only take its Draft script out');
      const out = await put('/v1/plans/drafted', { principalId: 'hugo', action: 'central-echo', schedule: '0 3 * * *' });
      assert.equal(out.status, 200, await out.clone().text());
      assert.equal(executor.store.catalog.snapshot().plans?.find((plan) => plan.id === 'drafted')?.action, 'central-echo');

      await arrangeEcho('approved');
      assert.equal((await post('/v1/plans', { principalId: 'adam', id: 'adams-draft', action: 'echo', schedule: '0 2 * * *', inputs: { Message: 'x' } })).status, 201);
      await arrangeEcho('draft');
      const adams = await put('/v1/plans/adams-draft', { principalId: 'adam', action: 'echo', schedule: '30 2 * * *', inputs: { Message: 'x' } });
      assert.equal(adams.status, 200, await adams.clone().text());
      assert.equal(PlanResponseSchema.parse(await adams.json()).plan.status, 'draft');
      assert.equal((await del('/v1/plans/adams-draft?principal=adam')).status, 403, 'but the table does not let an Administrator delete a Draft plan');
    });
  });
});
