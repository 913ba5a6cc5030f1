/**
 * What the bot core asks of the executor: the REST API and its event stream, as one interface.
 * `ExecutorClient` speaks it over HTTP; tests of the core use an in-memory executor
 * (test/bot/core/memory-executor.ts) that answers in microseconds, with no pwsh.
 */
import type {
  ActionView,
  ApprovalList,
  ChatIdentity,
  ChoiceList,
  CloneScriptRequest,
  CreatePlanRequest,
  CreateScriptRequest,
  NewScriptVersionRequest,
  PlanCommand,
  PlanCommandRequest,
  PlanView,
  ScriptPreview,
  ScriptPreviewRequest,
  UpdatePlanRequest,
  CreateRunRequest,
  CreateRunResponse,
  DecisionRequest,
  ExecutorEventMessage,
  PersonaList,
  PrincipalView,
  RunState,
  RunView,
  ScriptStatus,
  ScriptStatusRequest,
  ScriptView,
} from '../../executor/contract/index.ts';
import type { Logger } from '../../lib/logger.ts';

export interface CallOptions {
  /** Ties the call to the chat event's log lines and error card. */
  correlationId?: string;
  /** Who asks, for reads: the executor answers only what that principal may see. */
  principal?: string;
}

export interface RunListQuery {
  principal?: string;
  state?: RunState;
  limit?: number;
}

/** What cancel and decision answer: the run's id and its state afterwards. */
export interface RunStateChange {
  id: string;
  state: RunState;
}

/** A subscription to the executor's events; it resumes by itself after a dropped connection. */
export interface EventSubscription {
  /** Resolves once the subscription has been established (for start-up and tests). */
  connected(): Promise<void>;
  close(): Promise<void>;
}

export interface ChoiceListRequest {
  actionId: string;
  parameter: string;
  principal: string;
  search?: string;
  values?: Record<string, unknown>;
}

export interface ExecutorApi {
  /** The principal behind a verified chat identity; DEPUTY_E_NOT_ENROLLED when there is none. */
  resolveIdentity(identity: ChatIdentity, options?: CallOptions): Promise<PrincipalView>;
  /** Demo mode only: the principals that have a web chat persona, and how runs are isolated. */
  listPersonas(options?: CallOptions): Promise<PersonaList>;
  listActions(principalId: string, options?: CallOptions): Promise<ActionView[]>;
  /** With an `idempotencyKey`, a repeat answers the first run (`replayed`) instead of starting another. */
  createRun(request: CreateRunRequest, options?: CallOptions & { idempotencyKey?: string }): Promise<CreateRunResponse & { replayed: boolean }>;
  getRun(runId: string, options?: CallOptions): Promise<RunView>;
  listRuns(query: RunListQuery, options?: CallOptions): Promise<RunView[]>;
  cancelRun(runId: string, principalId: string, options?: CallOptions): Promise<RunStateChange>;
  decideRun(runId: string, decision: DecisionRequest, options?: CallOptions): Promise<RunStateChange>;
  listScripts(principalId: string, status?: ScriptStatus, options?: CallOptions): Promise<ScriptView[]>;
  getScript(scriptId: string, principalId: string, options?: CallOptions): Promise<ScriptView>;
  changeScriptStatus(scriptId: string, request: ScriptStatusRequest, options?: CallOptions): Promise<ScriptView>;
  listApprovals(principalId: string, options?: CallOptions): Promise<ApprovalList>;
  /** The full stored output as plain text (masked by the executor). */
  getRunOutput(runId: string, options?: CallOptions): Promise<string>;
  /** A run's `$SRXEnv.ResultHtml`, as the HTML text (DEPUTY_E_NOT_FOUND when it has none). */
  getRunHtml(runId: string, options?: CallOptions): Promise<string>;
  /**
   * The choices of a query-bound field for a principal: `values` are the form's current values
   * (the query's `$form.<field>` inputs), `search` what the person typed so far.
   */
  listChoices(request: ChoiceListRequest, options?: CallOptions): Promise<ChoiceList>;
  /** True when the executor says it is ready. Never throws. */
  isReady(): Promise<boolean>;
  // Authoring (docs/authoring.md): the executor decides each request with the policy, as for REST callers.
  /** What an uploaded text would become; the executor holds it for a create or version request that names it. */
  previewScript(request: ScriptPreviewRequest, options?: CallOptions): Promise<ScriptPreview>;
  createScript(request: CreateScriptRequest, options?: CallOptions): Promise<ScriptView>;
  newScriptVersion(scriptId: string, request: NewScriptVersionRequest, options?: CallOptions): Promise<ScriptView>;
  cloneScript(scriptId: string, request: CloneScriptRequest, options?: CallOptions): Promise<ScriptView>;
  /** The plans this principal may view, with what they may do with each. */
  listPlans(principalId: string, options?: CallOptions): Promise<PlanView[]>;
  createPlan(request: CreatePlanRequest, options?: CallOptions): Promise<PlanView>;
  updatePlan(planId: string, request: UpdatePlanRequest, options?: CallOptions): Promise<PlanView>;
  deletePlan(planId: string, principalId: string, options?: CallOptions): Promise<void>;
  planCommand(planId: string, command: PlanCommand, request: PlanCommandRequest, options?: CallOptions): Promise<PlanView>;
  /** Run, approval, plan and script events, in the executor's order, each checked against the contract. */
  subscribe(onEvent: (event: ExecutorEventMessage) => void, options: SubscribeOptions): EventSubscription;
}

export interface SubscribeOptions {
  logger: Logger;
  backoffMs?: { initial: number; max: number };
  /** Resume after this event (`Last-Event-ID`): where the bot that followed the events before stopped. */
  lastEventId?: string;
  /** Called with each event's id as it arrives, to keep that place for whoever follows next. */
  onEventId?: (eventId: string) => void;
}
