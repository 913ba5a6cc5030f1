/**
 * The executor's HTTP surface as an attacker meets it (issue 14, items 1–3 and 12, and what the
 * bot's token may do): a real executor on loopback, requests written byte for byte.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import zlib from 'node:zlib';
import sinon from 'sinon';
import { ErrorBodySchema, type RunView } from '../../executor/contract/index.ts';
import type { AuditEntry } from '../../executor/domain.ts';
import { ManualClock } from '../../lib/clock.ts';
import { createLogger } from '../../lib/logger.ts';
import { startTestExecutor, type TestExecutor } from '../helpers/executor.ts';
import { headFirst, rawRequest } from '../helpers/raw-http.ts';

/** Ways to write a path that a router may decode, tidy or refuse, but never let past its token check. */
function spellings(path: string): string[] {
  const encodeAll = (text: string, hex: (code: number) => string) =>
    text.split('/').map((segment) => [...segment].map((char) => `%${hex(char.charCodeAt(0))}`).join('')).join('/');
  const versioned = path.startsWith('/v1/');
  const rest = path.slice('/v1/'.length);
  return [
    path,
    encodeAll(path, (code) => code.toString(16).toUpperCase()),
    encodeAll(path, (code) => code.toString(16).toLowerCase()),
    ...(versioned
      ? [
          `/%76%31/${rest}`,
          `/v%31/${rest}`,
          `/%761/${rest}`,
          `/%2576%2531/${rest}`,
          `/v1//${rest}`,
          `/v1/./${rest}`,
          `/v1/x/../${rest}`,
          `/v1/%2e/${rest}`,
          `/v1/x/%2e%2e/${rest}`,
          `/v1;x/${rest}`,
          `/V1/${rest}`,
          `/v1%2F${rest}`,
          `/v1\\${rest}`,
        ]
      : []),
    `/${path}`,
    `/.${path}`,
    `/x/..${path}`,
    `${path};x`,
    path.toUpperCase(),
    `${path}/`,
  ];
}

async function errorOf(response: Response) {
  return ErrorBodySchema.parse(await response.json()).error;
}

