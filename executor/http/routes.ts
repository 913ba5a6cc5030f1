/**
 * Every route of the executor's API is declared through one `RouteKit`, and the declaration
 * decides how a request is let in, after routing and never from the raw path string:
 *
 * 1. who may call it (`auth`): `public` (health), `signed` (hooks: the route verifies the HMAC
 *    over the exact bytes), or `bearer` (everything else: the bot's or the operator's token);
 * 2. its query string: each parameter once, a plain string, checked by the route's zod schema
 *    (none declared: no parameters at all);
 * 3. its body, read only now that the caller is known: uncompressed `application/json`, never
 *    past the limit (none declared: no body at all);
 * 4. for the bot's token, who it acts for (`principal`): the query's `principal` or the body's
 *    `principalId` must name a principal with a chat identity, unless the route acts for nobody.
 *
 * Whatever fails is refused with the registry's error and an `http.refused` audit entry, before
 * the route's own code runs. A route the kit did not declare answers 404: a route mounted on the
 * server by other means is never reached.
 */
import type { Request, Response, Server } from 'restify';
import { z, type ZodType } from 'zod';
import { BodyRefused, closeAfterAnswer, hasBody, readBody } from '../../lib/http-body.ts';
import { DeputyError } from '../contract/index.ts';
import type { RequestContext } from '../runs/service.ts';
import { bearerToken, type CallerKind, type TokenCheck } from './auth.ts';

/** `signed`: no token; the route itself verifies the request's signature over its raw body. */
export type RouteAuth = 'public' | 'bearer' | 'signed';

export interface RouteOptions<Q, B> {
  auth: RouteAuth;
  /** The query string's schema; every value arrives as one string. Absent: the route takes no query parameters. */
  query?: ZodType<Q>;
  /** The JSON body's schema. Absent (and no `rawBody`): the route takes no body. */
  body?: ZodType<B>;
  /** The body's exact bytes as text, unparsed (signed routes: the signature covers them). */
  rawBody?: boolean;
  /**
   * `named` (the default): the query's `principal` or the body's `principalId` says whom the
   * request is for, and the bot's token must name a principal that has a chat identity.
   * `none`: the route acts for no principal (resolving an identity, the event stream).
   */
  principal?: 'named' | 'none';
}

export interface HttpContext extends RequestContext {
  /** Whose token made the request; `anonymous` on public and signed routes without one. */
  caller: CallerKind | 'anonymous';
}

export interface RouteInput<Q, B> {
  query: Q;
  body: B;
  rawBody: string | undefined;
}

export type RouteHandler<Q, B> = (req: Request, res: Response, context: HttpContext, input: RouteInput<Q, B>) => Promise<void> | void;

type NoQuery = Record<string, never>;

/** How modules declare their routes; the only way onto the executor's API server. */
export interface RouteKit {
  get<Q = NoQuery>(path: string, options: RouteOptions<Q, undefined>, handler: RouteHandler<Q, undefined>): void;
  post<B = undefined, Q = NoQuery>(path: string, options: RouteOptions<Q, B>, handler: RouteHandler<Q, B>): void;
  put<B = undefined, Q = NoQuery>(path: string, options: RouteOptions<Q, B>, handler: RouteHandler<Q, B>): void;
  del<B = undefined, Q = NoQuery>(path: string, options: RouteOptions<Q, B>, handler: RouteHandler<Q, B>): void;
}

export interface DeclaredRoute {
  method: string;
  path: string;
  /** Undefined for a route mounted around the kit (which then answers 404). */
  auth: RouteAuth | undefined;
}

/** What the kit asks of the rest of the server. */
export interface RouteKitDependencies {
  server: Server;
  tokens: TokenCheck;
  maxBodyBytes: number;
  contextOf(req: Request): HttpContext;
  /** Whether the bot's token may act for this principal: `unknown` principal, `no-chat` identity, or `ok`. */
  chatStanding(principalId: string): 'unknown' | 'no-chat' | 'ok';
  /** Sends the registry's answer for `error`; `refused` also audits it (a refusal before the route's code). */
  fail(req: Request, res: Response, error: unknown, refused: { route: string } | undefined): Promise<void>;
}

const NO_QUERY = z.strictObject({});
const JSON_ONLY = ['application/json'] as const;

/** Validates `value` with `schema`; a failure is DEPUTY_E_BAD_REQUEST naming each field. */
export function parseWith<T>(schema: ZodType<T>, value: unknown): T {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const fields = Object.fromEntries(result.error.issues.map((issue) => [issue.path.join('.') || '_body', issue.message]));
  throw new DeputyError('DEPUTY_E_BAD_REQUEST', { fields, detail: JSON.stringify(fields) });
}

/** The query string as one string per name; a name given twice is refused rather than guessed at. */
function queryOf(req: Request): Record<string, string> {
  const query: Record<string, string> = {};
  for (const [name, value] of new URLSearchParams(req.getQuery())) {
    if (Object.hasOwn(query, name)) {
      throw new DeputyError('DEPUTY_E_BAD_REQUEST', { fields: { [name.slice(0, 100)]: 'given more than once' }, detail: `query parameter ${name.slice(0, 100)} repeated` });
    }
    query[name] = value;
  }
  return query;
}

