import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import assert from 'node:assert/strict';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ErrorBodySchema, type RunView } from '../../../executor/contract/index.ts';
import { IDEMPOTENCY_FILE, SIGNATURES_FILE } from '../../../executor/connectors/index.ts';
import { signPayload, verifySignature } from '../../../executor/connectors/signature.ts';
import { ManualClock } from '../../../lib/clock.ts';
import { removeDataFolder, startTestExecutor, type TestExecutor } from '../../helpers/executor.ts';
import { postHook, prepareAutomationCatalog, type AutomationCatalog, type HookCall } from './fixture.ts';

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

  it('accepts a signed request once: a replay is refused with DEPUTY_E_REPLAY, without a key, with a fresh one, or spelled otherwise', async () => {
    const runsNamed = async (title: string) =>
      ((await executor.operatorApi('/v1/runs?principal=hook-bot&limit=500').then((response) => response.json())) as { runs: RunView[] }).runs.filter((run) => run.inputs.Message === title);
    const body = JSON.stringify({ incident: { title: 'captured once', hosts: [{}, { count: 1 }] } });
    const signature = signPayload(catalog.hookKey, body, clock.now());
    await accepted(await hook('itsm', undefined, { body, signature }));
    const [t, v1] = signature.split(',');
    const replays: HookCall[] = [
      { body, signature },
      { body, signature, idempotencyKey: 'fresh-1' },
      { body, signature, idempotencyKey: 'fresh-2' },
      { body, signature: `${v1?.toUpperCase().replace('V1=', 'v1=')},${t}` },
      { body, signature: `${signature},v1=${'0'.repeat(64)}` },
    ];
    for (const call of replays) {
      const response = await hook('itsm', undefined, call);
      assert.equal(response.status, 409, JSON.stringify(call));
      const error = ErrorBodySchema.parse(await response.json()).error;
      assert.equal(error.code, 'DEPUTY_E_REPLAY');
      assert.match(error.correlationId, /\S{8,}/);
    }
    await executor.runs.idle();
    assert.equal((await runsNamed('captured once')).length, 1, 'the replays started nothing');
    const denied = (await hookAudit()).filter((entry) => entry.detail.code === 'DEPUTY_E_REPLAY');
    assert.equal(denied.length, replays.length);

    // With an Idempotency-Key, the same bytes and key are a retry: the first run again. Another key is a replay.
    const keyed = JSON.stringify({ incident: { title: 'captured with a key', hosts: [{}, { count: 1 }] } });
    const keyedSignature = signPayload(catalog.hookKey, keyed, clock.now());
    const first = await accepted(await hook('itsm', undefined, { body: keyed, signature: keyedSignature, idempotencyKey: 'INC-4004' }));
    const retry = await hook('itsm', undefined, { body: keyed, signature: keyedSignature, idempotencyKey: 'INC-4004' });
    assert.equal((await accepted(retry)).id, first.id);
    assert.equal(retry.headers.get('idempotent-replayed'), 'true');
    const otherKey = await hook('itsm', undefined, { body: keyed, signature: keyedSignature, idempotencyKey: 'INC-4005' });
    assert.equal(await errorCode(otherKey), 'DEPUTY_E_REPLAY');
    // A sender that signs anew (a later timestamp) is a new request.
    clock.advance(1000);
    await accepted(await hook('itsm', undefined, { body }));
    await executor.runs.idle();
    assert.equal((await runsNamed('captured once')).length, 2);
    assert.equal((await runsNamed('captured with a key')).length, 1);
  });

  it('refusals before the signature check: headers checked first, entries bounded, throttled per source with a count of what was held back', async () => {
    // A full bucket for this source, whatever the tests before sent.
    clock.advance(10 * 60_000);
    const auditFile = join(dataDir, 'audit.jsonl');
    const sizeBefore = statSync(auditFile).size;
    const seqBefore = (await executor.store.audit.read({ limit: 1 }))[0]?.seq ?? 0;
    const hugeKey = 'k'.repeat(15 * 1024);
    const payload = { incident: { title: 'flood', hosts: [{}, { count: 1 }] } };
    const sent = 50;
    for (let i = 0; i < sent; i++) {
      const call: HookCall = i % 2 === 0 ? { idempotencyKey: hugeKey } : { key: 'f'.repeat(64), idempotencyKey: `valid-${i}` };
      const response = await hook(i % 4 === 3 ? `no-such-connector-${i}` : 'itsm', payload, call);
      const error = ErrorBodySchema.parse(await response.json()).error;
      assert.ok(['DEPUTY_E_BAD_REQUEST', 'DEPUTY_E_SIGNATURE', 'DEPUTY_E_NOT_FOUND'].includes(error.code), error.code);
      assert.match(error.correlationId, /\S{8,}/);
    }
    const written = (await executor.store.audit.read({ sinceSeq: seqBefore, limit: 10_000 })).filter((entry) => entry.type === 'hook.request');
    assert.equal(written.length, 30, 'a burst of 30 refusals per source, then none');
    const text = readFileSync(auditFile, 'utf8').slice(sizeBefore);
    assert.ok(!text.includes('k'.repeat(300)), 'the raw Idempotency-Key is never written');
    assert.ok(text.length < 30 * 2048, `${text.length} bytes for ${sent} refusals`);
    assert.ok(written.some((entry) => entry.detail.idempotencyKeyLength === hugeKey.length && entry.detail.code === 'DEPUTY_E_BAD_REQUEST'));
    assert.ok(written.some((entry) => entry.subject === 'no-such-connector-3' && entry.detail.code === 'DEPUTY_E_NOT_FOUND'));

    // Another source is not held back by this one's flood; a valid request is always audited.
    const answer = await accepted(await hook('itsm', { incident: { title: 'after the flood', hosts: [{}, { count: 1 }] } }));
    assert.ok((await hookAudit()).some((entry) => entry.outcome === 'allowed' && entry.detail.runId === answer.id));

    // Once the bucket has a token again, the next refusal comes after one entry counting the suppressed ones.
    clock.advance(3000);
    await hook('itsm', payload, { signature: null });
    const [summary, next, ...rest] = await executor.store.audit.read({ sinceSeq: written.at(-1)?.seq ?? seqBefore, limit: 10_000 }).then((entries) => entries.filter((entry) => entry.type !== 'run.state' && entry.type !== 'run.finish' && entry.type !== 'run.request' && entry.outcome !== 'allowed'));
    assert.equal(summary?.type, 'audit.suppressed');
    assert.equal(summary?.detail.refusals, sent - 30);
    assert.equal(summary?.detail.summary, `${sent - 30} refusal(s) from 127.0.0.1 suppressed`);
    assert.equal(next?.detail.reason, 'no signature header');
    assert.equal(rest.length, 0);
    clock.advance(10 * 60_000); // a full bucket again for the tests after this one
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
    assert.equal(verifySignature(catalog.hookKey, String(callback.headers['x-deputy-signature']), callback.body, clock.now()).ok, true);
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

  it('remembers idempotency keys and accepted signatures across a restart', async () => {
    const payload = { incident: { title: 'across restarts', hosts: [{}, { count: 1 }] } };
    const first = await accepted(await hook('itsm', payload, { idempotencyKey: 'INC-3003' }));
    const captured = JSON.stringify({ incident: { title: 'replayed after a restart', hosts: [{}, { count: 1 }] } });
    const signature = signPayload(catalog.hookKey, captured, clock.now());
    await accepted(await hook('itsm', undefined, { body: captured, signature }));
    await executor.close();
    const restarted = await startTestExecutor({ catalog: catalog.folder, clock, dataDir });
    // The restarted executor owns nothing but itself; the data folder is the first one's to remove.
    executor = {
      ...restarted,
      dispose: async () => {
        await restarted.close();
        removeDataFolder(dataDir);
      },
    };
    const repeated = await accepted(await hook('itsm', payload, { idempotencyKey: 'INC-3003' }));
    assert.equal(repeated.id, first.id);
    assert.equal(await errorCode(await hook('itsm', undefined, { body: captured, signature })), 'DEPUTY_E_REPLAY');
    clock.advance(24 * 60 * 60_000 + 60_000);
    const dayLater = await accepted(await hook('itsm', payload, { idempotencyKey: 'INC-3003' }));
    assert.notEqual(dayLater.id, first.id);
    await executor.waitForRun(dayLater.id);
  });

  it('its prune duty drops the expired keys and signatures from the data folder and keeps the live ones', async () => {
    clock.advance(24 * 60 * 60_000 + 60_000);
    const payload = { incident: { title: 'kept by the prune', hosts: [{}, { count: 1 }] } };
    const live = await accepted(await hook('itsm', payload, { idempotencyKey: 'INC-5005' }));
    await executor.waitForRun(live.id);
    const report = await executor.prune.runOnce();
    assert.deepEqual(report?.failed, []);
    // What the restart read is what it kept then: the two keys and the signatures of the day before.
    assert.ok((report?.removed.hookIdempotency ?? 0) >= 2, `keys removed: ${report?.removed.hookIdempotency}`);
    assert.ok((report?.removed.hookSignatures ?? 0) >= 2, `signatures removed: ${report?.removed.hookSignatures}`);
    const linesOf = (file: string) => readFileSync(join(dataDir, file), 'utf8').split('\n').filter(Boolean).map((line) => JSON.parse(line) as { key?: string });
    assert.deepEqual(linesOf(IDEMPOTENCY_FILE).map((line) => line.key), ['INC-5005']);
    assert.equal(linesOf(SIGNATURES_FILE).length, 1);
    const repeated = await accepted(await hook('itsm', payload, { idempotencyKey: 'INC-5005' }));
    assert.equal(repeated.id, live.id);
  });
});
