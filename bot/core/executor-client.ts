/**
 * The executor's REST API as the bot uses it. Every call carries the bearer token and a
 * correlation id; every answer is parsed with the contract's zod schemas; every failure
 * becomes a DeputyError with the executor's code (or DEPUTY_E_EXECUTOR_UNREACHABLE when the
 * executor cannot be reached at all).
 */
import { Agent, type Dispatcher } from 'undici';
import { z } from 'zod';
import {
  ActionListSchema,
  ApprovalListSchema,
  ChoiceListSchema,
  CreateRunResponseSchema,
  DeputyError,
  ErrorBodySchema,
  HEADER_CORRELATION_ID,
  HEADER_IDEMPOTENCY_KEY,
  HEADER_IDEMPOTENT_REPLAYED,
  PersonaListSchema,
  ResolveIdentityResponseSchema,
  RunListSchema,
  RunStateSchema,
  RunViewSchema,
  ScriptListSchema,
  ScriptStatusResponseSchema,
  ScriptViewSchema,
  DeletedResponseSchema,
  PlanListSchema,
  PlanResponseSchema,
  PlanViewSchema,
  ScriptChangeResponseSchema,
  ScriptPreviewSchema,
  type ActionView,
  type CloneScriptRequest,
  type CreatePlanRequest,
  type CreateScriptRequest,
  type NewScriptVersionRequest,
  type PlanCommand,
  type PlanCommandRequest,
  type PlanView,
  type ScriptPreview,
  type ScriptPreviewRequest,
  type UpdatePlanRequest,
  type ApprovalList,
  type ChatIdentity,
  type ChoiceList,
  type CreateRunRequest,
  type CreateRunResponse,
  type DecisionRequest,
  type ErrorCode,
  type PersonaList,
  type ExecutorEventMessage,
  type PrincipalView,
  type RunView,
  type ScriptStatus,
  type ScriptStatusRequest,
  type ScriptView,
} from '../../executor/contract/index.ts';
import { newCorrelationId } from '../../lib/ids.ts';
import { EventStream } from './event-stream.ts';
import type { CallOptions, ChoiceListRequest, EventSubscription, ExecutorApi, RunListQuery, RunStateChange, SubscribeOptions } from './executor-api.ts';

export type { CallOptions, RunListQuery, RunStateChange } from './executor-api.ts';

type HttpMethod = 'GET' | 'POST' | 'PUT' | 'DELETE';

/** What cancel and decision answer: the run's id and its state afterwards. */
const RunStateChangeSchema = z.object({ id: z.string(), state: RunStateSchema });

export interface ExecutorClientOptions {
  /** Base URL, e.g. `http://127.0.0.1:4100`. */
  baseUrl: string;
  token: string;
  /** Per-request timeout; the executor answers on loopback or a LAN, so this is short. */
  timeoutMs?: number;
  fetch?: typeof fetch;
}

/**
 * Requests to the executor share this many kept-alive connections; more wait their turn in the
 * bot. A burst of submissions would otherwise open a connection each, and Node accepts one new
 * connection per turn of its event loop, so the executor would take them in one by one while
 * busy (issue 12, item 8). The executor serves requests on one thread: more would not be faster.
 */
const MAX_CONNECTIONS = 32;

/** `?principal=` for reads made on someone's behalf. */
function asked(options: CallOptions): string {
  return options.principal === undefined ? '' : `?principal=${encodeURIComponent(options.principal)}`;
}

export class ExecutorClient implements ExecutorApi {
  readonly baseUrl: string;
  private readonly token: string;
  private readonly timeoutMs: number;
  private readonly fetchImpl: typeof fetch;
  /** The kept-alive connections of request/answer calls (the event stream has its own). */
  private readonly connections: Dispatcher | undefined;

  constructor(options: ExecutorClientOptions) {
    this.baseUrl = options.baseUrl.replace(/\/+$/, '');
    this.token = options.token;
    this.timeoutMs = options.timeoutMs ?? 15_000;
    this.fetchImpl = options.fetch ?? fetch;
    this.connections = options.fetch ? undefined : new Agent({ connections: MAX_CONNECTIONS });
  }

  /** Closes the kept-alive connections (idle ones never hold the process open). */
  async close(): Promise<void> {
    await this.connections?.close();
  }

