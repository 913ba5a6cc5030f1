import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ActionListSchema, ErrorBodySchema, RunEventSchema, type RunEvent, type RunView } from '../../executor/contract/index.ts';
import { removeDataFolder, startTestExecutor, type TestExecutor } from '../helpers/executor.ts';

async function errorOf(response: Response) {
  return ErrorBodySchema.parse(await response.json()).error;
}

async function submit(executor: TestExecutor, actionId: string, principalId: string, inputs: Record<string, unknown>) {
  return executor.api('/v1/runs', { method: 'POST', json: { actionId, principalId, inputs, origin: { kind: 'api' } } });
}

async function runToEnd(executor: TestExecutor, actionId: string, principalId: string, inputs: Record<string, unknown>): Promise<RunView> {
  const response = await submit(executor, actionId, principalId, inputs);
  assert.equal(response.status, 202, await response.clone().text());
  const { id } = (await response.json()) as { id: string };
  return executor.waitForRun(id);
}

/** Reads SSE messages from /v1/events until `until` says stop. */
async function readEvents(executor: TestExecutor, until: (events: RunEvent[]) => boolean, headers: Record<string, string> = {}): Promise<RunEvent[]> {
  const response = await executor.api('/v1/events', { headers });
  assert.equal(response.status, 200);
  const reader = response.body!.getReader();
  const decoder = new TextDecoder();
  const events: RunEvent[] = [];
  let buffer = '';
  try {
    while (!until(events)) {
      const { value, done } = await reader.read();
      if (done) break;
      buffer += decoder.decode(value, { stream: true });
      let end: number;
      while ((end = buffer.indexOf('\n\n')) >= 0) {
        const message = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const data = message.split('\n').find((line) => line.startsWith('data: '));
        if (data) events.push(RunEventSchema.parse(JSON.parse(data.slice(6))));
      }
    }
  } finally {
    await reader.cancel();
  }
  return events;
}

