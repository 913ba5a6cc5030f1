import { rmSync } from 'node:fs';
import assert from 'node:assert/strict';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ErrorBodySchema, type RunView } from '../../../executor/contract/index.ts';
import { verifySignature } from '../../../executor/connectors/signature.ts';
import { ManualClock } from '../../../lib/clock.ts';
import { startTestExecutor, type TestExecutor } from '../../helpers/executor.ts';
import { postHook, prepareAutomationCatalog, type AutomationCatalog } from './fixture.ts';

async function errorCode(response: Response): Promise<string> {
  return ErrorBodySchema.parse(await response.json()).error.code;
}

async function accepted(response: Response): Promise<{ id: string; state: string; correlationId: string }> {
  assert.equal(response.status, 202, await response.clone().text());
  return (await response.json()) as { id: string; state: string; correlationId: string };
}

describe('web service connector POST /v1/hooks/<id> (real executor, real pwsh)', function () {
  this.timeout(60_000);
  const clock = new ManualClock(Date.UTC(2026, 2, 1, 9, 0, 0));
  const callbacks: { headers: IncomingHttpHeaders; body: string }[] = [];
  const callbackServer = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      callbacks.push({ headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
      res.statusCode = 204;
      res.end();
    });
  });
  let catalog: AutomationCatalog;
  let executor: TestExecutor;
  let dataDir: string;
  const hook = (connector: string, payload: unknown, call: Parameters<typeof postHook>[5] = {}) => postHook(executor, clock, catalog.hookKey, connector, payload, call);
  const hookAudit = async () => (await executor.store.audit.read({ limit: 10_000 })).filter((entry) => entry.type === 'hook.request');

  before(async () => {
    await new Promise<void>((resolve) => callbackServer.listen(0, '127.0.0.1', resolve));
    const port = (callbackServer.address() as AddressInfo).port;
    catalog = prepareAutomationCatalog({ callbackUrl: `http://127.0.0.1:${port}/deputy-result` });
    executor = await startTestExecutor({ catalog: catalog.folder, clock });
    dataDir = executor.dataDir;
  });
  after(async () => {
    await executor.dispose();
    catalog.cleanup();
    await new Promise((resolve) => callbackServer.close(resolve));
  });

  it('starts the named action as the bound principal with inputs mapped from the payload, and audits it', async () => {
    const payload = { incident: { title: 'disk full on web-3', hosts: [{ count: 9 }, { count: 2 }] } };
    const answer = await accepted(await hook('itsm', payload));
    assert.equal(answer.state, 'queued');
    const run = await executor.waitForRun(answer.id);
    assert.equal(run.state, 'succeeded');
    assert.equal(run.principalId, 'hook-bot');
    assert.equal(run.actionId, 'echo');
    assert.deepEqual(run.origin, { kind: 'connector', conversationId: 'itsm' });
    assert.deepEqual(run.inputs, { Message: 'disk full on web-3', Times: 2 });
    assert.deepEqual(run.summary?.lines, ['disk full on web-3', 'disk full on web-3']);
    const audit = await hookAudit();
    const entry = audit.find((candidate) => candidate.detail.runId === answer.id);
    assert.equal(entry?.outcome, 'allowed');
    assert.equal(entry?.via, 'connector:itsm');
    assert.equal(entry?.correlationId, answer.correlationId);
    const request = (await executor.store.audit.read({ limit: 10_000 })).find((candidate) => candidate.type === 'run.request' && candidate.detail.runId === answer.id);
    assert.equal(request?.via, 'connector:itsm');
  });

  it('verifies the raw bytes: any whitespace is fine when signed, a re-serialized body is not', async () => {
    const pretty = '{\n  "text" :   "spaced out"\n}';
    await accepted(await hook('multi', undefined, { body: pretty.replace('{', '{"action":"echo",') }));
    const signedCompact = await hook('multi', undefined, { body: pretty.replace('{', '{"action":"echo",'), signedBody: JSON.stringify({ action: 'echo', text: 'spaced out' }) });
    assert.equal(signedCompact.status, 401);
    assert.equal(await errorCode(signedCompact), 'DEPUTY_E_SIGNATURE');
  });

  it('refuses forged, tampered, unsigned, stale and future-dated hooks with DEPUTY_E_SIGNATURE', async () => {
    const before = (await executor.operatorApi('/v1/runs?limit=500').then((response) => response.json())) as { runs: RunView[] };
    const payload = { incident: { title: 'forged', hosts: [{}, { count: 1 }] } };
    const cases = [
      { name: 'wrong key', call: { key: 'f'.repeat(64) } },
      { name: 'tampered body', call: { signedBody: JSON.stringify({ incident: { title: 'harmless', hosts: [{}, { count: 1 }] } }) } },
      { name: 'no signature', call: { signature: null } },
      { name: 'malformed', call: { signature: 'sha256=abc' } },
      { name: 'stale', call: { signedAt: clock.now() - 6 * 60_000 } },
      { name: 'future', call: { signedAt: clock.now() + 6 * 60_000 } },
    ];
    for (const { name, call } of cases) {
      const response = await hook('itsm', payload, call);
      assert.equal(response.status, 401, name);
      const body = ErrorBodySchema.parse(await response.json());
      assert.equal(body.error.code, 'DEPUTY_E_SIGNATURE', name);
      assert.equal(body.error.message, 'The request signature is missing, invalid or too old.');
    }
    const after = (await executor.operatorApi('/v1/runs?limit=500').then((response) => response.json())) as { runs: RunView[] };
    assert.equal(after.runs.length, before.runs.length, 'no forged hook started a run');
    const denied = (await hookAudit()).filter((entry) => entry.outcome === 'denied' && entry.detail.code === 'DEPUTY_E_SIGNATURE');
    assert.ok(denied.length >= cases.length);
    assert.ok(denied.some((entry) => entry.detail.reason === 'timestamp outside the 5-minute window'));
  });

  it('a signature that was fresh goes stale as the injected clock moves on (a captured request replayed later)', async () => {
    const body = JSON.stringify({ incident: { title: 'captured', hosts: [{}, { count: 1 }] } });
    const signedAt = clock.now();
    await accepted(await hook('itsm', undefined, { body, signedAt }));
    clock.advance(5 * 60_000 + 1000);
    const replayed = await hook('itsm', undefined, { body, signedAt });
    assert.equal(replayed.status, 401);
  });

  it('honours Idempotency-Key: a repeat answers the first run and starts nothing, also when the repeats race', async () => {
    const payload = { incident: { title: 'only once', hosts: [{}, { count: 1 }] } };
    const first = await accepted(await hook('itsm', payload, { idempotencyKey: 'INC-1001' }));
    const again = await hook('itsm', payload, { idempotencyKey: 'INC-1001' });
    assert.equal(again.headers.get('idempotent-replayed'), 'true');
    assert.equal((await accepted(again)).id, first.id);

    const racing = await Promise.all(Array.from({ length: 8 }, () => hook('itsm', { incident: { title: 'racing', hosts: [{}, { count: 1 }] } }, { idempotencyKey: 'INC-2002' })));
    const ids = new Set<string>();
    for (const response of racing) ids.add((await accepted(response)).id);
    assert.equal(ids.size, 1, 'all concurrent repeats got the same run');
    await executor.runs.idle();
    const { runs } = (await executor.operatorApi('/v1/runs?principal=hook-bot&limit=500').then((response) => response.json())) as { runs: RunView[] };
    assert.equal(runs.filter((run) => run.inputs.Message === 'racing').length, 1);
    assert.equal(runs.filter((run) => run.inputs.Message === 'only once').length, 1);

    const otherBody = await hook('itsm', { incident: { title: 'something else', hosts: [{}, { count: 1 }] } }, { idempotencyKey: 'INC-1001' });
    assert.equal(otherBody.status, 409);
    assert.equal(await errorCode(otherBody), 'DEPUTY_E_CONFLICT');
    const badKey = await hook('itsm', payload, { idempotencyKey: 'has spaces in it' });
    assert.equal(badKey.status, 400);
  });

  it('refuses sources off the allow-list, actions the connector does not name, and unknown connectors', async () => {
    const fenced = await hook('fenced', { text: 'from loopback' });
    assert.equal(fenced.status, 403);
    assert.equal(await errorCode(fenced), 'DEPUTY_E_FORBIDDEN');
    const notNamed = await hook('multi', { action: 'use-credential', text: 'x' });
    assert.equal(notNamed.status, 403);
    const viaMulti = await accepted(await hook('multi', { action: 'echo-service', text: 'second action' }));
    assert.equal((await executor.waitForRun(viaMulti.id)).actionId, 'echo-service');
    const unknown = await hook('nobody', { text: 'x' });
    assert.equal(unknown.status, 404);
    const audit = await hookAudit();
    assert.ok(audit.some((entry) => entry.subject === 'fenced' && entry.outcome === 'denied' && entry.detail.reason === 'source address not on the allow-list'));
    assert.ok(audit.some((entry) => entry.subject === 'nobody' && entry.outcome === 'denied'));
  });

  it('applies the policy and input validation to the bound principal like any request', async () => {
    const readOnly = await hook('read-only', { text: 'rita may only look' });
    assert.equal(readOnly.status, 403);
    assert.equal(await errorCode(readOnly), 'DEPUTY_E_FORBIDDEN');
    const invalid = await hook('itsm', { incident: { title: 'x', hosts: [{}, { count: 99 }] } });
    assert.equal(invalid.status, 400);
    const body = ErrorBodySchema.parse(await invalid.json());
    assert.equal(body.error.code, 'DEPUTY_E_VALIDATION');
    assert.ok(body.error.fields?.Times);
    const missing = await hook('itsm', { incident: { hosts: [] } });
    assert.equal(missing.status, 400);
  });

  it('posts the finished run to the callback URL, signed the same way', async () => {
    const answer = await accepted(await hook('calling-back', { text: 'call me back' }));
    await executor.waitForRun(answer.id);
    const deadline = Date.now() + 10_000;
    while (!callbacks.some((callback) => callback.body.includes(answer.id)) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 25));
    const callback = callbacks.find((candidate) => candidate.body.includes(answer.id));
    assert.ok(callback, 'callback arrived');
    assert.deepEqual(verifySignature(catalog.hookKey, String(callback.headers['x-deputy-signature']), callback.body, clock.now()), { ok: true });
    const sent = JSON.parse(callback.body) as { type: string; run: RunView };
    assert.equal(sent.type, 'run.finished');
    assert.equal(sent.run.state, 'succeeded');
    assert.deepEqual(sent.run.summary?.lines, ['call me back']);
    assert.equal(callback.headers['x-correlation-id'], answer.correlationId);
    // The callback is audited once its answer is back, which is after the receiver saw it.
    const audited = async () =>
      (await executor.store.audit.read({ limit: 10_000 })).some((entry) => entry.type === 'hook.callback' && entry.subject === answer.id && entry.outcome === 'info');
    const auditDeadline = Date.now() + 10_000;
    while (!(await audited()) && Date.now() < auditDeadline) await new Promise((resolve) => setTimeout(resolve, 25));
    assert.ok(await audited(), 'the callback is audited');
    assert.equal(callbacks.filter((candidate) => !candidate.body.includes('call me back')).length, 0, 'runs of connectors without a callback URL are not posted');
  });

  it('remembers idempotency keys across a restart, for 24 hours', async () => {
    const payload = { incident: { title: 'across restarts', hosts: [{}, { count: 1 }] } };
    const first = await accepted(await hook('itsm', payload, { idempotencyKey: 'INC-3003' }));
    await executor.close();
    const restarted = await startTestExecutor({ catalog: catalog.folder, clock, dataDir });
    // The restarted executor owns nothing but itself; the data folder is the first one's to remove.
    executor = {
      ...restarted,
      dispose: async () => {
        await restarted.close();
        rmSync(dataDir, { recursive: true, force: true });
      },
    };
    const repeated = await accepted(await hook('itsm', payload, { idempotencyKey: 'INC-3003' }));
    assert.equal(repeated.id, first.id);
    clock.advance(24 * 60 * 60_000 + 60_000);
    const dayLater = await accepted(await hook('itsm', payload, { idempotencyKey: 'INC-3003' }));
    assert.notEqual(dayLater.id, first.id);
    await executor.waitForRun(dayLater.id);
  });
});