  /** The principal behind a verified chat identity; 403 DEPUTY_E_NOT_ENROLLED when there is none. */
  async resolveIdentity(identity: ChatIdentity, options: CallOptions = {}): Promise<PrincipalView> {
    const body = await this.json('POST', '/v1/identities/resolve', ResolveIdentityResponseSchema, { identity }, options);
    return body.principal;
  }

  /** Demo mode only: the principals that have a web chat persona, and how runs are isolated. */
  async listPersonas(options: CallOptions = {}): Promise<PersonaList> {
    return this.json('GET', '/v1/personas', PersonaListSchema, undefined, options);
  }

  async listActions(principalId: string, options: CallOptions = {}): Promise<ActionView[]> {
    const path = `/v1/actions?${new URLSearchParams({ principal: principalId })}`;
    return (await this.json('GET', path, ActionListSchema, undefined, options)).actions;
  }

  /**
   * Starts a run. With an `idempotencyKey` (a chat edge sends the pressed form card's id), a
   * repeat of the same press answers the first run instead of starting another (`replayed`).
   */
  async createRun(request: CreateRunRequest, options: CallOptions & { idempotencyKey?: string } = {}): Promise<CreateRunResponse & { replayed: boolean }> {
    const headers: Record<string, string> = options.idempotencyKey === undefined ? {} : { [HEADER_IDEMPOTENCY_KEY]: options.idempotencyKey };
    const response = await this.send('POST', '/v1/runs', request, options, 'application/json', headers);
    const created = await this.parse(response, CreateRunResponseSchema, 'POST /v1/runs');
    return { ...created, replayed: response.headers.get(HEADER_IDEMPOTENT_REPLAYED) === 'true' };
  }

  async getRun(runId: string, options: CallOptions = {}): Promise<RunView> {
    return this.json('GET', `/v1/runs/${encodeURIComponent(runId)}${asked(options)}`, RunViewSchema, undefined, options);
  }

  async listRuns(query: RunListQuery, options: CallOptions = {}): Promise<RunView[]> {
    const params = new URLSearchParams();
    if (query.principal !== undefined) params.set('principal', query.principal);
    if (query.state !== undefined) params.set('state', query.state);
    if (query.limit !== undefined) params.set('limit', String(query.limit));
    return (await this.json('GET', `/v1/runs?${params}`, RunListSchema, undefined, options)).runs;
  }

  /** Asks to cancel; the executor checks that the principal may. Answers the run's new state. */
  async cancelRun(runId: string, principalId: string, options: CallOptions = {}): Promise<RunStateChange> {
    return this.json('POST', `/v1/runs/${encodeURIComponent(runId)}/cancel`, RunStateChangeSchema, { principalId }, options);
  }

  async decideRun(runId: string, decision: DecisionRequest, options: CallOptions = {}): Promise<RunStateChange> {
    return this.json('POST', `/v1/runs/${encodeURIComponent(runId)}/decision`, RunStateChangeSchema, decision, options);
  }

  /** The scripts this principal may view, optionally of one status. */
  async listScripts(principalId: string, status?: ScriptStatus, options: CallOptions = {}): Promise<ScriptView[]> {
    const params = new URLSearchParams({ principal: principalId, ...(status ? { status } : {}) });
    return (await this.json('GET', `/v1/scripts?${params}`, ScriptListSchema, undefined, options)).scripts;
  }

  /** One script as this principal sees it: versions, text, diff, and the status changes they may make. */
  async getScript(scriptId: string, principalId: string, options: CallOptions = {}): Promise<ScriptView> {
    const path = `/v1/scripts/${encodeURIComponent(scriptId)}?${new URLSearchParams({ principal: principalId })}`;
    return this.json('GET', path, ScriptViewSchema, undefined, options);
  }

  /** Asks to move a script's exact version to another status; the executor checks who may. */
  async changeScriptStatus(scriptId: string, request: ScriptStatusRequest, options: CallOptions = {}): Promise<ScriptView> {
    const path = `/v1/scripts/${encodeURIComponent(scriptId)}/status`;
    return (await this.json('POST', path, ScriptStatusResponseSchema, request, options)).script;
  }