describe('executor HTTP surface (real executor on loopback)', function () {
  this.timeout(120_000);
  const logs: string[] = [];
  // Refusals are audited at most 60 a minute per source; tests that look for theirs start a new minute.
  const clock = new ManualClock(Date.now());
  const newMinute = () => clock.advance(61_000);
  let executor: TestExecutor;
  let alexRun: string;
  const bot = (token: TestExecutor) => ({ authorization: `Bearer ${token.token}` });
  const operator = (token: TestExecutor) => ({ authorization: `Bearer ${token.operatorToken}` });
  const refusals = async () => (await executor.store.audit.read({ limit: 100_000 })).filter((entry) => entry.type === 'http.refused');

  before(async () => {
    // Not demo mode: the web chat's personas are no chat identity here, so bea (web chat only) has none.
    executor = await startTestExecutor({
      config: { demo: false, allowedHosts: ['executor.test'] },
      clock,
      logger: createLogger({ level: 'info', name: 'executor', destination: { write: (line: string) => void logs.push(line) } }),
    });
    const created = await executor.api('/v1/runs', { method: 'POST', json: { actionId: 'echo', principalId: 'alex', inputs: { Message: 'hello' } } });
    assert.equal(created.status, 202, await created.clone().text());
    alexRun = ((await created.json()) as { id: string }).id;
    await executor.waitForRun(alexRun);
  });
  after(async () => {
    await executor?.dispose();
  });

  describe('the token is checked on the route, however the path is spelled', () => {
    it('declares how every mounted route authenticates', () => {
      const routes = executor.routes();
      assert.ok(routes.length >= 15, JSON.stringify(routes));
      for (const route of routes) assert.ok(route.auth, `${route.method} ${route.path} has no declared authentication`);
      const auth = (method: string, path: string) => routes.find((route) => route.method === method && route.path === path)?.auth;
      assert.equal(auth('GET', '/healthz'), 'public');
      assert.equal(auth('GET', '/readyz'), 'public');
      assert.equal(auth('POST', '/v1/hooks/:connectorId'), 'signed');
      assert.equal(auth('GET', '/v1/runs'), 'bearer');
      assert.equal(routes.filter((route) => route.auth === 'public').length, 2, 'only the health routes are public');
      assert.equal(routes.filter((route) => route.auth === 'signed').length, 1, 'only the hooks are signed');
    });

    it('refuses every spelling of every non-public route without a token, and nothing happens', async () => {
      const values: Record<string, string> = { id: alexRun, connectorId: 'nobody', command: 'disable' };
      const before = (await executor.store.runs.list({ limit: 500 })).length;
      const lastSeq = (await executor.store.audit.read({ limit: 1 }))[0]?.seq ?? 0;
      const body = JSON.stringify({ actionId: 'echo', principalId: 'alex', inputs: { Message: 'sneaked in' }, decision: 'approve', to: 'draft', identity: { channel: 'slack', teamId: 'T1', userId: 'U1' } });
      let tried = 0;
      for (const route of executor.routes().filter((candidate) => candidate.auth !== 'public')) {
        const path = route.path.replace(/:(\w+)/g, (_match, name: string) => values[name] ?? 'x');
        const methods = route.method === 'GET' ? ['GET', 'HEAD'] : [route.method];
        for (const method of methods) {
          for (const spelled of spellings(path)) {
            // Node's client frames no body for GET, HEAD or DELETE (no length, no chunks): such a
            // body would arrive as a second, garbled request. These routes take none anyway.
            const bodiless = method === 'GET' || method === 'HEAD' || method === 'DELETE';
            const headers: Record<string, string> = bodiless ? {} : { 'content-type': 'application/json' };
            const answer = await rawRequest(executor.url, method, spelled, headers, bodiless ? undefined : body);
            tried += 1;
            const where = `${method} ${spelled} (route ${route.path})`;
            assert.ok([400, 401, 404, 405].includes(answer.status), `${where} answered ${answer.status}: ${answer.body.slice(0, 200)}`);
            if (spelled === path && method === route.method && route.auth === 'bearer') assert.equal(answer.status, 401, where);
          }
        }
      }
      assert.ok(tried > 300, `${tried} requests`);
      assert.equal((await executor.store.runs.list({ limit: 500 })).length, before, 'no run was started');
      const since = (await executor.store.audit.read({ sinceSeq: lastSeq, limit: 100_000 })).filter((entry) => entry.outcome === 'allowed');
      assert.deepEqual(since.map((entry) => entry.type), [], 'nothing was allowed');
    });

    it('routes a decoded spelling to the same route, and checks the same token there', async () => {
      const spelled = await rawRequest(executor.url, 'GET', '/%76%31/runs', operator(executor));
      assert.equal(spelled.status, 200, spelled.body);
      assert.ok((JSON.parse(spelled.body) as { runs: RunView[] }).runs.some((run) => run.id === alexRun));
      const wrong = await rawRequest(executor.url, 'GET', '/%76%31/runs', { authorization: `Bearer ${executor.operatorToken}x` });
      assert.equal(wrong.status, 401);
    });
  });

  describe('no cross-site requests', () => {
    const post = (contentType: string, body: string | FormData) =>
      fetch(`${executor.url}/v1/runs`, { method: 'POST', headers: { ...bot(executor), ...(contentType ? { 'content-type': contentType } : {}) }, body });

    it('takes JSON only: a form, text or multipart body gets 415, even with the token, and starts nothing', async () => {
      const before = (await executor.store.runs.list({ limit: 500 })).length;
      const fields = { actionId: 'echo', principalId: 'alex', 'inputs[Message]': 'from a form' };
      const form = new FormData();
      for (const [name, value] of Object.entries(fields)) form.set(name, value);
      const answers = [
        await post('application/x-www-form-urlencoded', new URLSearchParams(fields).toString()),
        // The classic JSON-in-a-text/plain-form trick.
        await post('text/plain', JSON.stringify({ actionId: 'echo', principalId: 'alex', inputs: { Message: 'x' }, padding: '=' })),
        await post('', form),
        await post('application/json-patch+json', '{}'),
      ];
      for (const answer of answers) {
        assert.equal(answer.status, 415, await answer.clone().text());
        assert.equal((await errorOf(answer)).code, 'DEPUTY_E_UNSUPPORTED_MEDIA_TYPE');
      }
      assert.equal((await executor.store.runs.list({ limit: 500 })).length, before);
      const json = await post('application/json; charset=utf-8', JSON.stringify({ actionId: 'echo', principalId: 'alex', inputs: { Message: 'json is fine' } }));
      assert.equal(json.status, 202);
    });

    it('answers only to its own names in Host: loopback, its address and DEPUTY_EXECUTOR_ALLOWED_HOSTS', async () => {
      newMinute();
      const port = new URL(executor.url).port;
      for (const host of ['evil.example', `evil.example:${port}`, `localhost.evil.example:${port}`, `127.0.0.1.nip.io:${port}`]) {
        const answer = await rawRequest(executor.url, 'GET', '/v1/actions?principal=alex', { ...bot(executor), host });
        assert.equal(answer.status, 421, host);
        assert.equal(ErrorBodySchema.parse(JSON.parse(answer.body)).error.code, 'DEPUTY_E_HOST_NOT_ALLOWED');
      }
      for (const host of [`127.0.0.1:${port}`, `localhost:${port}`, `executor.test:${port}`, 'EXECUTOR.TEST']) {
        assert.equal((await rawRequest(executor.url, 'GET', '/v1/actions?principal=alex', { ...bot(executor), host })).status, 200, host);
      }
      const audited = (await refusals()).filter((entry) => entry.detail.code === 'DEPUTY_E_HOST_NOT_ALLOWED');
      assert.ok(audited.length >= 4);
    });
  });

  describe('nothing is unpacked before the caller is known', () => {
    const port = () => new URL(executor.url).port;
    const head = (lines: string[], authorized: boolean) => [
      lines[0] ?? '',
      `Host: 127.0.0.1:${port()}`,
      ...(authorized ? [`Authorization: Bearer ${executor.token}`] : []),
      ...lines.slice(1),
    ];
    let inflaters: sinon.SinonSpy[] = [];
    beforeEach(() => {
      inflaters = (['createGunzip', 'createInflate', 'createUnzip', 'createBrotliDecompress', 'createInflateRaw'] as const).map((name) => sinon.spy(zlib, name));
    });
    afterEach(() => sinon.restore());
    const inflated = () => inflaters.filter((spy) => spy.called).map((spy) => spy.toString());

    it('answers 401 to a compressed body without a token before a byte of it is sent, and inflates nothing', async () => {
      const answer = await headFirst(executor.url, head(['POST /v1/runs HTTP/1.1', 'Content-Type: application/json', 'Content-Encoding: gzip', 'Content-Length: 100000000'], false));
      assert.equal(answer.status, 401, answer.text || 'no answer: the server waited for the body');
      assert.match(answer.text, /DEPUTY_E_UNAUTHENTICATED/);
      assert.deepEqual(inflated(), []);
    });

    it('refuses compressed, multipart and oversized bodies from a token holder the same way: unread', async () => {
      const cases: [string[], number][] = [
        [['POST /v1/runs HTTP/1.1', 'Content-Type: application/json', 'Content-Encoding: gzip', 'Content-Length: 100000'], 415],
        [['POST /v1/runs HTTP/1.1', 'Content-Type: application/json', 'Content-Encoding: deflate, gzip', 'Content-Length: 100000'], 415],
        [['POST /v1/runs HTTP/1.1', 'Content-Type: multipart/form-data; boundary=x', 'Content-Length: 100000'], 415],
        [['POST /v1/runs HTTP/1.1', 'Content-Type: application/json', 'Content-Length: 50000000'], 413],
      ];
      for (const [lines, status] of cases) {
        const answer = await headFirst(executor.url, head(lines, true));
        assert.equal(answer.status, status, `${lines.join(' | ')}: ${answer.text || 'no answer: the server waited for the body'}`);
        assert.match(answer.text, /connection: close/i, 'the unread rest of the body ends the connection');
      }
      assert.deepEqual(inflated(), []);
    });

    it('answers a body sent to no route without reading it, and closes the connection', async () => {
      const answer = await headFirst(executor.url, head(['POST /v1/nothing-here HTTP/1.1', 'Content-Type: application/json', 'Content-Length: 100000000'], false));
      assert.equal(answer.status, 404, answer.text || 'no answer');
      assert.match(answer.text, /connection: close/i);
    });

    it('stops reading a streamed body at the limit and answers 413 without waiting for its end', async () => {
      const chunk = Buffer.alloc(300 * 1024, 'a');
      const answer = await headFirst(
        executor.url,
        head(['POST /v1/runs HTTP/1.1', 'Content-Type: application/json', 'Transfer-Encoding: chunked'], true),
        Buffer.concat([Buffer.from(`${chunk.length.toString(16)}\r\n`), chunk, Buffer.from('\r\n')]),
      );
      assert.equal(answer.status, 413, answer.text || 'no answer: the server waited for the end of the body');
      assert.match(answer.text, /DEPUTY_E_PAYLOAD_TOO_LARGE/);
    });

    it('a real gzip bomb: 401 without the token, 415 with it, never inflated', async () => {
      const bomb = zlib.gzipSync(Buffer.alloc(100 * 1024 * 1024));
      assert.ok(bomb.length < 200 * 1024);
      for (const [headers, status] of [[{}, 401], [bot(executor), 415]] as const) {
        const answer = await fetch(`${executor.url}/v1/runs`, { method: 'POST', headers: { ...headers, 'content-type': 'application/json', 'content-encoding': 'gzip' }, body: bomb });
        assert.equal(answer.status, status);
      }
      assert.deepEqual(inflated(), []);
    });

    it('leaves no temporary file behind for a multipart upload, with or without the token', async () => {
      await executor.runs.idle();
      const folder = mkdtempSync(join(tmpdir(), 'deputy-uploads-'));
      const previous = process.env.TMPDIR;
      process.env.TMPDIR = folder;
      try {
        const statuses: number[] = [];
        for (const headers of [{}, bot(executor)]) {
          const form = new FormData();
          form.set('actionId', 'echo');
          form.set('file', new Blob([Buffer.alloc(64 * 1024, 'x')]), 'payload.bin');
          statuses.push((await fetch(`${executor.url}/v1/runs`, { method: 'POST', headers, body: form })).status);
        }
        assert.deepEqual(readdirSync(folder), []);
        assert.deepEqual(statuses, [401, 415]);
      } finally {
        if (previous === undefined) delete process.env.TMPDIR;
        else process.env.TMPDIR = previous;
        rmSync(folder, { recursive: true, force: true });
      }
    });

    it('refuses a body on a route that takes none', async () => {
      const answer = await rawRequest(executor.url, 'GET', `/v1/runs/${alexRun}?principal=alex`, { ...bot(executor), 'content-type': 'application/json' }, '{}');
      assert.equal(answer.status, 400, answer.body);
    });
  });

  describe('queries are plain strings, checked; refusals log the path only', () => {
    it('fails closed on an array or repeated principal when reading a run', async () => {
      for (const query of ['principal[]=bea', 'principal=alex&principal=bea', 'principal[0]=bea', 'principal=alex&principal[]=bea']) {
        const answer = await rawRequest(executor.url, 'GET', `/v1/runs/${alexRun}?${query}`, operator(executor));
        assert.equal(answer.status, 400, `${query}: ${answer.body.slice(0, 200)}`);
        const output = await rawRequest(executor.url, 'GET', `/v1/runs/${alexRun}/output?${query}`, operator(executor));
        assert.equal(output.status, 400, query);
      }
      assert.equal((await rawRequest(executor.url, 'GET', '/v1/runs?principal=alex&principal=bea', operator(executor))).status, 400);
      assert.equal((await rawRequest(executor.url, 'GET', '/v1/actions?principal=alex&extra=1', bot(executor))).status, 400);
      assert.equal((await rawRequest(executor.url, 'GET', `/v1/runs/${alexRun}?principal=max`, operator(executor))).status, 404, 'max (Munich) may not see it');
    });

    it('logs a refused request with its path, never its query string', async () => {
      const answer = await rawRequest(executor.url, 'GET', '/v1/runs?principal=alex&secret=TOPSECRET42', { authorization: 'Bearer wrong' });
      assert.equal(answer.status, 401);
      const line = logs.map((text) => JSON.parse(text) as Record<string, unknown>).find((entry) => entry.msg === 'request refused' && entry.path === '/v1/runs');
      assert.ok(line, 'the refusal is logged with its path');
      assert.ok(!logs.some((text) => text.includes('TOPSECRET42')), 'the query string is never logged');
    });

    it('shows /readyz details (paths) to token holders only', async () => {
      const anonymous = (await (await fetch(`${executor.url}/readyz`)).json()) as { checks: Record<string, { ok: boolean; detail?: string }> };
      assert.equal(anonymous.checks.pwsh?.ok, true);
      assert.ok(Object.values(anonymous.checks).every((check) => check.detail === undefined), JSON.stringify(anonymous));
      const known = (await (await fetch(`${executor.url}/readyz`, { headers: bot(executor) })).json()) as { checks: Record<string, { detail?: string }> };
      assert.match(known.checks.pwsh?.detail ?? '', /pwsh/);
    });
  });

  describe("what the bot's token may do", () => {
    const runCount = async () => (await executor.store.runs.list({ limit: 500 })).length;

    it('cannot list or read runs across principals; the operator token can', async () => {
      const list = await fetch(`${executor.url}/v1/runs`, { headers: bot(executor) });
      assert.equal(list.status, 403);
      assert.equal((await errorOf(list)).code, 'DEPUTY_E_FORBIDDEN');
      assert.equal((await fetch(`${executor.url}/v1/runs/${alexRun}`, { headers: bot(executor) })).status, 403);
      assert.equal((await fetch(`${executor.url}/v1/runs/${alexRun}/output`, { headers: bot(executor) })).status, 403);
      const own = (await (await fetch(`${executor.url}/v1/runs?principal=alex`, { headers: bot(executor) })).json()) as { runs: RunView[] };
      assert.ok(own.runs.length > 0 && own.runs.every((run) => run.principalId === 'alex'));
      assert.equal((await fetch(`${executor.url}/v1/runs/${alexRun}?principal=alex`, { headers: bot(executor) })).status, 200);
      const all = await fetch(`${executor.url}/v1/runs`, { headers: operator(executor) });
      assert.equal(all.status, 200);
    });

    it('acts only for principals with a chat identity, and the audit says which token asked', async () => {
      newMinute();
      const before = await runCount();
      const asBea = await executor.api('/v1/runs', { method: 'POST', json: { actionId: 'echo', principalId: 'bea', inputs: { Message: 'bea has no chat identity here' } } });
      assert.equal(asBea.status, 403);
      const refusal = await errorOf(asBea);
      assert.equal(refusal.code, 'DEPUTY_E_FORBIDDEN');
      assert.equal(await runCount(), before, 'nothing started');
      for (const path of ['/v1/actions?principal=bea', '/v1/scripts?principal=bea', '/v1/approvals?principal=bea', '/v1/plans?principal=bea']) {
        assert.equal((await executor.api(path)).status, 403, path);
      }
      const decision = await executor.api(`/v1/runs/${alexRun}/decision`, { method: 'POST', json: { principalId: 'bea', decision: 'approve' } });
      assert.equal(decision.status, 403);
      const entry = (await refusals()).find((candidate: AuditEntry) => candidate.correlationId === refusal.correlationId);
      assert.equal(entry?.detail.code, 'DEPUTY_E_FORBIDDEN');
      assert.match(entry?.via ?? '', /^bot:token:[0-9a-f]{12}$/);

      const byOperator = await executor.operatorApi('/v1/runs', { method: 'POST', json: { actionId: 'echo', principalId: 'bea', inputs: { Message: 'the operator may' } } });
      assert.equal(byOperator.status, 202, await byOperator.clone().text());
      const { id } = (await byOperator.json()) as { id: string };
      const request = (await executor.store.audit.read({ limit: 100_000 })).find((candidate) => candidate.type === 'run.request' && candidate.detail.runId === id);
      assert.match(request?.via ?? '', /^operator:token:[0-9a-f]{12}$/);
      await executor.waitForRun(id);
    });

    it('still does what chat needs: resolve identities, follow events, act for chat principals', async () => {
      const resolved = await executor.api('/v1/identities/resolve', { method: 'POST', json: { identity: { channel: 'slack', teamId: 'T1', userId: 'U1' } } });
      assert.equal(resolved.status, 200);
      const events = await fetch(`${executor.url}/v1/events`, { headers: bot(executor) });
      assert.equal(events.status, 200);
      await events.body?.cancel();
      const asAlex = await executor.api('/v1/runs', { method: 'POST', json: { actionId: 'echo', principalId: 'alex', inputs: { Message: 'alex is on Slack' } } });
      assert.equal(asAlex.status, 202);
      await executor.waitForRun(((await asAlex.json()) as { id: string }).id);
    });
  });

  it('audits refusals with bounded fields', async () => {
    newMinute();
    const long = `/v1/${'a'.repeat(5000)}`;
    const answer = await rawRequest(executor.url, 'GET', long, { host: `${'h'.repeat(3000)}.example` });
    assert.equal(answer.status, 421);
    const entry = (await refusals()).at(-1);
    assert.ok(entry && JSON.stringify(entry).length < 1500, JSON.stringify(entry).slice(0, 300));
  });
});
