/**
 * The executor's REST API (restify), exactly at DESIGN.md's fixed points. Every `/v1` route is
 * behind the bearer token; every error leaves as `{ error: { code, message, correlationId } }`.
 */
import restify, { type Request, type Response, type Server } from 'restify';
import type { Logger } from 'pino';
import type { ZodType } from 'zod';
import { newCorrelationId } from '../../lib/ids.ts';
import {
  CancelRunRequestSchema,
  CreateRunRequestSchema,
  DecisionRequestSchema,
  DeputyError,
  ERRORS,
  HEADER_CORRELATION_ID,
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
import type { EventBus } from '../events.ts';
import type { RequestContext, RunService } from '../runs/service.ts';
import { toActionView, toRunView } from '../runs/views.ts';
import type { Store } from '../store/port.ts';
import { bearerToken, type TokenCheck } from './auth.ts';

export interface Readiness {
  ready: boolean;
  checks: Record<string, { ok: boolean; detail?: string }>;
}

export type RouteHandler = (req: Request, res: Response, context: RequestContext) => Promise<void> | void;

/** What a module mounting its own routes gets: the wrapper that sends every failure through the registry. */
export interface RouteKit {
  route(handler: RouteHandler): (req: Request, res: Response) => Promise<void>;
}

export interface ApiDependencies {
  store: Store;
  runs: RunService;
  events: EventBus;
  visibleActions: (principalId: string) => Action[];
  /** For an action with targets: the ones this principal may choose (undefined: it runs on the executor). */
  targetChoices?: (principalId: string, action: Action) => TargetRef[] | undefined;
  tokens: TokenCheck;
  readiness: () => Readiness;
  logger: Logger;
  demo: boolean;
  /** How runs are isolated, shown with the demo's personas (docs/security.md). */
  runIsolation?: string;
  /** Body limit for every route, in bytes. */
  maxBodyBytes?: number;
  sseHeartbeatMs?: number;
  /** Further routes (connectors, plans), mounted after the built-in ones. */
  registerRoutes?: ((server: Server, kit: RouteKit) => void)[];
}

const CORRELATION_PATTERN = /^[A-Za-z0-9._-]{8,100}$/;

/** Maps restify's own errors (unknown route, bad JSON, body too large) into the registry. */
function registryCodeFor(error: { statusCode?: number; code?: string }): ErrorCode {
  switch (error.statusCode) {
    case 401:
      return 'DEPUTY_E_UNAUTHENTICATED';
    case 404:
    case 405:
      return 'DEPUTY_E_NOT_FOUND';
    case 413:
      return 'DEPUTY_E_PAYLOAD_TOO_LARGE';
    case 400:
    case 415:
      return 'DEPUTY_E_BAD_REQUEST';
    default:
      return 'DEPUTY_E_INTERNAL';
  }
}

export function createApiServer(deps: ApiDependencies): Server {
  const { store, runs, events, logger } = deps;
  const contexts = new WeakMap<Request, RequestContext>();
  const server = restify.createServer({ name: 'deputy-executor', handleUncaughtExceptions: false });
  const maxBodySize = deps.maxBodyBytes ?? 256 * 1024;

  const contextOf = (req: Request): RequestContext => {
    let context = contexts.get(req);
    if (!context) {
      const given = req.header(HEADER_CORRELATION_ID);
      context = { correlationId: given && CORRELATION_PATTERN.test(given) ? given : newCorrelationId(), via: 'anonymous' };
      contexts.set(req, context);
    }
    return context;
  };

  const sendError = (req: Request, res: Response, error: unknown) => {
    const { correlationId } = contextOf(req);
    const known = isDeputyError(error) ? error : undefined;
    const code: ErrorCode = known?.code ?? 'DEPUTY_E_INTERNAL';
    if (!known || known.status >= 500) logger.error({ err: error, correlationId, url: req.url }, 'request failed');
    else logger.info({ code, detail: known.detail, correlationId, url: req.url }, 'request refused');
    const body: ErrorBody = {
      error: { code, message: known?.message ?? ERRORS[code].message, correlationId, ...(known?.fields ? { fields: known.fields } : {}) },
    };
    res.header(HEADER_CORRELATION_ID, correlationId);
    res.send(ERRORS[code].status, body);
  };

  /** Wraps an async route so every failure goes through the registry. */
  const route =
    (handler: RouteHandler) =>
    async (req: Request, res: Response) => {
      try {
        await handler(req, res, contextOf(req));
      } catch (error) {
        sendError(req, res, error);
      }
    };

  const parse = <T>(schema: ZodType<T>, value: unknown): T => {
    const result = schema.safeParse(value);
    if (result.success) return result.data;
    const fields = Object.fromEntries(result.error.issues.map((issue) => [issue.path.join('.') || '_body', issue.message]));
    throw new DeputyError('DEPUTY_E_BAD_REQUEST', { fields, detail: JSON.stringify(fields) });
  };

  const principalOrThrow = (id: string | undefined): Principal => {
    const principal = id ? store.catalog.getPrincipal(id) : undefined;
    if (!principal) throw new DeputyError('DEPUTY_E_NOT_ENROLLED', { detail: `unknown principal ${id ?? '(none)'}` });
    return principal;
  };

  /** A run by id; read on someone's behalf (`?principal=`), only if they may see it, and "not found" otherwise. */
  const readableRun = (req: Request): RunRecord => {
    const run = runs.get(String(req.params.id));
    const asking = typeof req.query?.principal === 'string' ? req.query.principal : undefined;
    if (!run || (asking !== undefined && !runs.visibleTo(asking, run))) throw new DeputyError('DEPUTY_E_NOT_FOUND');
    return run;
  };

  server.pre((req, res, next) => {
    const context = contextOf(req);
    res.header(HEADER_CORRELATION_ID, context.correlationId);
    res.header('cache-control', 'no-store');
    next();
  });
  server.use(restify.plugins.queryParser({ mapParams: false }));
  server.use(restify.plugins.bodyParser({ mapParams: false, maxBodySize, rejectUnknown: true }));
  server.use((req, res, next) => {
    const path = req.getPath();
    if (!path.startsWith('/v1/') || path.startsWith('/v1/hooks/')) return next();
    const label = deps.tokens.match(bearerToken(req.header('authorization')));
    if (!label) {
      sendError(req, res, new DeputyError('DEPUTY_E_UNAUTHENTICATED'));
      return next(false);
    }
    contextOf(req).via = label;
    return next();
  });

  server.on('restifyError', (req: Request, _res: Response, error: Error & { statusCode?: number; toJSON?: () => unknown }, callback: () => void) => {
    const code = registryCodeFor(error);
    const { correlationId } = contextOf(req);
    if (code === 'DEPUTY_E_INTERNAL') logger.error({ err: error, correlationId }, 'unhandled request error');
    error.toJSON = () => ({ error: { code, message: ERRORS[code].message, correlationId } });
    callback();
  });

  server.get('/healthz', route((_req, res) => void res.send(200, { status: 'alive' })));
  server.get(
    '/readyz',
    route((_req, res) => {
      const readiness = deps.readiness();
      res.send(readiness.ready ? 200 : 503, { status: readiness.ready ? 'ready' : 'not-ready', checks: readiness.checks });
    }),
  );

  server.post(
    '/v1/identities/resolve',
    route(async (req, res, context) => {
      const { identity } = parse(ResolveIdentityRequestSchema, req.body);
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
    }),
  );

  server.get(
    '/v1/personas',
    route((_req, res) => {
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
    }),
  );

  server.get(
    '/v1/actions',
    route(async (req, res, context) => {
      const principal = principalOrThrow(typeof req.query?.principal === 'string' ? req.query.principal : undefined);
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
    }),
  );

  server.post(
    '/v1/runs',
    route(async (req, res, context) => {
      const request = parse(CreateRunRequestSchema, req.body);
      principalOrThrow(request.principalId);
      const run = await runs.create(request, context);
      res.send(202, { id: run.id, state: run.state, correlationId: run.correlationId, run: toRunView(run) });
    }),
  );

  server.get(
    '/v1/runs',
    route((req, res) => {
      const query = parse(RunListQuerySchema, req.query ?? {});
      const list = store.runs.list({ limit: query.limit, ...(query.principal ? { principal: query.principal } : {}), ...(query.state ? { state: query.state } : {}) });
      res.send(200, { runs: list.map((run) => toRunView(run)) });
    }),
  );

  server.get(
    '/v1/runs/:id',
    route(async (req, res) => {
      const run = readableRun(req);
      const streams = await store.runs.readOutput(run.id);
      res.send(200, toRunView(run, streams));
    }),
  );

  server.get(
    '/v1/runs/:id/output',
    route(async (req, res) => {
      const run = readableRun(req);
      const records = await store.runs.readOutput(run.id);
      const text = records.map((record) => (record.stream === 'output' ? record.text : `[${record.stream}] ${record.text}`)).join('\n');
      res.setHeader('content-type', 'text/plain; charset=utf-8');
      res.setHeader('content-disposition', `attachment; filename="${run.id}.txt"`);
      res.writeHead(200);
      res.end(text);
    }),
  );

  server.post(
    '/v1/runs/:id/cancel',
    route(async (req, res, context) => {
      const { principalId } = parse(CancelRunRequestSchema, req.body);
      const run = await runs.cancel(String(req.params.id), principalId, context);
      res.send(202, { id: run.id, state: run.state });
    }),
  );

  server.post(
    '/v1/runs/:id/decision',
    route(async (req, res, context) => {
      const request = parse(DecisionRequestSchema, req.body);
      const run = await runs.decide(String(req.params.id), request, context);
      res.send(200, { id: run.id, state: run.state });
    }),
  );

  server.get(
    '/v1/events',
    route((req, res) => {
      const lastEventId = Number(req.header('last-event-id') ?? '0');
      res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-store', connection: 'keep-alive', 'x-accel-buffering': 'no' });
      res.write(': connected\n\n');
      const write = (event: { seq: number; type: string }) => res.write(`id: ${event.seq}\nevent: ${event.type}\ndata: ${JSON.stringify(event)}\n\n`);
      if (Number.isInteger(lastEventId) && lastEventId > 0) for (const event of events.since(lastEventId)) write(event);
      const unsubscribe = events.subscribe(write);
      const heartbeat = setInterval(() => res.write(': keep-alive\n\n'), deps.sseHeartbeatMs ?? 15_000);
      req.on('close', () => {
        clearInterval(heartbeat);
        unsubscribe();
      });
    }),
  );

  for (const register of deps.registerRoutes ?? []) register(server, { route });

  return server;
}
