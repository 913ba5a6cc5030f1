/**
 * Forms faithful to PowerShell, end to end through the real executor (restify on loopback, real
 * pwsh): parameter sets in the form and in the executor's checks, ScriptRunner's `$SRXEnv`, and
 * choices from queries with their policy, cascade, cache and the check at submit time.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ActionListSchema, ChoiceListSchema, ErrorBodySchema, type ActionView, type RunView } from '../../executor/contract/index.ts';
import { PROJECT_ROOT } from '../../executor/pwsh/locate.ts';
import { PARSER_VERSION } from '../../executor/pwsh/parameters.ts';
import { startTestExecutor, type TestExecutor } from '../helpers/executor.ts';

const CATALOG = join(PROJECT_ROOT, 'test', 'fixtures', 'forms-catalog');

async function actionsOf(executor: TestExecutor, principal: string): Promise<ActionView[]> {
  const response = await executor.api(`/v1/actions?principal=${principal}`);
  assert.equal(response.status, 200);
  return ActionListSchema.parse(await response.json()).actions;
}

async function choices(executor: TestExecutor, action: string, param: string, query: Record<string, string>) {
  const response = await executor.api(`/v1/actions/${action}/choices/${param}?${new URLSearchParams(query).toString()}`);
  const body: unknown = await response.json();
  return { status: response.status, body };
}

async function submit(executor: TestExecutor, body: Record<string, unknown>) {
  const response = await executor.api('/v1/runs', { method: 'POST', json: { origin: { kind: 'api' }, ...body } });
  return { status: response.status, body: (await response.json()) as unknown };
}

async function runToEnd(executor: TestExecutor, body: Record<string, unknown>): Promise<RunView> {
  const created = await submit(executor, body);
  assert.equal(created.status, 202, JSON.stringify(created.body));
  return executor.waitForRun((created.body as { id: string }).id);
}

function fieldsOf(body: unknown): Record<string, string> {
  return ErrorBodySchema.parse(body).error.fields ?? {};
}

async function queryRuns(executor: TestExecutor, query: string): Promise<number> {
  return (await executor.store.audit.read({ limit: 10_000 })).filter((entry) => entry.type === 'query.run' && entry.subject === query).length;
}

describe('forms faithful to PowerShell (real executor, real pwsh)', function () {
  this.timeout(120_000);
  let executor: TestExecutor;
  before(async () => (executor = await startTestExecutor({ catalog: CATALOG })));
  after(() => executor.dispose());

  describe('parameter sets', () => {
    it('offers the sets in the form, each with its fields and which it requires', async () => {
      const action = (await actionsOf(executor, 'alex')).find((candidate) => candidate.id === 'auto-reply');
      assert.deepEqual(action?.form.parameterSets, [
        { name: 'Enable', default: true, fields: [{ name: 'Mailbox', required: true }, { name: 'Message', required: true }] },
        { name: 'Disable', fields: [{ name: 'Mailbox', required: true }, { name: 'Disable', required: true }] },
        {
          name: 'Schedule',
          fields: [
            { name: 'Mailbox', required: true },
            { name: 'Message', required: true },
            { name: 'Start', required: true },
            { name: 'End', required: true },
          ],
        },
      ]);
      const required = Object.fromEntries(action?.form.fields.map((field) => [field.name, field.required]) ?? []);
      assert.deepEqual(required, { Mailbox: true, Disable: false, Message: false, Start: false, End: false });
      assert.equal(action?.form.fields.find((field) => field.name === 'Message')?.multiline, true);
    });

    it('a fixed value narrows the form to the sets that have it', async () => {
      const action = (await actionsOf(executor, 'alex')).find((candidate) => candidate.id === 'auto-reply-disable');
      assert.equal(action?.form.parameterSets, undefined);
      assert.deepEqual(action?.form.fields.map((field) => [field.name, field.required]), [['Mailbox', true]]);
      const run = await runToEnd(executor, { actionId: 'auto-reply-disable', principalId: 'alex', inputs: { Mailbox: 'a.b@contoso.example' } });
      assert.equal(run.state, 'succeeded');
      assert.equal(run.parameterSet, 'Disable');
      assert.equal(run.summary?.message, 'Automatic replies of a.b@contoso.example are off');
    });

    it('runs each set the way PowerShell binds it, and says which', async () => {
      const enable = await runToEnd(executor, { actionId: 'auto-reply', principalId: 'alex', inputs: { Mailbox: 'a.b@contoso.example', Message: 'Away' }, parameterSet: 'Enable' });
      assert.equal(enable.parameterSet, 'Enable');
      assert.deepEqual(enable.summary?.lines, ['set: Enable']);
      const schedule = await runToEnd(executor, {
        actionId: 'auto-reply',
        principalId: 'alex',
        inputs: { Mailbox: 'a.b@contoso.example', Message: 'Away', Start: '2026-04-01', End: '2026-04-10' },
        parameterSet: 'Schedule',
      });
      assert.deepEqual(schedule.summary?.lines, ['set: Schedule']);
      assert.equal(schedule.summary?.message, 'Automatic replies of a.b@contoso.example from 2026-04-01 to 2026-04-10: Away');
      const disable = await runToEnd(executor, { actionId: 'auto-reply', principalId: 'alex', inputs: { Mailbox: 'a.b@contoso.example', Disable: true } });
      assert.equal(disable.parameterSet, 'Disable');
    });

    it('refuses values of different sets, an incomplete chosen set and a choice PowerShell would not make', async () => {
      const mixed = await submit(executor, { actionId: 'auto-reply', principalId: 'alex', inputs: { Mailbox: 'a.b@contoso.example', Disable: true, Start: '2026-04-01' } });
      assert.equal(mixed.status, 400);
      assert.match(fieldsOf(mixed.body)._form ?? '', /cannot be used together/);
      const incomplete = await submit(executor, { actionId: 'auto-reply', principalId: 'alex', inputs: { Mailbox: 'a.b@contoso.example', Message: 'Away' }, parameterSet: 'Schedule' });
      assert.equal(incomplete.status, 400);
      assert.deepEqual(Object.keys(fieldsOf(incomplete.body)).sort(), ['End', 'Start']);
      const foreign = await submit(executor, { actionId: 'auto-reply', principalId: 'alex', inputs: { Mailbox: 'a.b@contoso.example', Disable: true }, parameterSet: 'Enable' });
      assert.equal(foreign.status, 400);
      assert.match(fieldsOf(foreign.body).Disable ?? '', /not used when running "Enable"/);
      const unknown = await submit(executor, { actionId: 'auto-reply', principalId: 'alex', inputs: { Mailbox: 'a.b@contoso.example' }, parameterSet: 'Nope' });
      assert.equal(unknown.status, 400);
    });
  });

  describe('$SRXEnv', () => {
    it('shows ResultMessage as the summary and serves ResultHtml as a download', async () => {
      const run = await runToEnd(executor, { actionId: 'auto-reply', principalId: 'alex', inputs: { Mailbox: 'a.b@contoso.example', Message: 'Away' } });
      assert.equal(run.summary?.message, 'Automatic replies of a.b@contoso.example are on: Away');
      assert.equal(run.summary?.html, true);
      const html = await executor.api(`/v1/runs/${run.id}/html?principal=alex`);
      assert.equal(html.status, 200);
      assert.match(html.headers.get('content-type') ?? '', /^text\/html/);
      assert.match(html.headers.get('content-disposition') ?? '', /^attachment/);
      assert.equal(html.headers.get('content-security-policy'), 'sandbox');
      assert.equal(await html.text(), '<p>Enable for a.b@contoso.example, started by alex.wagner@contoso.example: Started through the API for Alex Wagner</p>');
      // The HTML is a file of the run, not a stream of it.
      const text = await (await executor.api(`/v1/runs/${run.id}/output?principal=alex`)).text();
      assert.ok(!text.includes('<p>'), text);
      const full = (await (await executor.api(`/v1/runs/${run.id}?principal=alex`)).json()) as RunView;
      assert.ok(full.streams?.every((record) => !record.text.includes('<p>')));
      const none = await executor.api(`/v1/runs/${(await runToEnd(executor, { actionId: 'move-user', principalId: 'alex', inputs: { Office: 'HAM', User: 'awagner@contoso.example' } })).id}/html?principal=alex`);
      // Someone the run is not visible to does not get it either.
      const stranger = await executor.api(`/v1/runs/${run.id}/html?principal=max`);
      assert.equal(stranger.status, 404);
      assert.equal(none.status, 404);
    });
  });

  describe('choices from queries', () => {
    it('marks query-bound fields and what they depend on', async () => {
      const action = (await actionsOf(executor, 'alex')).find((candidate) => candidate.id === 'move-user');
      const bound = Object.fromEntries(action?.form.fields.map((field) => [field.name, field.choicesFrom]) ?? []);
      assert.deepEqual(bound, { Office: { query: 'offices', dependsOn: [] }, User: { query: 'users-of-office', dependsOn: ['Office'] }, Target: undefined });
    });

    it('answers a query\'s output as choices, narrowed by search', async () => {
      const all = await choices(executor, 'move-user', 'Office', { principal: 'alex' });
      assert.equal(all.status, 200, JSON.stringify(all.body));
      assert.deepEqual(ChoiceListSchema.parse(all.body).choices, [
        { value: 'HAM', title: 'Hamburg' },
        { value: 'MUC', title: 'Munich' },
        { value: 'BER', title: 'Berlin' },
      ]);
      const searched = await choices(executor, 'move-user', 'office', { principal: 'alex', search: 'mun' });
      assert.deepEqual(ChoiceListSchema.parse(searched.body).choices, [{ value: 'MUC', title: 'Munich' }]);
    });

    it('cascades: waits for the field it depends on, then asks with that value, as the requester', async () => {
      const waiting = await choices(executor, 'move-user', 'User', { principal: 'alex' });
      assert.deepEqual(waiting.body, { choices: [], waitingFor: ['Office'] });
      const hamburg = ChoiceListSchema.parse((await choices(executor, 'move-user', 'User', { principal: 'alex', Office: 'HAM' })).body);
      assert.deepEqual(hamburg.choices.map((choice) => choice.value), ['awagner@contoso.example', 'bberger@contoso.example', 'upatel@contoso.example']);
      assert.equal(hamburg.choices[0]?.title, 'awagner (HAM) for alex.wagner@contoso.example');
      const munich = ChoiceListSchema.parse((await choices(executor, 'move-user', 'User', { principal: 'bea', Office: 'MUC' })).body);
      assert.deepEqual(munich.choices.map((choice) => choice.title), ['mmaier (MUC) for bea', 'kkoch (MUC) for bea']);
      // A value the query's own parameter refuses is named on the form's field.
      const bad = await choices(executor, 'move-user', 'User', { principal: 'alex', Office: 'XYZ' });
      assert.equal(bad.status, 400);
      assert.ok(fieldsOf(bad.body).Office);
    });

    it('keeps an answer per person and inputs for cacheSeconds, and runs again when not kept', async () => {
      const before = await queryRuns(executor, 'offices');
      await choices(executor, 'move-user', 'Office', { principal: 'max' });
      await choices(executor, 'move-user', 'Office', { principal: 'max', search: 'b' });
      assert.equal(await queryRuns(executor, 'offices'), before + 1);
      const uncached = await queryRuns(executor, 'users-uncached');
      await choices(executor, 'move-user-uncached', 'User', { principal: 'alex', Office: 'HAM' });
      await choices(executor, 'move-user-uncached', 'User', { principal: 'alex', Office: 'HAM' });
      assert.equal(await queryRuns(executor, 'users-uncached'), uncached + 2);
    });

    it('asks the policy: not for someone the action is not for, not a Testing query for a helpdesk agent', async () => {
      const stranger = await choices(executor, 'move-user-uncached', 'Office', { principal: 'bea' });
      assert.equal(stranger.status, 403);
      const unknown = await choices(executor, 'move-user', 'Office', { principal: 'nobody' });
      assert.equal(unknown.status, 403);
      assert.equal(ErrorBodySchema.parse(unknown.body).error.code, 'DEPUTY_E_NOT_ENROLLED');
      const testing = await choices(executor, 'move-user-testing', 'Office', { principal: 'alex' });
      assert.equal(testing.status, 403);
      const admin = await choices(executor, 'move-user-testing', 'Office', { principal: 'cyra' });
      assert.deepEqual(ChoiceListSchema.parse(admin.body).choices.map((choice) => choice.value), ['HAM', 'MUC']);
      const notBound = await choices(executor, 'move-user', 'Target', { principal: 'alex' });
      assert.equal(notBound.status, 404);
      const denied = (await executor.store.audit.read({ limit: 10_000 })).filter((entry) => entry.type === 'choices.list' && entry.outcome === 'denied');
      assert.ok(denied.length >= 3);
    });

    it('lists choices only for a value the person could submit in the fields they depend on', async () => {
      // alex looks after Hamburg only: the list of Munich's accounts is not his to see, as a run with Office MUC is not his to request.
      const own = ChoiceListSchema.parse((await choices(executor, 'move-user-own-office', 'User', { principal: 'alex', Office: 'HAM' })).body);
      assert.deepEqual(own.choices.map((choice) => choice.value), ['awagner@contoso.example', 'bberger@contoso.example', 'upatel@contoso.example']);
      const other = await choices(executor, 'move-user-own-office', 'User', { principal: 'alex', Office: 'MUC' });
      assert.equal(other.status, 400, JSON.stringify(other.body));
      assert.match(fieldsOf(other.body).Office ?? '', /not one of the choices/);
      assert.ok(!JSON.stringify(other.body).includes('mmaier'));
      const run = await submit(executor, { actionId: 'move-user-own-office', principalId: 'alex', inputs: { Office: 'MUC', User: 'mmaier@contoso.example', Target: 'HAM' } });
      assert.equal(run.status, 400);
      const munich = ChoiceListSchema.parse((await choices(executor, 'move-user-own-office', 'User', { principal: 'bea', Office: 'MUC' })).body);
      assert.deepEqual(munich.choices.map((choice) => choice.value), ['mmaier@contoso.example', 'kkoch@contoso.example']);
    });

    it('says when a query fails, with a correlation id and no detail', async () => {
      const failed = await choices(executor, 'move-user-broken', 'Office', { principal: 'alex' });
      assert.equal(failed.status, 502);
      const error = ErrorBodySchema.parse(failed.body).error;
      assert.equal(error.code, 'DEPUTY_E_QUERY_FAILED');
      assert.ok(!error.message.includes('directory'));
    });

    it('accepts only a value the query offers, checked again when the run is requested', async () => {
      const refused = await submit(executor, { actionId: 'move-user', principalId: 'alex', inputs: { Office: 'HAM', User: 'mmaier@contoso.example' } });
      assert.equal(refused.status, 400);
      assert.match(fieldsOf(refused.body).User ?? '', /not one of the choices/);
      const made = await submit(executor, { actionId: 'move-user', principalId: 'alex', inputs: { Office: 'ZZZ', User: 'x' } });
      assert.equal(made.status, 400);
      assert.ok(fieldsOf(made.body).Office);
      const run = await runToEnd(executor, { actionId: 'move-user', principalId: 'alex', inputs: { Office: 'MUC', User: 'kkoch@contoso.example', Target: 'HAM' } });
      assert.equal(run.state, 'succeeded');
      assert.deepEqual(run.summary?.lines, ['kkoch@contoso.example moves from MUC to HAM']);
    });

    it('refuses a plan with a value the query does not offer its principal, as a run is refused', async () => {
      const define = (id: string, inputs: Record<string, string>) =>
        executor.api('/v1/plans', { method: 'POST', json: { principalId: 'alex', id, action: 'move-user', schedule: '0 6 * * 1', inputs } });
      const refused = await define('move-weekly-unoffered', { Office: 'HAM', User: 'mmaier@contoso.example', Target: 'MUC' });
      assert.equal(refused.status, 400);
      assert.match(fieldsOf(await refused.json())['inputs.User'] ?? '', /not one of the choices/);
      assert.equal((executor.store.catalog.snapshot().plans ?? []).some((plan) => plan.id === 'move-weekly-unoffered'), false);
      const made = await define('move-weekly', { Office: 'MUC', User: 'kkoch@contoso.example', Target: 'HAM' });
      assert.equal(made.status, 201, await made.clone().text());
    });

    it("holds no other catalog change while a plan's query checks its values", async () => {
      const define = (id: string, action: string) =>
        executor.api('/v1/plans', { method: 'POST', json: { principalId: 'alex', id, action, schedule: '0 6 * * 1', inputs: { Office: 'MUC', User: 'kkoch@contoso.example', Target: 'HAM' } } });
      let slowAnswered = false;
      const slow = define('move-with-slow-list', 'move-user-slow-list').then((response) => {
        slowAnswered = true;
        return response;
      });
      await executor.api('/healthz');
      const quick = await define('move-meanwhile', 'move-user');
      assert.equal(quick.status, 201, await quick.clone().text());
      assert.equal(slowAnswered, false, 'the quick plan waited for the slow query');
      const slowResponse = await slow;
      assert.equal(slowResponse.status, 201, await slowResponse.clone().text());
      assert.deepEqual((executor.store.catalog.snapshot().plans ?? []).filter((plan) => plan.id.startsWith('move-')).map((plan) => plan.id).sort(), ['move-meanwhile', 'move-weekly', 'move-with-slow-list']);
    });

    it('runs no query for someone who may not define the plan at all', async () => {
      const before = await queryRuns(executor, 'users-of-office');
      const response = await executor.api('/v1/plans', {
        method: 'POST',
        json: { principalId: 'bea', tenant: 'munich', id: 'not-beas-to-define', action: 'move-user', schedule: '0 6 * * 1', inputs: { Office: 'MUC', User: 'kkoch@contoso.example', Target: 'HAM' } },
      });
      assert.ok([403, 404].includes(response.status), await response.clone().text());
      assert.equal(await queryRuns(executor, 'users-of-office'), before);
    });
  });
});

describe('forms of versions an older parser read (real executor, real pwsh)', function () {
  this.timeout(120_000);

  it('are read again at start-up, text and hash unchanged, with an audit entry', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'deputy-reread-'));
    try {
      const first = await startTestExecutor({ catalog: CATALOG, dataDir });
      await first.close();
      // As an older Deputy stored it: no parser version, no parameter sets.
      const path = join(dataDir, 'catalog.json');
      const stored = JSON.parse(readFileSync(path, 'utf8')) as { versions: Record<string, unknown>[]; scripts: { id: string; currentHash: string }[] };
      const hash = stored.scripts.find((script) => script.id === 'auto-reply')?.currentHash;
      for (const version of stored.versions) {
        delete version.parserVersion;
        if (version.hash === hash) delete version.parameterSets;
      }
      writeFileSync(path, JSON.stringify(stored));

      const second = await startTestExecutor({ dataDir, config: { catalogFolder: undefined } });
      try {
        const version = second.store.catalog.getVersion(hash ?? '');
        assert.equal(version?.parameterSets?.length, 3);
        assert.equal(version?.parserVersion, PARSER_VERSION);
        const entries = (await second.store.audit.read({ limit: 10_000 })).filter((entry) => entry.actor === 'start-up');
        assert.equal(entries.length, stored.versions.length);
        assert.match(String(entries[0]?.detail.summary), /were read again/);
      } finally {
        await second.dispose();
      }
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