describe('executor REST API (real restify, real pwsh)', function () {
  this.timeout(60_000);
  let executor: TestExecutor;

  before(async () => {
    executor = await startTestExecutor();
  });
  after(async () => {
    await executor.dispose();
  });

  describe('health and authentication', () => {
    it('answers /healthz and /readyz without a token, with pwsh found', async () => {
      assert.equal((await fetch(`${executor.url}/healthz`)).status, 200);
      const ready = await fetch(`${executor.url}/readyz`);
      assert.equal(ready.status, 200);
      const body = (await ready.json()) as { checks: { pwsh: { ok: boolean } } };
      assert.equal(body.checks.pwsh.ok, true);
    });

    it('refuses /v1 without a token, with a wrong token, and on /v1/events', async () => {
      for (const path of ['/v1/actions?principal=alex', '/v1/runs', '/v1/events']) {
        const missing = await fetch(`${executor.url}${path}`);
        assert.equal(missing.status, 401, path);
        const error = await errorOf(missing);
        assert.equal(error.code, 'DEPUTY_E_UNAUTHENTICATED');
        assert.ok(error.correlationId.length > 8);
        const wrong = await fetch(`${executor.url}${path}`, { headers: { authorization: `Bearer ${executor.token}x` } });
        assert.equal(wrong.status, 401, path);
      }
    });

    it('answers unknown routes and malformed bodies in the registry format', async () => {
      const unknown = await executor.api('/v1/nothing-here');
      assert.equal(unknown.status, 404);
      assert.equal((await errorOf(unknown)).code, 'DEPUTY_E_NOT_FOUND');
      const badJson = await executor.api('/v1/runs', { method: 'POST', body: '{not json', headers: { 'content-type': 'application/json' } });
      assert.equal(badJson.status, 400);
      assert.equal((await errorOf(badJson)).code, 'DEPUTY_E_BAD_REQUEST');
      const huge = await submit(executor, 'echo', 'alex', { Message: 'x'.repeat(300 * 1024) });
      assert.equal(huge.status, 413);
      assert.equal((await errorOf(huge)).code, 'DEPUTY_E_PAYLOAD_TOO_LARGE');
    });

    it('keeps a caller-given correlation id and never leaks internals', async () => {
      const response = await executor.api('/v1/runs', { method: 'POST', json: { actionId: 'echo' }, headers: { 'x-correlation-id': 'corr-test-12345' } });
      assert.equal(response.status, 400);
      const error = await errorOf(response);
      assert.equal(error.correlationId, 'corr-test-12345');
      assert.doesNotMatch(JSON.stringify(error), /at .*\.ts:\d+|node_modules/);
    });
  });

  describe('actions', () => {
    it('lists the actions a principal may run, with their form schema', async () => {
      const response = await executor.api('/v1/actions?principal=alex');
      assert.equal(response.status, 200);
      const { actions } = ActionListSchema.parse(await response.json());
      const ids = actions.map((action) => action.id).sort();
      assert.deepEqual(ids, ['echo', 'echo-four-eyes', 'echo-service', 'secret', 'sleep', 'sleep-long']);
      const echo = actions.find((action) => action.id === 'echo');
      const message = echo?.form.fields.find((field) => field.name === 'Message');
      assert.equal(message?.required, true);
      assert.equal(message?.maxLength, 200);
      assert.equal(echo?.form.fields.find((field) => field.name === 'Times')?.max, 5);
    });

    it('shows a read-only administrator and a sideways tenant nothing to run', async () => {
      for (const principal of ['rita', 'max']) {
        const { actions } = ActionListSchema.parse(await (await executor.api(`/v1/actions?principal=${principal}`)).json());
        assert.deepEqual(actions, [], principal);
      }
    });

    it('answers an unknown principal with not-enrolled', async () => {
      const response = await executor.api('/v1/actions?principal=nobody');
      assert.equal(response.status, 403);
      assert.equal((await errorOf(response)).code, 'DEPUTY_E_NOT_ENROLLED');
    });
  });

  describe('identities', () => {
    it('resolves a known chat identity and refuses an unknown one with an audit entry', async () => {
      const known = await executor.api('/v1/identities/resolve', { method: 'POST', json: { identity: { channel: 'slack', teamId: 'T1', userId: 'U1' } } });
      assert.equal(known.status, 200);
      assert.equal(((await known.json()) as { principal: { id: string } }).principal.id, 'alex');
      const unknown = await executor.api('/v1/identities/resolve', { method: 'POST', json: { identity: { channel: 'teams', tenantId: 'x', aadObjectId: 'y' } } });
      assert.equal(unknown.status, 403);
      const { correlationId } = await errorOf(unknown);
      const audit = await executor.store.audit.read();
      assert.ok(audit.some((entry) => entry.type === 'identity.resolve' && entry.outcome === 'denied' && entry.correlationId === correlationId));
    });

    it('lists personas in demo mode', async () => {
      const response = await executor.api('/v1/personas');
      assert.equal(response.status, 200);
      const { personas } = (await response.json()) as { personas: { persona: string }[] };
      assert.ok(personas.some((persona) => persona.persona === 'alex'));
    });
  });

  describe('runs', () => {
    it('persists the run before answering 202, then runs it in the pool', async () => {
      const response = await submit(executor, 'echo', 'alex', { Message: 'hello', Times: 2 });
      assert.equal(response.status, 202);
      const { id, state } = (await response.json()) as { id: string; state: string };
      assert.equal(state, 'queued');
      assert.ok((await executor.store.runs.get(id)), 'the run is in the store when 202 is answered');
      const run = await executor.waitForRun(id);
      assert.equal(run.state, 'succeeded');
      assert.deepEqual(run.summary?.lines, ['hello', 'hello']);
      assert.ok(run.summary?.warnings.some((warning) => warning.includes('echoed 2 time(s)')));
      assert.ok(run.streams?.some((record) => record.stream === 'warning'));
      const listed = (await (await executor.api('/v1/runs?principal=alex&limit=1')).json()) as { runs: RunView[] };
      assert.equal(listed.runs[0]?.id, id);
    });

    it('answers a read on someone\'s behalf only when they may see the run', async () => {
      const run = await runToEnd(executor, 'echo', 'alex', { Message: 'mine' });
      // The requester; an admin above; a fellow administrator of the tenant (who may cancel it);
      // not another branch's helpdesk, not a read-only administrator.
      for (const [principal, status] of [
        ['alex', 200],
        ['cyra', 200],
        ['bea', 200],
        ['max', 404],
        ['rita', 404],
      ] as const) {
        for (const path of [`/v1/runs/${run.id}?principal=${principal}`, `/v1/runs/${run.id}/output?principal=${principal}`]) {
          const response = await executor.api(path);
          assert.equal(response.status, status, `${principal} ${path}`);
          if (status === 404) assert.equal((await errorOf(response)).code, 'DEPUTY_E_NOT_FOUND');
        }
      }
    });

    it('runs in service mode too', async () => {
      const run = await runToEnd(executor, 'echo-service', 'alex', { Message: 'own process' });
      assert.equal(run.state, 'succeeded');
      assert.deepEqual(run.summary?.lines, ['own process']);
    });

    it('passes hostile values through as literal data', async () => {
      const marker = join(executor.dataDir, 'pwned');
      const hostile = `'; New-Item -Path '${marker}' ; "$(New-Item '${marker}')" \`; $env:PATH ${'\n'}; exit 1`.slice(0, 200);
      const run = await runToEnd(executor, 'echo', 'alex', { Message: hostile });
      assert.equal(run.state, 'succeeded');
      assert.deepEqual(run.summary?.lines, hostile.split('\n'));
      assert.throws(() => readFileSync(marker), /ENOENT/);
    });

    it('refuses invalid inputs with field errors, and creates nothing', async () => {
      const before = (await executor.store.runs.list({ limit: 500 })).length;
      const response = await submit(executor, 'echo', 'alex', { Times: 9 });
      assert.equal(response.status, 400);
      const error = await errorOf(response);
      assert.equal(error.code, 'DEPUTY_E_VALIDATION');
      assert.ok(error.fields?.Message, 'missing mandatory field named');
      assert.ok(error.fields?.Times, 'out-of-range field named');
      assert.equal((await executor.store.runs.list({ limit: 500 })).length, before);
    });

    it('refuses what the policy refuses, with an audit entry', async () => {
      // A sideways tenant is told "not found": the policy does not reveal what exists elsewhere.
      // A Draft script has no approved version to run: a conflict with its state.
      for (const [actionId, principalId, status, expected] of [
        ['echo', 'rita', 403, 'DEPUTY_E_FORBIDDEN'],
        ['echo', 'max', 404, 'DEPUTY_E_NOT_FOUND'],
        ['draft', 'alex', 409, 'DEPUTY_E_CONFLICT'],
      ] as const) {
        const response = await submit(executor, actionId, principalId, { Message: 'x' });
        assert.equal(response.status, status, `${principalId} → ${actionId}`);
        const { correlationId, code } = await errorOf(response);
        assert.equal(code, expected);
        const audit = await executor.store.audit.read();
        assert.ok(audit.some((entry) => entry.correlationId === correlationId && entry.outcome === 'denied' && entry.type === 'run.request'));
      }
    });

    it('masks secrets in every stream, in the stored inputs and in events', async () => {
      const secret = 'Sup3r-S3cret-Value!';
      const run = await runToEnd(executor, 'secret', 'alex', { Password: secret });
      assert.equal(run.state, 'succeeded');
      assert.ok(run.summary?.lines.includes(`length=${secret.length}`));
      assert.equal(run.inputs.Password, '********');
      const everything = [
        JSON.stringify(run),
        readFileSync(join(executor.dataDir, 'runs.jsonl'), 'utf8'),
        readFileSync(join(executor.dataDir, 'audit.jsonl'), 'utf8'),
        JSON.stringify(executor.events.since(0)),
        await (await executor.api(`/v1/runs/${run.id}/output`)).text(),
      ].join('\n');
      assert.ok(!everything.includes(secret), 'the secret appears nowhere');
      assert.ok(everything.includes('leaked=********'));
    });

    it('times out a run and kills it', async () => {
      const run = await runToEnd(executor, 'sleep', 'alex', { Seconds: 60 });
      assert.equal(run.state, 'timed-out');
      assert.ok((run.durationMs ?? 0) < 20_000);
    });

    it('cancels a running run, and refuses to cancel an ended one', async () => {
      const response = await submit(executor, 'sleep-long', 'alex', { Seconds: 60 });
      const { id } = (await response.json()) as { id: string };
      const deadline = Date.now() + 15_000;
      while ((await executor.store.runs.get(id))?.state !== 'running' && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 25));
      const cancel = await executor.api(`/v1/runs/${id}/cancel`, { method: 'POST', json: { principalId: 'alex' } });
      assert.equal(cancel.status, 202);
      const run = await executor.waitForRun(id);
      assert.equal(run.state, 'cancelled');
      const again = await executor.api(`/v1/runs/${id}/cancel`, { method: 'POST', json: { principalId: 'alex' } });
      assert.equal(again.status, 409);
    });

    it('streams run events over SSE and resumes from Last-Event-ID', async () => {
      const collecting = readEvents(executor, (events) => events.some((event) => event.type === 'run.finished' && event.run.inputs.Message === 'sse'));
      await new Promise((resolve) => setTimeout(resolve, 100));
      await submit(executor, 'echo', 'alex', { Message: 'sse' });
      const events = await collecting;
      const mine = events.filter((event) => event.run.inputs.Message === 'sse').map((event) => event.type);
      assert.deepEqual(mine.slice(0, 1), ['run.created']);
      assert.equal(mine.at(-1), 'run.finished');
      const first = events.find((event) => event.run.inputs.Message === 'sse');
      const replayed = await readEvents(executor, (list) => list.some((event) => event.type === 'run.finished' && event.run.inputs.Message === 'sse'), {
        'last-event-id': String((first?.seq ?? 1) - 1),
      });
      assert.equal(replayed[0]?.seq, first?.seq);
    });

    it('accepts 40 concurrent submissions and finishes every one', async () => {
      const responses = await Promise.all(Array.from({ length: 40 }, (_, i) => submit(executor, 'echo', 'alex', { Message: `n${i}` })));
      assert.ok(responses.every((response) => response.status === 202));
      const ids = await Promise.all(responses.map(async (response) => ((await response.json()) as { id: string }).id));
      const runs = await Promise.all(ids.map((id) => executor.waitForRun(id)));
      assert.deepEqual(
        runs.map((run) => run.summary?.lines[0]).sort(),
        Array.from({ length: 40 }, (_, i) => `n${i}`).sort(),
      );
      assert.ok(runs.every((run) => run.state === 'succeeded'));
    });
  });

  describe('four-eyes runs', () => {
    it('waits for a second person; the requester cannot approve; another approver can', async () => {
      const response = await submit(executor, 'echo-four-eyes', 'alex', { Message: 'approved' });
      const { id, state } = (await response.json()) as { id: string; state: string };
      assert.equal(state, 'awaiting-approval');
      const self = await executor.api(`/v1/runs/${id}/decision`, { method: 'POST', json: { principalId: 'alex', decision: 'approve' } });
      assert.equal(self.status, 403);
      assert.equal((await errorOf(self)).code, 'DEPUTY_E_SELF_APPROVAL');
      const approve = await executor.api(`/v1/runs/${id}/decision`, { method: 'POST', json: { principalId: 'cyra', decision: 'approve', comment: 'ok' } });
      assert.equal(approve.status, 200, await approve.clone().text());
      const run = await executor.waitForRun(id);
      assert.equal(run.state, 'succeeded');
      assert.equal(run.approval?.decidedBy, 'cyra');
    });

    it('lets exactly one of two simultaneous deciders win', async () => {
      const { id } = (await (await submit(executor, 'echo-four-eyes', 'alex', { Message: 'race' })).json()) as { id: string };
      const [a, b] = await Promise.all([
        executor.api(`/v1/runs/${id}/decision`, { method: 'POST', json: { principalId: 'cyra', decision: 'approve' } }),
        executor.api(`/v1/runs/${id}/decision`, { method: 'POST', json: { principalId: 'carl', decision: 'reject' } }),
      ]);
      const statuses = [a.status, b.status].sort();
      assert.deepEqual(statuses, [200, 409]);
      const loser = a.status === 409 ? a : b;
      assert.match((await errorOf(loser)).message, /already decided/);
    });
  });

  describe('audit', () => {
    it('keeps an intact hash chain over everything above', async () => {
      const verification = await executor.store.audit.verify();
      assert.equal(verification.ok, true);
      assert.ok(verification.count > 20);
    });
  });
});

