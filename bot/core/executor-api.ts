/**
 * What the bot core asks of the executor: the REST API and its event stream, as one interface.
 * `ExecutorClient` speaks it over HTTP; tests of the core use an in-memory executor
 * (test/bot/core/memory-executor.ts) that answers in microseconds, with no pwsh.
 */
import type {
  ActionView,
  ApprovalList,
  ChatIdentity,
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
  /** True when the executor says it is ready. Never throws. */
  isReady(): Promise<boolean>;
  /** Run, approval, plan and script events, in the executor's order, each checked against the contract. */
  subscribe(onEvent: (event: ExecutorEventMessage) => void, options: { logger: Logger; backoffMs?: { initial: number; max: number } }): EventSubscription;
}
