import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { ErrorBodySchema, type RunView } from '../../../executor/contract/index.ts';
import type { PlanView } from '../../../executor/plans/index.ts';
import { ManualClock } from '../../../lib/clock.ts';
import { startTestExecutor, type TestExecutor } from '../../helpers/executor.ts';
import { postHook, prepareAutomationCatalog, type AutomationCatalog } from '../connectors/fixture.ts';

describe('connector-triggered plans: a signed POST /v1/hooks/<id> starts the plan (real executor, real pwsh)', function () {
  this.timeout(60_000);
  const clock = new ManualClock(Date.UTC(2026, 3, 1, 8, 0, 0));
  let catalog: AutomationCatalog;
  let executor: TestExecutor;
  const hook = (payload: unknown, idempotencyKey?: string) => postHook(executor, clock, catalog.hookKey, 'itsm', payload, idempotencyKey ? { idempotencyKey } : {});
  const planCommand = (command: string) => executor.operatorApi(`/v1/plans/itsm-echo/${command}`, { method: 'POST', json: { principalId: 'alex' } });
  const payload = (title: string, count: number) => ({ incident: { title, hosts: [{}, { count }] } });

  before(async () => {
    catalog = prepareAutomationCatalog();
    const file = join(catalog.folder, 'catalog.yaml');
    const document = parse(readFileSync(file, 'utf8')) as { plans: Record<string, unknown>[] };
    // Times is fixed by the plan; the payload fills Message (the connector's mapping gives both).
    document.plans.push({ id: 'itsm-echo', principal: 'alex', action: 'echo', inputs: { Times: 2 }, trigger: { connector: 'itsm' } });
    writeFileSync(file, stringify(document));
    executor = await startTestExecutor({ catalog: catalog.folder, clock, config: { planTickMs: 0 } });
  });
  after(async () => {
    await executor?.dispose();
    catalog?.cleanup();
  });

  it('runs the plan action as the plan principal, plan inputs fixed and the payload filling the rest', async () => {
    const response = await hook(payload('disk full', 5));
    assert.equal(response.status, 202, await response.clone().text());
    const answer = (await response.json()) as { id: string; correlationId: string };
    const run = await executor.waitForRun(answer.id);
    assert.equal(run.state, 'succeeded');
    assert.equal(run.principalId, 'alex', 'the plan principal, not the connector one');
    assert.deepEqual(run.inputs, { Message: 'disk full', Times: 2 });
    assert.deepEqual(run.origin, { kind: 'schedule', conversationId: 'itsm-echo', messageId: 'connector:itsm' });
    assert.deepEqual(run.summary?.lines, ['disk full', 'disk full']);
    const audit = await executor.store.audit.read({ limit: 10_000 });
    assert.equal(audit.find((entry) => entry.type === 'run.request' && entry.detail.runId === answer.id)?.via, 'plan:itsm-echo');
    assert.equal(audit.find((entry) => entry.type === 'plan.trigger' && entry.detail.runId === answer.id)?.outcome, 'allowed');
    assert.equal(audit.find((entry) => entry.type === 'hook.request' && entry.detail.runId === answer.id)?.outcome, 'allowed');
    const { plans } = (await (await executor.operatorApi('/v1/plans?principal=alex')).json()) as { plans: PlanView[] };
    const view = plans.find((plan) => plan.id === 'itsm-echo');
    assert.deepEqual(view?.trigger, { connector: 'itsm' });
    assert.equal(view?.lastFiredAt, new Date(clock.now()).toISOString());
  });

  it('a repeated Idempotency-Key answers the first plan run', async () => {
    const first = (await (await hook(payload('once', 1), 'INC-77')).json()) as { id: string };
    const again = await hook(payload('once', 1), 'INC-77');
    assert.equal(again.headers.get('idempotent-replayed'), 'true');
    assert.equal(((await again.json()) as { id: string }).id, first.id);
  });

  it('refuses hooks while the plan is disabled (nothing runs as the connector instead), runs again once enabled, never after revoke', async () => {
    const runsNow = async () => ((await (await executor.operatorApi('/v1/runs?limit=500')).json()) as { runs: RunView[] }).runs.length;
    assert.equal((await planCommand('disable')).status, 200);
    const before = await runsNow();
    const disabled = await hook(payload('while disabled', 1));
    assert.equal(disabled.status, 409);
    const body = ErrorBodySchema.parse(await disabled.json());
    assert.equal(body.error.code, 'DEPUTY_E_CONFLICT');
    assert.equal(body.error.message, 'The plan this connector triggers is disabled.');
    assert.equal(await runsNow(), before);

    assert.equal((await planCommand('enable')).status, 200);
    const enabled = await hook(payload('enabled again', 1));
    assert.equal(enabled.status, 202);
    await executor.waitForRun(((await enabled.json()) as { id: string }).id);

    assert.equal((await planCommand('revoke')).status, 200);
    const revoked = await hook(payload('after revoke', 1));
    assert.equal(revoked.status, 409);
    assert.equal(ErrorBodySchema.parse(await revoked.json()).error.message, 'The plan this connector triggers is revoked.');
    const denials = (await executor.store.audit.read({ limit: 10_000 })).filter((entry) => entry.type === 'plan.trigger' && entry.outcome === 'denied');
    assert.deepEqual(denials.map((entry) => entry.detail.reason), ['disabled', 'revoked']);
  });

  it('leaves the connector\'s other actions alone: a connector without a plan for the action runs as its own principal', async () => {
    const response = await postHook(executor, clock, catalog.hookKey, 'calling-back', { text: 'not a plan' });
    assert.equal(response.status, 202);
    const run = await executor.waitForRun(((await response.json()) as { id: string }).id);
    assert.equal(run.principalId, 'hook-bot');
    assert.deepEqual(run.origin, { kind: 'connector', conversationId: 'calling-back' });
  });
});
