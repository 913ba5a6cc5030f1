/**
 * The executor's REST API (restify), exactly at DESIGN.md's fixed points. Every route is
 * declared through the route kit (routes.ts) with who may call it; every `/v1` route but the
 * signed hooks is behind a bearer token; every error leaves as
 * `{ error: { code, message, correlationId } }`.
 */
import restify, { type Request, type Response, type Server } from 'restify';
import type { Logger } from 'pino';
import { z } from 'zod';
import { newCorrelationId } from '../../lib/ids.ts';
import { closeAfterAnswer } from '../../lib/http-body.ts';
import {
  CancelRunRequestSchema,
  CreateRunRequestSchema,
  DecisionRequestSchema,
  DeputyError,
  ERRORS,
  HEADER_CORRELATION_ID,
  HEADER_IDEMPOTENCY_KEY,
  HEADER_IDEMPOTENT_REPLAYED,
  IdempotencyKeySchema,
  ResolveIdentityRequestSchema,
  RunListQuerySchema,
  isDeputyError,
  type ActionView,
  type ErrorBody,
  type ErrorCode,
  type Persona,
  type TargetRef,
} from '../contract/index.ts';
import type { Action, Principal, RunRecord } from '../domain.ts';
import type { EventStream } from '../event-stream.ts';
import type { ExecutorEvent } from '../events.ts';
import { RESULT_HTML, type RunService } from '../runs/service.ts';
import { toActionView, toRunView } from '../runs/views.ts';
import type { ExecutorStore } from '../store/state-port.ts';
import type { RefusalThrottle } from '../store/refusal-audit.ts';
import type { TokenCheck } from './auth.ts';
import { RefusalAudit } from './refusals.ts';
import { createRouteKit, type DeclaredRoute, type HttpContext, type RouteKit } from './routes.ts';

export interface Readiness {
  ready: boolean;
  checks: Record<string, { ok: boolean; detail?: string }>;
}

export interface ApiDependencies {
  store: ExecutorStore;
  runs: RunService;
  /** Every executor's events (the outbox on PostgreSQL): what `GET /v1/events` streams. */
  events: EventStream;
  visibleActions: (principalId: string) => Action[];
  /** For an action with targets: the ones this principal may choose (undefined: it runs on the executor). */
  targetChoices?: (principalId: string, action: Action) => TargetRef[] | undefined;
  tokens: TokenCheck;
  /** Whether a `Host` header names this executor (see auth.ts `createHostCheck`). */
  hostAllowed: (hostHeader: string | undefined) => boolean;
  readiness: () => Readiness;
  logger: Logger;
  /** The executor's one throttle for audited refusals (shared with the hooks). */
  refusals: RefusalThrottle;
  demo: boolean;
  /** How runs are isolated, shown with the demo's personas (docs/security.md). */
  runIsolation?: string;
  /** Body limit for every route, in bytes. */
  maxBodyBytes?: number;
  sseHeartbeatMs?: number;
  /** Further routes (connectors, plans, scripts), declared after the built-in ones. */
  registerRoutes?: ((kit: RouteKit) => void)[];
}

export interface ApiServer {
  server: Server;
  /** Every route mounted on the server, with its declared authentication. */
  routes(): DeclaredRoute[];
}

const CORRELATION_PATTERN = /^[A-Za-z0-9._-]{8,100}$/;
const PrincipalIdSchema = z.string().min(1).max(200);
/** `?principal=` on reads of one run: whose eyes it is read with (the bot's token must say). */
const RunReadQuerySchema = z.strictObject({ principal: PrincipalIdSchema.optional() });
const ActionListQuerySchema = z.strictObject({ principal: PrincipalIdSchema });

/** Maps restify's own errors (unknown route, wrong method) into the registry. */
function registryCodeFor(error: { statusCode?: number; code?: string }): ErrorCode {
  switch (error.statusCode) {
    case 401:
      return 'DEPUTY_E_UNAUTHENTICATED';
    case 404:
    case 405:
      return 'DEPUTY_E_NOT_FOUND';
    case 413:
      return 'DEPUTY_E_PAYLOAD_TOO_LARGE';
    case 415:
      return 'DEPUTY_E_UNSUPPORTED_MEDIA_TYPE';
    case 400:
      return 'DEPUTY_E_BAD_REQUEST';
    default:
      return 'DEPUTY_E_INTERNAL';
  }
}

