/**
 * An executor in memory, behind the bot core's `ExecutorApi`: principals, actions, runs with
 * idempotency keys, four-eyes approvals and the event stream, with the executor's error codes.
 * It runs nothing: a test moves a run on with `advance`, and the core follows the events, as it
 * follows the real executor's. The real executor's own rules are tested with real pwsh elsewhere.
 */
import { createHash } from 'node:crypto';
import {
  DeputyError,
  MASK,
  isFinalRunState,
  type ActionView,
  type ApprovalList,
  type ChatIdentity,
  type ChoiceList,
  type CreateRunRequest,
  type CreateRunResponse,
  type DecisionRequest,
  type ExecutorEventMessage,
  type PlanView,
  type PersonaList,
  type PrincipalView,
  type RunState,
  type RunSummary,
  type RunView,
  type ScriptPreview,
  type ScriptView,
} from '../../../executor/contract/index.ts';
import type { CallOptions, EventSubscription, ExecutorApi, RunListQuery, RunStateChange } from '../../../bot/core/executor-api.ts';

export interface MemoryPrincipal extends PrincipalView {
  persona: string;
  /** Ids of the actions this principal may run. */
  actions: string[];
  /** May decide four-eyes runs of others. */
  approver?: boolean;
}

export class MemoryExecutor implements ExecutorApi {
  readonly runs = new Map<string, RunView>();
  readonly calls: string[] = [];
  private readonly keys = new Map<string, { fingerprint: string; runId: string }>();
  private readonly listeners = new Set<(event: ExecutorEventMessage) => void>();
  private seq = 0;
  private nextRun = 1;

  constructor(
    private readonly principals: MemoryPrincipal[],
    private readonly actions: ActionView[],
  ) {}

  private principal(id: string): MemoryPrincipal {
    const found = this.principals.find((candidate) => candidate.id === id);
    if (!found) throw new DeputyError('DEPUTY_E_NOT_ENROLLED');
    return found;
  }

  async resolveIdentity(identity: ChatIdentity): Promise<PrincipalView> {
    this.calls.push('resolveIdentity');
    const found = identity.channel === 'webchat' ? this.principals.find((candidate) => candidate.persona === identity.persona) : undefined;
    if (!found) throw new DeputyError('DEPUTY_E_NOT_ENROLLED');
    const { id, name, tenant, roles } = found;
    return { id, name, tenant, roles };
  }

  async listPersonas(): Promise<PersonaList> {
    return { personas: this.principals.map(({ persona, id, name, roles, tenant }) => ({ persona, principalId: id, name, roles, tenant })) };
  }

  async listActions(principalId: string): Promise<ActionView[]> {
    this.calls.push('listActions');
    const allowed = this.principal(principalId).actions;
    return this.actions.filter((action) => allowed.includes(action.id));
  }

  async createRun(request: CreateRunRequest, options: CallOptions & { idempotencyKey?: string } = {}): Promise<CreateRunResponse & { replayed: boolean }> {
    this.calls.push('createRun');
    const action = this.actions.find((candidate) => candidate.id === request.actionId);
    if (!action || !this.principal(request.principalId).actions.includes(action.id)) throw new DeputyError('DEPUTY_E_FORBIDDEN');
    const fingerprint = createHash('sha256').update(JSON.stringify([request.actionId, request.inputs])).digest('hex');
    const scope = options.idempotencyKey === undefined ? undefined : `${request.principalId}\u0000${options.idempotencyKey}`;
    const known = scope === undefined ? undefined : this.keys.get(scope);
    if (known) {
      if (known.fingerprint !== fingerprint) throw new DeputyError('DEPUTY_E_CONFLICT');
      const run = this.view(known.runId);
      return { id: run.id, state: run.state, correlationId: run.correlationId, run, replayed: true };
    }
    const missing = action.form.fields.filter((field) => field.required && (request.inputs[field.name] === undefined || request.inputs[field.name] === ''));
    if (missing.length > 0) throw new DeputyError('DEPUTY_E_VALIDATION', { fields: Object.fromEntries(missing.map((field) => [field.name, `${field.label} is required.`])) });
    const secret = new Set(action.form.fields.filter((field) => field.kind === 'secret').map((field) => field.name));
    const now = new Date(Date.UTC(2026, 0, 1, 9, 0, this.nextRun)).toISOString();
    const run: RunView = {
      id: `run_${this.nextRun++}`,
      actionId: action.id,
      actionTitle: action.title,
      principalId: request.principalId,
      state: action.approval === 'four-eyes' ? 'awaiting-approval' : 'queued',
      inputs: Object.fromEntries(Object.entries(request.inputs).map(([name, value]) => [name, secret.has(name) ? MASK : value])),
      origin: request.origin,
      correlationId: options.correlationId ?? `corr-${this.nextRun}`,
      scriptHash: action.versionHash,
      createdAt: now,
      updatedAt: now,
      ...(action.approval === 'four-eyes' ? { approval: { required: true, expiresAt: '2026-01-01T10:00:00.000Z' } } : {}),
    };
    this.runs.set(run.id, run);
    if (scope !== undefined) this.keys.set(scope, { fingerprint, runId: run.id });
    this.emit({ type: 'run.created', run, notify: [run.principalId] });
    if (run.state === 'awaiting-approval') this.emit({ type: 'approval.requested', run, notify: [run.principalId, ...this.approversOf(run)] });
    return { id: run.id, state: run.state, correlationId: run.correlationId, run, replayed: false };
  }