  /** Testing scripts and four-eyes runs waiting for this principal's decision. */
  async listApprovals(principalId: string, options: CallOptions = {}): Promise<ApprovalList> {
    return this.json('GET', `/v1/approvals?${new URLSearchParams({ principal: principalId })}`, ApprovalListSchema, undefined, options);
  }

  /** What an uploaded text would become; the executor holds it for a create or version request that names it. */
  async previewScript(request: ScriptPreviewRequest, options: CallOptions = {}): Promise<ScriptPreview> {
    return this.json('POST', '/v1/scripts/preview', ScriptPreviewSchema, request, options);
  }

  async createScript(request: CreateScriptRequest, options: CallOptions = {}): Promise<ScriptView> {
    return (await this.json('POST', '/v1/scripts', ScriptChangeResponseSchema, request, options)).script;
  }

  async newScriptVersion(scriptId: string, request: NewScriptVersionRequest, options: CallOptions = {}): Promise<ScriptView> {
    return (await this.json('POST', `/v1/scripts/${encodeURIComponent(scriptId)}/versions`, ScriptChangeResponseSchema, request, options)).script;
  }

  async cloneScript(scriptId: string, request: CloneScriptRequest, options: CallOptions = {}): Promise<ScriptView> {
    return (await this.json('POST', `/v1/scripts/${encodeURIComponent(scriptId)}/clone`, ScriptChangeResponseSchema, request, options)).script;
  }

  /** The plans this principal may view, with what they may do with each. */
  async listPlans(principalId: string, options: CallOptions = {}): Promise<PlanView[]> {
    return (await this.json('GET', `/v1/plans?${new URLSearchParams({ principal: principalId })}`, PlanListSchema, undefined, options)).plans;
  }

  async createPlan(request: CreatePlanRequest, options: CallOptions = {}): Promise<PlanView> {
    return (await this.json('POST', '/v1/plans', PlanResponseSchema, request, options)).plan;
  }

  async updatePlan(planId: string, request: UpdatePlanRequest, options: CallOptions = {}): Promise<PlanView> {
    return (await this.json('PUT', `/v1/plans/${encodeURIComponent(planId)}`, PlanResponseSchema, request, options)).plan;
  }

  async deletePlan(planId: string, principalId: string, options: CallOptions = {}): Promise<void> {
    await this.json('DELETE', `/v1/plans/${encodeURIComponent(planId)}?${new URLSearchParams({ principal: principalId })}`, DeletedResponseSchema, undefined, options);
  }

  async planCommand(planId: string, command: PlanCommand, request: PlanCommandRequest, options: CallOptions = {}): Promise<PlanView> {
    return this.json('POST', `/v1/plans/${encodeURIComponent(planId)}/${command}`, PlanViewSchema, request, options);
  }

  /**
   * The choices of a query-bound field for a principal: `values` are the form's current values
   * (the query's `$form.<field>` inputs), `search` what the person typed so far.
   */
  async listChoices(
    request: ChoiceListRequest,
    options: CallOptions = {},
  ): Promise<ChoiceList> {
    const params = new URLSearchParams();
    for (const [name, value] of Object.entries(request.values ?? {})) {
      if (name === 'principal' || name === 'search' || value === undefined || value === null || value === '') continue;
      // A list goes as one text (each query parameter is given once); the executor splits it.
      params.set(name, Array.isArray(value) ? value.map(String).join('\n') : String(value));
    }
    params.set('principal', request.principal);
    if (request.search) params.set('search', request.search);
    const path = `/v1/actions/${encodeURIComponent(request.actionId)}/choices/${encodeURIComponent(request.parameter)}?${params}`;
    return this.json('GET', path, ChoiceListSchema, undefined, options);
  }

  /** A run's `$SRXEnv.ResultHtml`, as the HTML text. */
  async getRunHtml(runId: string, options: CallOptions = {}): Promise<string> {
    const path = `/v1/runs/${encodeURIComponent(runId)}/html${asked(options)}`;
    return (await this.send('GET', path, undefined, options, 'text/html')).text();
  }

  /** The full stored output as plain text (masked by the executor). */
  async getRunOutput(runId: string, options: CallOptions = {}): Promise<string> {
    const path = `/v1/runs/${encodeURIComponent(runId)}/output${asked(options)}`;
    const response = await this.send('GET', path, undefined, options, 'text/plain');
    return response.text();
  }