/** A chat identity the bot can have verified; the web chat's personas count only in demo mode, where the web chat exists. */
function hasChatIdentity(principal: Principal, demo: boolean): boolean {
  const { teams, slack, webchat } = principal.identities;
  return teams !== undefined || slack !== undefined || (demo && webchat !== undefined);
}

export function createApiServer(deps: ApiDependencies): ApiServer {
  const { store, runs, events, logger } = deps;
  const contexts = new WeakMap<Request, HttpContext>();
  const server = restify.createServer({ name: 'deputy-executor', handleUncaughtExceptions: false });
  const refusals = new RefusalAudit(deps.refusals);

  const contextOf = (req: Request): HttpContext => {
    let context = contexts.get(req);
    if (!context) {
      const given = req.header(HEADER_CORRELATION_ID);
      context = { correlationId: given && CORRELATION_PATTERN.test(given) ? given : newCorrelationId(), via: 'anonymous', caller: 'anonymous' };
      contexts.set(req, context);
    }
    return context;
  };

  /** The registry's answer; a refusal (decided before a route's own code) is audited too. Logs name the path, never the query. */
  const fail = async (req: Request, res: Response, error: unknown, refused: { route: string } | undefined): Promise<void> => {
    const context = contextOf(req);
    const { correlationId } = context;
    const known = isDeputyError(error) ? error : undefined;
    const code: ErrorCode = known?.code ?? 'DEPUTY_E_INTERNAL';
    const path = req.getPath();
    if (!known || known.status >= 500) logger.error({ err: error, correlationId, method: req.method, path }, 'request failed');
    else logger.info({ code, detail: known.detail, correlationId, method: req.method, path, via: context.via }, 'request refused');
    if (refused && known) {
      try {
        await refusals.record({
          code,
          correlationId,
          method: req.method ?? '',
          route: refused.route,
          source: req.socket.remoteAddress,
          reason: known.detail,
          ...(context.caller === 'anonymous' ? {} : { via: context.via }),
        });
      } catch (auditError) {
        logger.error({ err: auditError, correlationId }, 'refusal not audited');
      }
    }
    const body: ErrorBody = {
      error: { code, message: known?.message ?? ERRORS[code].message, correlationId, ...(known?.fields ? { fields: known.fields } : {}) },
    };
    if (res.headersSent) return;
    res.header(HEADER_CORRELATION_ID, correlationId);
    res.send(ERRORS[code].status, body);
  };

  const principalOrThrow = (id: string | undefined): Principal => {
    const principal = id ? store.catalog.getPrincipal(id) : undefined;
    if (!principal) throw new DeputyError('DEPUTY_E_NOT_ENROLLED', { detail: `unknown principal ${id ?? '(none)'}` });
    return principal;
  };

  /** A run by id; read on someone's behalf (`?principal=`), only if they may see it, and "not found" otherwise. */
  const readableRun = async (id: string, asking: string | undefined): Promise<RunRecord> => {
    const run = await runs.get(id);
    if (!run || (asking !== undefined && !runs.visibleTo(asking, run))) throw new DeputyError('DEPUTY_E_NOT_FOUND');
    return run;
  };

  server.pre((req, res, next) => {
    const context = contextOf(req);
    res.header(HEADER_CORRELATION_ID, context.correlationId);
    res.header('cache-control', 'no-store');
    // Before routing and before any byte of the body: a request for another name is not ours.
    if (!deps.hostAllowed(req.headers.host)) {
      closeAfterAnswer(req, res);
      const host = (req.headers.host ?? '(none)').slice(0, 100);
      const refusal = new DeputyError('DEPUTY_E_HOST_NOT_ALLOWED', { detail: `Host ${host} is not one of this executor's names (DEPUTY_EXECUTOR_ALLOWED_HOSTS)` });
      void fail(req, res, refusal, { route: req.getPath() }).finally(() => next(false));
      return;
    }
    next();
  });

  server.on('restifyError', (req: Request, res: Response, error: Error & { statusCode?: number; toJSON?: () => unknown }, callback: () => void) => {
    // No route read the body: a request for no route does not get its body read either.
    closeAfterAnswer(req, res);
    const code = registryCodeFor(error);
    const { correlationId } = contextOf(req);
    if (code === 'DEPUTY_E_INTERNAL') logger.error({ err: error, correlationId }, 'unhandled request error');
    error.toJSON = () => ({ error: { code, message: ERRORS[code].message, correlationId } });
    callback();
  });

  const kit = createRouteKit({
    server,
    tokens: deps.tokens,
    maxBodyBytes: deps.maxBodyBytes ?? 256 * 1024,
    contextOf,
    fail,
    chatStanding: (principalId) => {
      const principal = store.catalog.getPrincipal(principalId);
      if (!principal) return 'unknown';
      return hasChatIdentity(principal, deps.demo) ? 'ok' : 'no-chat';
    },
  });

  kit.get('/healthz', { auth: 'public', principal: 'none' }, (_req, res) => void res.send(200, { status: 'alive' }));
  kit.get('/readyz', { auth: 'public', principal: 'none' }, (_req, res, context) => {
    const readiness = deps.readiness();
    // Paths and versions help an attacker as much as an operator: the detail is for token holders.
    const checks = context.caller === 'anonymous' ? Object.fromEntries(Object.entries(readiness.checks).map(([name, check]) => [name, { ok: check.ok }])) : readiness.checks;
    res.send(readiness.ready ? 200 : 503, { status: readiness.ready ? 'ready' : 'not-ready', checks });
  });

  kit.post('/v1/identities/resolve', { auth: 'bearer', body: ResolveIdentityRequestSchema, principal: 'none' }, async (_req, res, context, { body }) => {
    const { identity } = body;
    const principal = store.catalog.findPrincipalByIdentity(identity);
    await store.audit.append({
      type: 'identity.resolve',
      outcome: principal ? 'allowed' : 'denied',
      correlationId: context.correlationId,
      via: context.via,
      ...(principal ? { actor: principal.id } : {}),
      detail: { identity },
    });
    if (!principal) throw new DeputyError('DEPUTY_E_NOT_ENROLLED', { detail: JSON.stringify(identity) });
    res.send(200, { principal: { id: principal.id, name: principal.name, tenant: principal.tenant, roles: principal.roles } });
  });

  kit.get('/v1/personas', { auth: 'bearer', principal: 'none' }, (_req, res) => {
    // The persona picker is an impersonation switch: it exists only in demo mode.
    if (!deps.demo) throw new DeputyError('DEPUTY_E_NOT_FOUND', { detail: 'personas are only listed in demo mode' });
    const personas: Persona[] = store.catalog
      .snapshot()
      .principals.filter((principal) => principal.identities.webchat)
      .map((principal) => ({
        persona: principal.identities.webchat ?? principal.id,
        principalId: principal.id,
        name: principal.name,
        roles: principal.roles,
        tenant: principal.tenant,
      }));
    res.send(200, { personas, ...(deps.runIsolation ? { runIsolation: deps.runIsolation } : {}) });
  });

  kit.get('/v1/actions', { auth: 'bearer', query: ActionListQuerySchema }, async (_req, res, context, { query }) => {
    const principal = principalOrThrow(query.principal);
    const actions: ActionView[] = [];
    for (const action of deps.visibleActions(principal.id)) {
      const script = store.catalog.getScript(action.scriptId);
      const version = script && runs.versionFor(action, script);
      if (script && version) actions.push(toActionView(action, script, version, deps.targetChoices?.(principal.id, action)));
    }
    await store.audit.append({
      type: 'actions.list',
      outcome: 'allowed',
      correlationId: context.correlationId,
      actor: principal.id,
      via: context.via,
      detail: { count: actions.length },
    });
    res.send(200, { actions });
  });

  kit.post('/v1/runs', { auth: 'bearer', body: CreateRunRequestSchema }, async (req, res, context, { body }) => {
    principalOrThrow(body.principalId);
    // One press runs once: a repeated Idempotency-Key answers the first run (README, REST API).
    const { run, replayed } = await runs.createOnce(body, context, idempotencyKeyOf(req.header(HEADER_IDEMPOTENCY_KEY)));
    if (replayed) res.header(HEADER_IDEMPOTENT_REPLAYED, 'true');
    res.send(202, { id: run.id, state: run.state, correlationId: run.correlationId, run: toRunView(run) });
  });

  kit.get('/v1/runs', { auth: 'bearer', query: RunListQuerySchema }, async (_req, res, _context, { query }) => {
    const list = await runs.list({ limit: query.limit, ...(query.principal ? { principal: query.principal } : {}), ...(query.state ? { state: query.state } : {}) });
    res.send(200, { runs: list.map((run) => toRunView(run)) });
  });

  kit.get('/v1/runs/:id', { auth: 'bearer', query: RunReadQuerySchema }, async (req, res, _context, { query }) => {
    const run = await readableRun(String(req.params.id), query.principal);
    const streams = await runs.readOutput(run.id);
    res.send(200, toRunView(run, streams));
  });

  kit.get('/v1/runs/:id/output', { auth: 'bearer', query: RunReadQuerySchema }, async (req, res, _context, { query }) => {
    const run = await readableRun(String(req.params.id), query.principal);
    const records = (await runs.readOutput(run.id)).filter((record) => record.attachment === undefined);
    const text = records.map((record) => (record.stream === 'output' ? record.text : `[${record.stream}] ${record.text}`)).join('\n');
    res.setHeader('content-type', 'text/plain; charset=utf-8');
    res.setHeader('content-disposition', `attachment; filename="${run.id}.txt"`);
    res.writeHead(200);
    res.end(text);
  });

  kit.get('/v1/runs/:id/html', { auth: 'bearer', query: RunReadQuerySchema }, async (req, res, _context, { query }) => {
    const run = await readableRun(String(req.params.id), query.principal);
    const html = (await runs.readOutput(run.id)).find((record) => record.attachment === RESULT_HTML);
    if (!html) throw new DeputyError('DEPUTY_E_NOT_FOUND', { detail: `run ${run.id} has no HTML result` });
    // A report made by a script: a download, never a page rendered with this origin's rights.
    res.setHeader('content-type', 'text/html; charset=utf-8');
    res.setHeader('content-disposition', `attachment; filename="${run.id}.html"`);
    res.setHeader('content-security-policy', 'sandbox');
    res.setHeader('x-content-type-options', 'nosniff');
    res.writeHead(200);
    res.end(html.text);
  });

  kit.post('/v1/runs/:id/cancel', { auth: 'bearer', body: CancelRunRequestSchema }, async (req, res, context, { body }) => {
    const run = await runs.cancel(String(req.params.id), body.principalId, context);
    res.send(202, { id: run.id, state: run.state });
  });

  kit.post('/v1/runs/:id/decision', { auth: 'bearer', body: DecisionRequestSchema }, async (req, res, context, { body }) => {
    const run = await runs.decide(String(req.params.id), body, context);
    res.send(200, { id: run.id, state: run.state });
  });

  // The bot follows every run to notify people; the stream names no principal (docs/security.md says what that exposes).
  kit.get('/v1/events', { auth: 'bearer', principal: 'none' }, (req, res) => {
    const lastEventHeader = req.header('last-event-id');
    // 0 is a place to resume from too: the outbox numbers its first event 1.
    const lastEventId = lastEventHeader === undefined || lastEventHeader.trim() === '' ? Number.NaN : Number(lastEventHeader);
    res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-store', connection: 'keep-alive', 'x-accel-buffering': 'no' });
    res.write(': connected\n\n');
    let sent = 0;
    const write = (event: ExecutorEvent) => {
      // Each event once, in order: the live ones that arrive while the missed ones are read come after them.
      if (event.seq <= sent) return;
      sent = event.seq;
      res.write(`id: ${event.seq}\nevent: ${event.type}\ndata: ${JSON.stringify(event)}\n\n`);
    };
    const resumeFrom = Number.isInteger(lastEventId) && lastEventId >= 0 ? lastEventId : undefined;
    const early: ExecutorEvent[] = [];
    let replaying = resumeFrom !== undefined;
    const unsubscribe = events.subscribe((event) => (replaying ? early.push(event) : write(event)));
    const heartbeat = setInterval(() => res.write(': keep-alive\n\n'), deps.sseHeartbeatMs ?? 15_000);
    req.on('close', () => {
      clearInterval(heartbeat);
      unsubscribe();
    });
    if (resumeFrom === undefined) return;
    sent = resumeFrom;
    void replayMissed(resumeFrom)
      .catch((error: unknown) => deps.logger.error({ err: error }, 'reading the events a client missed failed'))
      .finally(() => {
        replaying = false;
        for (const event of early.splice(0)) write(event);
      });
    async function replayMissed(after: number): Promise<void> {
      for (let from = after; ; ) {
        const page = await events.since(from, 1000);
        for (const event of page) write(event);
        const last = page[page.length - 1];
        if (page.length < 1000 || !last) return;
        from = last.seq;
      }
    }
  });

  for (const register of deps.registerRoutes ?? []) register(kit);

  return { server, routes: kit.routes };
}

function idempotencyKeyOf(header: string | undefined): string | undefined {
  if (header === undefined) return undefined;
  const key = IdempotencyKeySchema.safeParse(header);
  if (!key.success) throw new DeputyError('DEPUTY_E_BAD_REQUEST', { fields: { 'Idempotency-Key': key.error.issues[0]?.message ?? 'invalid' }, detail: 'malformed Idempotency-Key' });
  return key.data;
}