  private approversOf(run: RunView): string[] {
    return this.principals.filter((candidate) => candidate.approver && candidate.id !== run.principalId).map((candidate) => candidate.id);
  }

  private view(runId: string): RunView {
    const run = this.runs.get(runId);
    if (!run) throw new DeputyError('DEPUTY_E_NOT_FOUND');
    return run;
  }

  async getRun(runId: string, options: CallOptions = {}): Promise<RunView> {
    this.calls.push('getRun');
    const run = this.view(runId);
    const asking = options.principal;
    if (asking !== undefined && asking !== run.principalId && !this.approversOf(run).includes(asking)) throw new DeputyError('DEPUTY_E_NOT_FOUND');
    return run;
  }

  async listRuns(query: RunListQuery): Promise<RunView[]> {
    return [...this.runs.values()].filter((run) => query.principal === undefined || run.principalId === query.principal).reverse().slice(0, query.limit ?? 20);
  }

  async cancelRun(runId: string, principalId: string): Promise<RunStateChange> {
    this.calls.push('cancelRun');
    const run = this.view(runId);
    if (run.principalId !== principalId) throw new DeputyError('DEPUTY_E_FORBIDDEN');
    if (isFinalRunState(run.state)) throw new DeputyError('DEPUTY_E_CONFLICT');
    return { id: runId, state: this.advance(runId, 'cancelled').state };
  }

  async decideRun(runId: string, decision: DecisionRequest): Promise<RunStateChange> {
    const run = this.view(runId);
    if (run.principalId === decision.principalId) throw new DeputyError('DEPUTY_E_SELF_APPROVAL');
    if (!this.approversOf(run).includes(decision.principalId)) throw new DeputyError('DEPUTY_E_FORBIDDEN');
    if (run.state !== 'awaiting-approval') throw new DeputyError('DEPUTY_E_CONFLICT');
    const approval = { required: true, decision: decision.decision, decidedBy: decision.principalId };
    return { id: runId, state: this.advance(runId, decision.decision === 'approve' ? 'queued' : 'rejected', { approval }).state };
  }

  async listScripts(): Promise<ScriptView[]> {
    return [];
  }

  async getScript(): Promise<ScriptView> {
    throw new DeputyError('DEPUTY_E_NOT_FOUND');
  }

  async changeScriptStatus(): Promise<ScriptView> {
    throw new DeputyError('DEPUTY_E_FORBIDDEN');
  }

  // It holds no scripts and no plans: authoring is refused as by an executor whose catalog has none.
  async previewScript(): Promise<ScriptPreview> {
    throw new DeputyError('DEPUTY_E_FORBIDDEN');
  }

  async createScript(): Promise<ScriptView> {
    throw new DeputyError('DEPUTY_E_FORBIDDEN');
  }

  async newScriptVersion(): Promise<ScriptView> {
    throw new DeputyError('DEPUTY_E_NOT_FOUND');
  }

  async cloneScript(): Promise<ScriptView> {
    throw new DeputyError('DEPUTY_E_NOT_FOUND');
  }

  async listPlans(): Promise<PlanView[]> {
    return [];
  }

  async createPlan(): Promise<PlanView> {
    throw new DeputyError('DEPUTY_E_FORBIDDEN');
  }

  async updatePlan(): Promise<PlanView> {
    throw new DeputyError('DEPUTY_E_NOT_FOUND');
  }

  async deletePlan(): Promise<void> {
    throw new DeputyError('DEPUTY_E_NOT_FOUND');
  }

  async planCommand(): Promise<PlanView> {
    throw new DeputyError('DEPUTY_E_NOT_FOUND');
  }

  async listApprovals(principalId: string): Promise<ApprovalList> {
    this.calls.push('listApprovals');
    const runs = [...this.runs.values()].filter((run) => run.state === 'awaiting-approval' && this.approversOf(run).includes(principalId));
    return { scripts: [], runs };
  }

  async getRunOutput(runId: string): Promise<string> {
    return (this.view(runId).summary?.lines ?? []).join('\n');
  }

  async getRunHtml(runId: string): Promise<string> {
    const html = this.view(runId).summary?.html;
    if (!html) throw new DeputyError('DEPUTY_E_NOT_FOUND');
    return '<p>report</p>';
  }

  /** No query-bound fields here: choices are the executor's, tested against the real one. */
  async listChoices(): Promise<ChoiceList> {
    return { choices: [] };
  }

  async isReady(): Promise<boolean> {
    return true;
  }

  subscribe(onEvent: (event: ExecutorEventMessage) => void): EventSubscription {
    this.listeners.add(onEvent);
    return { connected: async () => undefined, close: async () => void this.listeners.delete(onEvent) };
  }

  /** Moves a run on, as the executor would, and tells every subscriber. */
  advance(runId: string, state: RunState, extra: Partial<RunView> & { summary?: RunSummary } = {}): RunView {
    const run: RunView = { ...this.view(runId), ...extra, state, updatedAt: new Date(Date.UTC(2026, 0, 1, 9, 30)).toISOString() };
    this.runs.set(runId, run);
    this.emit({ type: isFinalRunState(state) ? 'run.finished' : 'run.updated', run, notify: [run.principalId] });
    return run;
  }

  private emit(event: Omit<Extract<ExecutorEventMessage, { run: RunView }>, 'seq'>): void {
    const message = { ...event, seq: ++this.seq } as ExecutorEventMessage;
    // Delivered after the current call returns, as events from the stream arrive.
    queueMicrotask(() => {
      for (const listener of this.listeners) listener(message);
    });
  }
}
