/**
 * Targets through the whole executor: the catalog names target systems (two real sshd daemons
 * on loopback stand in for web-01 and web-02), the REST API offers them as form choices and
 * takes `target` on runs, the policy keeps tenants and a User's own machine apart, the four-eyes
 * binding covers the target, a changed host key is refused and audited, an unreachable target
 * fails with its reason, and a plan runs on two targets.
 */
import assert from 'node:assert/strict';
import { TARGET_FIELD, type ActionView, type RunView } from '../../../executor/contract/index.ts';
import { ManualClock } from '../../../lib/clock.ts';
import { startTestExecutor, type TestExecutor } from '../../helpers/executor.ts';
import { startTargetFleet, type TargetFleet } from '../../helpers/targets.ts';
import { eventually, processGone } from '../pwsh/helpers.ts';

describe('targets: actions on target systems through the executor (real sshd, real pwsh)', function () {
  this.timeout(180_000);
  const clock = new ManualClock(Date.UTC(2026, 0, 1, 2, 0, 0));
  let fleet: TargetFleet;
  let executor: TestExecutor;

  const post = async (body: Record<string, unknown>) => executor.api('/v1/runs', { method: 'POST', json: { origin: { kind: 'api' }, inputs: {}, ...body } });
  const runOf = async (body: Record<string, unknown>): Promise<RunView> => {
    const response = await post(body);
    assert.equal(response.status, 202, await response.clone().text());
    const { id } = (await response.json()) as { id: string };
    return executor.waitForRun(id, 90_000);
  };
  const errorOf = async (response: Response) => ((await response.json()) as { error: { code: string; fields?: Record<string, string> } }).error;

  before(async () => {
    fleet = await startTargetFleet(clock);
    executor = await startTestExecutor({ catalog: fleet.folder, dataDir: fleet.dataDir, clock, config: { planTickMs: 0 } });
  });

  after(async () => {
    await executor?.close();
    await fleet?.cleanup();
  });

  const actionsOf = async (principal: string): Promise<ActionView[]> => ((await (await executor.api(`/v1/actions?principal=${principal}`)).json()) as { actions: ActionView[] }).actions;

  it('offers each principal the targets they may use as the form\'s target field', async () => {
    const alex = await actionsOf('alex');
    const web = alex.find((action) => action.id === 'greet-web');
    assert.deepEqual(web?.targets?.map((target) => target.id), ['web-01', 'web-02', 'web-moved', 'web-down'], 'not munich-01: sideways of Hamburg');
    const field = web?.form.fields[0];
    assert.equal(field?.name, TARGET_FIELD);
    assert.equal(field?.kind, 'multi');
    assert.deepEqual(field?.choices, ['web-01', 'web-02', 'web-moved', 'web-down']);
    assert.match(field?.hint ?? '', /web-01: Machine web-01/);

    const uma = await actionsOf('uma');
    assert.deepEqual(uma.map((action) => action.id), ['greet-own'], 'a User sees only actions with a machine of their own');
    const own = uma[0]?.form.fields[0];
    assert.deepEqual([own?.kind, own?.choices, own?.default], ['choice', ['uma-laptop'], 'uma-laptop']);

    const max = await actionsOf('max');
    assert.deepEqual(max.find((action) => action.id === 'greet-web')?.targets?.map((target) => target.id), ['munich-01']);
  });

  it('runs an action on the target named, and the run carries it', async () => {
    const run = await runOf({ actionId: 'greet-web', principalId: 'alex', target: 'web-01', inputs: { Greeting: 'moin' } });
    assert.equal(run.state, 'succeeded', JSON.stringify(run));
    assert.equal(run.target, 'web-01');
    assert.deepEqual(run.targets, [{ id: 'web-01', name: 'Machine web-01' }]);
    assert.match(run.summary?.lines[0] ?? '', /^moin from pid \d+$/);
    assert.deepEqual(run.summary?.targets?.map((line) => [line.id, line.outcome]), [['web-01', 'succeeded']]);
    const request = (await executor.store.audit.read({ limit: 10_000 })).find((entry) => entry.type === 'run.request' && entry.detail.runId === run.id);
    assert.deepEqual(request?.detail.targets, ['web-01']);
  });

  it('runs one request on several targets, one summary line per target', async () => {
    const run = await runOf({ actionId: 'greet-web', principalId: 'alex', target: ['web-01', 'web-02'] });
    assert.equal(run.state, 'succeeded', JSON.stringify(run));
    assert.equal(run.target, undefined);
    assert.deepEqual(run.summary?.targets?.map((line) => [line.id, line.outcome]), [['web-01', 'succeeded'], ['web-02', 'succeeded']]);
    assert.ok(run.summary?.targets?.every((line) => /^hello from pid \d+$/.test(line.line)));
    const streams = ((await (await executor.operatorApi(`/v1/runs/${run.id}`)).json()) as RunView).streams ?? [];
    assert.deepEqual(streams.map((record) => record.text.split(' ')[0]).sort(), ['[web-01]', '[web-02]']);
  });

  it('keeps tenants apart: a target sideways is not even acknowledged', async () => {
    const response = await post({ actionId: 'greet-web', principalId: 'max', target: 'web-01' });
    assert.equal(response.status, 404);
    assert.equal((await errorOf(response)).code, 'DEPUTY_E_NOT_FOUND');
  });

  it('lets a User run on their own machine and on no one else\'s', async () => {
    const own = await runOf({ actionId: 'greet-own', principalId: 'uma', target: 'uma-laptop' });
    assert.equal(own.state, 'succeeded', JSON.stringify(own));
    const foreign = await post({ actionId: 'greet-own', principalId: 'uma', target: 'web-01' });
    assert.equal(foreign.status, 403);
    const denied = (await executor.store.audit.read({ limit: 10_000 })).filter((entry) => entry.type === 'run.request' && entry.actor === 'uma' && entry.outcome === 'denied');
    assert.deepEqual(denied.at(-1)?.detail.targets, ['web-01']);
  });

  it('asks for a target on the form when none was chosen', async () => {
    const response = await post({ actionId: 'greet-web', principalId: 'alex' });
    assert.equal(response.status, 400);
    const error = await errorOf(response);
    assert.equal(error.code, 'DEPUTY_E_VALIDATION');
    assert.ok(error.fields?.[TARGET_FIELD]);
  });

  it('binds a four-eyes approval to its target: the approved run runs there, a changed target is refused', async () => {
    const response = await post({ actionId: 'greet-careful', principalId: 'alex', target: 'web-01' });
    const { id } = (await response.json()) as { id: string };
    const waiting = (await executor.store.runs.get(id));
    assert.equal(waiting?.state, 'awaiting-approval');
    // Someone changes the stored request's target behind the approver's back.
    await executor.store.runs.transition(id, 'awaiting-approval', { ...(waiting as NonNullable<typeof waiting>), targets: [{ id: 'web-02', name: 'Machine web-02' }] });
    const tampered = await executor.api(`/v1/runs/${id}/decision`, { method: 'POST', json: { principalId: 'bob', decision: 'approve' } });
    assert.equal(tampered.status, 409);
    await executor.store.runs.transition(id, 'awaiting-approval', waiting as NonNullable<typeof waiting>);
    const approved = await executor.api(`/v1/runs/${id}/decision`, { method: 'POST', json: { principalId: 'bob', decision: 'approve' } });
    assert.equal(approved.status, 200);
    const run = await executor.waitForRun(id, 90_000);
    assert.equal(run.state, 'succeeded');
    assert.deepEqual(run.summary?.targets?.map((line) => line.id), ['web-01']);
  });

  it('refuses a target whose host key changed, and audits it', async () => {
    const run = await runOf({ actionId: 'greet-web', principalId: 'alex', target: 'web-moved' });
    assert.equal(run.state, 'failed');
    assert.deepEqual(run.error, { code: 'DEPUTY_E_TARGET_REFUSED', message: 'web-moved: host key mismatch' });
    const entry = (await executor.store.audit.read({ limit: 10_000 })).find((candidate) => candidate.type === 'target.host-key' && candidate.detail.runId === run.id);
    assert.equal(entry?.outcome, 'denied');
    assert.equal(entry?.subject, 'web-moved');
    assert.match(String(entry?.detail.presented), /^SHA256:/);
    assert.equal((await executor.store.audit.verify()).ok, true);
  });

  it('fails a run on an unreachable target with the reason, and the others still run', async () => {
    const run = await runOf({ actionId: 'greet-web', principalId: 'alex', target: ['web-down', 'web-02'] });
    assert.equal(run.state, 'failed');
    assert.deepEqual(run.summary?.targets?.map((line) => [line.id, line.outcome, line.id === 'web-down' ? line.line : 'ran']), [
      ['web-down', 'failed', 'web-down: connection refused'],
      ['web-02', 'succeeded', 'ran'],
    ]);
  });

  it('times a run out on its target and ends the remote pwsh', async () => {
    const run = await runOf({ actionId: 'slow-web', principalId: 'alex', target: 'web-01' });
    assert.equal(run.state, 'timed-out');
    const streams = ((await (await executor.operatorApi(`/v1/runs/${run.id}`)).json()) as RunView).streams ?? [];
    const pid = Number(/pid=(\d+)/.exec(streams.map((record) => record.text).join('\n'))?.[1]);
    assert.ok(pid > 0);
    assert.ok(await eventually(() => processGone(pid), 10_000));
  });

  it('fires a plan on its two targets as one run with a line per target', async () => {
    await executor.plans.scheduler.tick(); // first sight of the plan
    clock.set(Date.UTC(2026, 0, 1, 3, 0, 0));
    await executor.plans.scheduler.tick();
    await executor.runs.idle();
    const { runs } = (await (await executor.operatorApi('/v1/runs?limit=100')).json()) as { runs: RunView[] };
    const fired = runs.filter((run) => run.origin.kind === 'schedule');
    assert.equal(fired.length, 1);
    assert.equal(fired[0]?.state, 'succeeded', JSON.stringify(fired[0]));
    assert.deepEqual(fired[0]?.summary?.targets?.map((line) => [line.id, line.line.split(' ')[0]]), [['web-01', 'night'], ['web-02', 'night']]);
  });
});
