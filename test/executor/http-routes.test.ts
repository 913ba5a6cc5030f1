/**
 * The route kit on its own (real restify on loopback): deny by default, refusals audited with
 * bounded fields and at most so many a minute per source, and the operator's token file.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import restify, { type Request, type Response, type Server } from 'restify';
import { z } from 'zod';
import { DeputyError, ERRORS, isDeputyError } from '../../executor/contract/index.ts';
import { createTokenCheck } from '../../executor/http/auth.ts';
import { RefusalAudit } from '../../executor/http/refusals.ts';
import { RefusalThrottle } from '../../executor/store/refusal-audit.ts';
import { createRouteKit, type HttpContext } from '../../executor/http/routes.ts';
import { createMemoryStore } from '../../executor/store/memory.ts';
import { loadOrCreateToken, OPERATOR_TOKEN_FILE } from '../../executor/token.ts';
import { ManualClock } from '../../lib/clock.ts';

const BOT = 'b'.repeat(43);
const OPERATOR = 'o'.repeat(43);

describe('route kit', () => {
  let server: Server;
  let url: string;
  let kit: ReturnType<typeof createRouteKit>;
  const reached: string[] = [];

  before(async () => {
    server = restify.createServer({ handleUncaughtExceptions: false });
    const contexts = new WeakMap<Request, HttpContext>();
    kit = createRouteKit({
      server,
      tokens: createTokenCheck({ bot: [BOT], operator: [OPERATOR] }),
      maxBodyBytes: 1024,
      contextOf: (req) => {
        const context = contexts.get(req) ?? { correlationId: 'c0ffee-test-id', via: 'anonymous', caller: 'anonymous' };
        contexts.set(req, context);
        return context;
      },
      chatStanding: (principalId) => (principalId === 'alex' ? 'ok' : principalId === 'svc' ? 'no-chat' : 'unknown'),
      fail: async (_req: Request, res: Response, error: unknown) => {
        const code = isDeputyError(error) ? error.code : 'DEPUTY_E_INTERNAL';
        res.send(ERRORS[code].status, { error: { code } });
      },
    });
    kit.get('/declared', { auth: 'bearer', query: z.strictObject({ principal: z.string().optional() }) }, (_req, res, context, { query }) => {
      reached.push(`declared:${context.caller}:${query.principal ?? '-'}`);
      res.send(200, { ok: true });
    });
    kit.post('/echo', { auth: 'bearer', body: z.object({ principalId: z.string(), text: z.string() }) }, (_req, res, _context, { body }) => {
      reached.push(`echo:${body.text}`);
      res.send(200, body);
    });
    kit.get('/failing', { auth: 'public', principal: 'none' }, () => {
      throw new DeputyError('DEPUTY_E_CONFLICT');
    });
    // Mounted around the kit: it must never be reached.
    server.get('/sneaky', async (_req: Request, res: Response) => {
      reached.push('sneaky');
      res.send(200, { ok: true });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => server.close());

  const get = (path: string, token?: string) => fetch(`${url}${path}`, { headers: token ? { authorization: `Bearer ${token}` } : {} });

  it('answers 404 for a route mounted around the kit, with or without a token', async () => {
    assert.equal((await get('/sneaky')).status, 404);
    assert.equal((await get('/sneaky', OPERATOR)).status, 404);
    assert.ok(!reached.includes('sneaky'));
  });

  it('lists every mounted route with its declared authentication, the undeclared one without', () => {
    const routes = kit.routes().map((route) => `${route.method} ${route.path} ${route.auth ?? '(undeclared)'}`);
    assert.deepEqual(routes.sort(), ['GET /declared bearer', 'GET /failing public', 'GET /sneaky (undeclared)', 'POST /echo bearer']);
  });

  it('lets the operator read without naming a principal, and the bot only for a chat principal', async () => {
    assert.equal((await get('/declared')).status, 401);
    assert.equal((await get('/declared', OPERATOR)).status, 200);
    assert.equal((await get('/declared', BOT)).status, 403);
    assert.equal((await get('/declared?principal=alex', BOT)).status, 200);
    assert.equal((await get('/declared?principal=svc', BOT)).status, 403);
    assert.equal((await get('/declared?principal=nobody', BOT)).status, 403);
    assert.deepEqual(reached.filter((entry) => entry.startsWith('declared')), ['declared:operator:-', 'declared:bot:alex']);
  });

  it('passes the parsed body, and reports a route failure through the registry', async () => {
    const answer = await fetch(`${url}/echo`, { method: 'POST', headers: { authorization: `Bearer ${BOT}`, 'content-type': 'application/json' }, body: JSON.stringify({ principalId: 'alex', text: 'hi' }) });
    assert.equal(answer.status, 200);
    assert.ok(reached.includes('echo:hi'));
    const invalid = await fetch(`${url}/echo`, { method: 'POST', headers: { authorization: `Bearer ${BOT}`, 'content-type': 'application/json' }, body: '{"principalId":"alex"' });
    assert.equal(invalid.status, 400);
    assert.equal((await get('/failing')).status, 409);
  });
});

describe('refusal audit', () => {
  it('bounds every field and passes the executor\'s refusal throttle: a burst per source, then a count of the rest', async () => {
    const clock = new ManualClock();
    const store = createMemoryStore({ clock });
    const refusals = new RefusalAudit(new RefusalThrottle({ audit: store.audit, clock }));
    const refuse = (source: string) =>
      refusals.record({ code: 'DEPUTY_E_UNAUTHENTICATED', correlationId: 'c0ffee-test-id', method: 'POST', route: `/v1/${'x'.repeat(10_000)}`, source, reason: 'y'.repeat(10_000) });
    for (let index = 0; index < 100; index += 1) await refuse('10.0.0.1');
    await refuse('10.0.0.2');
    let entries = await store.audit.read({ limit: 1000 });
    assert.equal(entries.filter((entry) => entry.detail.source === '10.0.0.1').length, 30);
    assert.equal(entries.filter((entry) => entry.detail.source === '10.0.0.2').length, 1, 'another source has its own budget');
    assert.ok(entries.every((entry) => entry.type === 'http.refused' && JSON.stringify(entry).length < 1000), 'bounded');
    clock.advance(2_000);
    await refuse('10.0.0.1');
    entries = await store.audit.read({ limit: 1000 });
    assert.deepEqual(entries.slice(-2).map((entry) => [entry.type, entry.detail.refusals ?? entry.detail.source]), [['audit.suppressed', 70], ['http.refused', '10.0.0.1']]);
  });
});

describe('operator token file', () => {
  it('is made on first start with mode 0600 and kept after', () => {
    const folder = mkdtempSync(join(tmpdir(), 'deputy-token-'));
    try {
      const first = loadOrCreateToken(folder, OPERATOR_TOKEN_FILE);
      assert.ok(first.length >= 32);
      assert.equal(statSync(join(folder, OPERATOR_TOKEN_FILE)).mode & 0o777, 0o600);
      assert.equal(readFileSync(join(folder, OPERATOR_TOKEN_FILE), 'utf8').trim(), first);
      assert.equal(loadOrCreateToken(folder, OPERATOR_TOKEN_FILE), first);
      assert.notEqual(loadOrCreateToken(folder), first, 'the bot token is another file and another value');
    } finally {
      rmSync(folder, { recursive: true, force: true });
    }
  });
});