function bodyError(error: BodyRefused): DeputyError {
  const code = error.reason === 'too-large' ? 'DEPUTY_E_PAYLOAD_TOO_LARGE' : 'DEPUTY_E_UNSUPPORTED_MEDIA_TYPE';
  return new DeputyError(code, { detail: error.message });
}

/** The principals a request names: the query's `principal`, the body's `principalId`. */
function namedPrincipals(query: unknown, body: unknown): string[] {
  const named: string[] = [];
  const field = (value: unknown, key: string) => (value !== null && typeof value === 'object' ? (value as Record<string, unknown>)[key] : undefined);
  for (const value of [field(query, 'principal'), field(body, 'principalId')]) if (typeof value === 'string') named.push(value);
  return named;
}

export function createRouteKit(deps: RouteKitDependencies): RouteKit & { routes(): DeclaredRoute[] } {
  const declared = new Map<string, RouteAuth>();

  // Deny by default: only what the kit declared is ever reached.
  deps.server.use((req, res, next) => {
    const name = (req as Request & { route?: { name?: string } }).route?.name;
    if (name !== undefined && declared.has(name)) return next();
    void deps.fail(req, res, new DeputyError('DEPUTY_E_NOT_FOUND', { detail: 'route not declared through the route kit' }), { route: req.getPath() }).finally(() => next(false));
    return undefined;
  });

  function authenticate(req: Request, auth: RouteAuth, context: HttpContext): void {
    if (auth === 'signed') return;
    const caller = deps.tokens.identify(bearerToken(req.header('authorization')));
    if (caller) {
      context.caller = caller.kind;
      context.via = caller.via;
    } else if (auth === 'bearer') {
      throw new DeputyError('DEPUTY_E_UNAUTHENTICATED', { detail: req.header('authorization') ? 'unknown bearer token' : 'no bearer token' });
    }
  }

  async function bodyOf<B>(req: Request, res: Response, options: RouteOptions<unknown, B>): Promise<{ body: B; rawBody: string | undefined }> {
    const wantsBody = options.body !== undefined || options.rawBody === true;
    if (!hasBody(req.headers)) return { body: options.body ? parseWith(options.body, undefined) : (undefined as B), rawBody: undefined };
    if (!wantsBody) throw new DeputyError('DEPUTY_E_BAD_REQUEST', { detail: 'this route takes no body' });
    let bytes: Buffer;
    try {
      bytes = await readBody(req, res, { limitBytes: deps.maxBodyBytes, mediaTypes: JSON_ONLY });
    } catch (error) {
      throw error instanceof BodyRefused ? bodyError(error) : error;
    }
    const text = bytes.toString('utf8');
    if (!options.body) return { body: undefined as B, rawBody: text };
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      throw new DeputyError('DEPUTY_E_BAD_REQUEST', { detail: 'the body is not valid JSON' });
    }
    return { body: parseWith(options.body, json), rawBody: options.rawBody ? text : undefined };
  }

  function actsForChatPrincipals(context: HttpContext, options: RouteOptions<unknown, unknown>, query: unknown, body: unknown): void {
    if (context.caller !== 'bot' || options.principal === 'none') return;
    const named = namedPrincipals(query, body);
    if (named.length === 0) throw new DeputyError('DEPUTY_E_FORBIDDEN', { detail: "the bot's token acts only for a named principal; reading across principals needs the operator token" });
    for (const principalId of named) {
      const standing = deps.chatStanding(principalId);
      if (standing === 'unknown') throw new DeputyError('DEPUTY_E_NOT_ENROLLED', { detail: `unknown principal ${principalId.slice(0, 200)}` });
      if (standing === 'no-chat') throw new DeputyError('DEPUTY_E_FORBIDDEN', { detail: `the bot's token may not act for ${principalId}: no chat identity` });
    }
  }

  function mount<Q, B>(method: 'get' | 'post' | 'put' | 'del', path: string, options: RouteOptions<Q, B>, handler: RouteHandler<Q, B>): void {
    // restify answers the new route's name (its types say otherwise).
    const name = deps.server[method](path, async (req: Request, res: Response) => {
      const context = deps.contextOf(req);
      let input: RouteInput<Q, B>;
      try {
        authenticate(req, options.auth, context);
        const query = parseWith(options.query ?? (NO_QUERY as unknown as ZodType<Q>), queryOf(req));
        const { body, rawBody } = await bodyOf(req, res, options);
        actsForChatPrincipals(context, options, query, body);
        input = { query, body, rawBody };
      } catch (error) {
        closeAfterAnswer(req, res);
        await deps.fail(req, res, error, { route: path });
        return;
      }
      try {
        await handler(req, res, context, input);
      } catch (error) {
        await deps.fail(req, res, error, undefined);
      }
    }) as unknown as string;
    declared.set(name, options.auth);
  }

  return {
    get: (path, options, handler) => mount('get', path, options, handler),
    post: (path, options, handler) => mount('post', path, options, handler),
    put: (path, options, handler) => mount('put', path, options, handler),
    del: (path, options, handler) => mount('del', path, options, handler),
    routes: () =>
      Object.values(deps.server.router.getRoutes() as unknown as Record<string, { name: string; method: string; path: string }>).map((route) => ({
        method: route.method,
        path: String(route.path),
        auth: declared.get(route.name),
      })),
  };
}