  /** True when `GET /readyz` answers 200. Never throws. */
  async isReady(): Promise<boolean> {
    try {
      const response = await this.fetchImpl(`${this.baseUrl}/readyz`, { signal: AbortSignal.timeout(this.timeoutMs) });
      await response.body?.cancel();
      return response.ok;
    } catch {
      return false;
    }
  }

  /** `GET /v1/events`, followed with reconnects that resume by `Last-Event-ID`. */
  subscribe(onEvent: (event: ExecutorEventMessage) => void, options: SubscribeOptions): EventSubscription {
    const stream = new EventStream({
      client: this,
      logger: options.logger,
      onEvent,
      ...(options.backoffMs ? { initialBackoffMs: options.backoffMs.initial, maxBackoffMs: options.backoffMs.max } : {}),
      ...(options.lastEventId !== undefined ? { lastEventId: options.lastEventId } : {}),
      ...(options.onEventId ? { onEventId: options.onEventId } : {}),
    });
    stream.start();
    return stream;
  }

  /** Headers for a raw request (the event stream uses them too). */
  headers(correlationId: string, accept = 'application/json'): Record<string, string> {
    return { authorization: `Bearer ${this.token}`, accept, [HEADER_CORRELATION_ID]: correlationId };
  }

  private async json<T extends z.ZodType>(
    method: HttpMethod,
    path: string,
    schema: T,
    body: unknown,
    options: CallOptions,
  ): Promise<z.infer<T>> {
    const response = await this.send(method, path, body, options, 'application/json');
    return this.parse(response, schema, `${method} ${path}`);
  }

  /** The answer's JSON checked against the contract; `what` is "METHOD path", for the log. */
  private async parse<T extends z.ZodType>(response: Response, schema: T, what: string): Promise<z.infer<T>> {
    let parsed: unknown;
    try {
      parsed = await response.json();
    } catch (error) {
      throw new DeputyError('DEPUTY_E_INTERNAL', { detail: `${what}: the executor answered with invalid JSON`, cause: error });
    }
    const result = schema.safeParse(parsed);
    if (!result.success) {
      throw new DeputyError('DEPUTY_E_INTERNAL', {
        detail: `${what}: the executor's answer does not match the contract: ${result.error.message}`,
      });
    }
    return result.data;
  }

  private async send(method: HttpMethod, path: string, body: unknown, options: CallOptions, accept: string, extraHeaders: Record<string, string> = {}): Promise<Response> {
    const correlationId = options.correlationId ?? newCorrelationId();
    const headers = { ...this.headers(correlationId, accept), ...extraHeaders };
    if (body !== undefined) headers['content-type'] = 'application/json';
    let response: Response;
    try {
      const init: RequestInit & { dispatcher?: Dispatcher } = {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(this.timeoutMs),
        ...(this.connections ? { dispatcher: this.connections } : {}),
      };
      response = await this.fetchImpl(`${this.baseUrl}${path}`, init);
    } catch (error) {
      throw new DeputyError('DEPUTY_E_EXECUTOR_UNREACHABLE', {
        detail: `${method} ${this.baseUrl}${path}: ${error instanceof Error ? error.message : String(error)}`,
        cause: error,
      });
    }
    if (!response.ok) throw await errorFrom(response, `${method} ${path}`);
    return response;
  }
}

/** Maps an executor error answer to the same DeputyError the executor raised (code, message, fields). */
async function errorFrom(response: Response, what: string): Promise<DeputyError> {
  const text = await response.text().catch(() => '');
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    body = undefined;
  }
  const parsed = ErrorBodySchema.safeParse(body);
  if (!parsed.success) {
    const code: ErrorCode = response.status >= 500 ? 'DEPUTY_E_EXECUTOR_UNREACHABLE' : 'DEPUTY_E_INTERNAL';
    return new DeputyError(code, { detail: `${what}: HTTP ${response.status} without an error body: ${text.slice(0, 200)}` });
  }
  const { code, message, correlationId, fields } = parsed.data.error;
  return new DeputyError(code as ErrorCode, {
    message,
    fields,
    detail: `${what}: HTTP ${response.status} ${code} (executor correlation id ${correlationId})`,
  });
}