describe('executor restart recovery', function () {
  this.timeout(60_000);

  it('marks runs found running as interrupted and resumes queued ones', async () => {
    const first = await startTestExecutor();
    const { id: doneId } = (await (await submit(first, 'echo', 'alex', { Message: 'before' })).json()) as { id: string };
    await first.waitForRun(doneId);
    const template = (await first.store.runs.get(doneId))!;
    await first.close();
    // Simulate a crash: two runs left mid-flight in the run log.
    const now = new Date().toISOString();
    const lines = [
      { ...template, id: 'run_crash_running', state: 'running', startedAt: now, updatedAt: now, summary: undefined, endedAt: undefined },
      { ...template, id: 'run_crash_queued', state: 'queued', inputs: { Message: 'resumed' }, updatedAt: now, summary: undefined, endedAt: undefined },
    ];
    writeFileSync(join(first.dataDir, 'runs.jsonl'), lines.map((line) => JSON.stringify(line)).join('\n') + '\n', { flag: 'a' });
    const second = await startTestExecutor({ dataDir: first.dataDir });
    try {
      assert.equal((await second.waitForRun('run_crash_running')).state, 'interrupted');
      const resumed = await second.waitForRun('run_crash_queued');
      assert.equal(resumed.state, 'succeeded');
      assert.deepEqual(resumed.summary?.lines, ['resumed']);
      assert.equal((await second.waitForRun(doneId)).state, 'succeeded');
    } finally {
      await second.dispose();
      removeDataFolder(first.dataDir);
    }
  });
});
