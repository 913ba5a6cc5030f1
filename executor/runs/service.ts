/**
 * The run lifecycle: requested → awaiting-approval → queued → running → a final state.
 * Every run is durable before the caller hears of it, every decision is an audit entry, and
 * the executor re-checks the policy itself whatever the bot decided.
 */
import { createHash } from 'node:crypto';
import type { Logger } from 'pino';
import type { Clock } from '../../lib/clock.ts';
import { newId } from '../../lib/ids.ts';
import {
  DeputyError,
  MASK,
  TARGET_FIELD,
  isFinalRunState,
  type CreateRunRequest,
  type DecisionRequest,
  type ErrorCode,
  type FormField,
  type RunState,
} from '../contract/index.ts';
import { RUN_DATA_PLACEHOLDER } from '../catalog/actions.ts';
import type { IdempotencyStore } from '../connectors/idempotency.ts';
import type { Action, RunRecord, Script, ScriptVersion } from '../domain.ts';
import type { EventBus } from '../events.ts';
import { sha256 } from '../catalog/scripts.ts';
import { resolveActionVersion, versionStatus } from '../policy/versions.ts';
import type { SrxContext } from '../pwsh/srx.ts';
import type { Runner } from '../pwsh/types.ts';
import type { Store } from '../store/port.ts';
import { requestedTargetIds } from '../targets/resolve.ts';
import { RunQueue, type QueueLimits } from './queue.ts';
import { formOf, toRunView } from './views.ts';
import { resolveParameterSet } from '../catalog/parameter-sets.ts';
import type { InputSchemaOptions } from '../catalog/inputs.ts';

export type Decision = { allowed: true } | { allowed: false; code: ErrorCode; reason: string };

/** Why a queued run may no longer start: `reason` for the audit and the log, `message` for the requester. */
interface StartRefusal {
  code: ErrorCode;
  reason: string;
  message: string;
}

/** What the run service asks of the policy (executor/policy implements it). */
export interface RunPolicy {
  mayRunAction(principalId: string, actionId: string, inputs?: Record<string, unknown>, targets?: readonly string[]): Decision;
  mayCancelRun(principalId: string, run: RunRecord): Decision;
  mayDecideRun(principalId: string, run: RunRecord): Decision;
  approversForRun(run: RunRecord): string[];
}

export type InputValidation = { ok: true; values: Record<string, unknown>; parameterSet?: string } | { ok: false; fields: Record<string, string> };
export type InputValidator = (fields: FormField[], inputs: Record<string, unknown>, options?: InputSchemaOptions) => InputValidation;

/** Checks values of query-bound fields against what the query offers (executor/queries). */
export interface ChoiceChecker {
  /** Field name → problem, for every value the field's query does not offer to this principal. */
  check(action: Action, principalId: string, values: Record<string, unknown>, context: RequestContext): Promise<Record<string, string>>;
}

export interface RequestContext {
  correlationId: string;
  /** Label of the credential that made the request (token fingerprint, connector id). */
  via: string;
}

export interface RunServiceOptions {
  store: Store;
  policy: RunPolicy;
  runner: Runner;
  validateInputs: InputValidator;
  events: EventBus;
  clock: Clock;
  logger: Logger;
  limits: QueueLimits & { maxOutputBytes: number; maxOutputRecords: number };
  approvalTtlMs: number;
  /** Substituted for `{runDataDir}` in an action's fixed values (administrator data, never user input). */
  runDataDir: string;
  /** Values of query-bound fields must be among the query's choices. */
  choices?: ChoiceChecker;
  /** Remembers `Idempotency-Key`s of `POST /v1/runs` per principal (24 h, in the data folder). */
  idempotency?: IdempotencyStore;
}

/** Values that exist only in memory while a run waits: secrets are never persisted. */
interface PendingExecution {
  parameters: Record<string, unknown>;
  secretParameters: string[];
  /** Values of masked texts (`ASRDisplay(Password)`): passed as text, masked like secrets. */
  maskValues: string[];
}

/** The name under which a run's `$SRXEnv.ResultHtml` is kept and served. */
export const RESULT_HTML = 'result.html';

/** `$SRXEnv.SRXStartedReason`: how the run came about, in words. */
const STARTED_VIA: Record<RunRecord['origin']['kind'], string> = {
  teams: 'Started from Microsoft Teams',
  slack: 'Started from Slack',
  webchat: 'Started from the web chat',
  api: 'Started through the API',
  connector: 'Started by a web service connector',
  schedule: 'Started by a schedule',
  mail: 'Started by e-mail',
};

export class RunService {
  private readonly queue: RunQueue;
  private readonly pending = new Map<string, PendingExecution>();
  private readonly cancellers = new Map<string, AbortController>();
  /** Serializes state changes per run, so two approvers (or cancel + start) never both win. */
  private readonly locks = new Map<string, Promise<unknown>>();

  constructor(private readonly options: RunServiceOptions) {
    this.queue = new RunQueue(options.limits);
  }

  get queueDepth(): number {
    return this.queue.depth;
  }

  get runningCount(): number {
    return this.queue.running;
  }

  async create(request: CreateRunRequest, context: RequestContext): Promise<RunRecord> {
    const { store, clock } = this.options;
    const audit = (outcome: 'allowed' | 'denied', detail: Record<string, unknown>) =>
      store.audit.append({
        type: 'run.request',
        outcome,
        correlationId: context.correlationId,
        actor: request.principalId,
        via: context.via,
        subject: request.actionId,
        detail,
      });

    const targetIds = requestedTargetIds(request.target);
    const decision = this.options.policy.mayRunAction(request.principalId, request.actionId, request.inputs, targetIds);
    if (!decision.allowed) {
      await audit('denied', { reason: decision.reason, code: decision.code, ...(targetIds.length > 0 ? { targets: targetIds } : {}) });
      // The only validation the policy does: an action with targets asked without one.
      if (decision.code === 'DEPUTY_E_VALIDATION') throw new DeputyError(decision.code, { detail: decision.reason, fields: { [TARGET_FIELD]: 'Choose at least one target.' } });
      throw new DeputyError(decision.code, { detail: decision.reason });
    }
    const principal = store.catalog.getPrincipal(request.principalId);
    const action = store.catalog.getAction(request.actionId);
    const script = action && store.catalog.getScript(action.scriptId);
    const version = action && script && this.versionFor(action, script);
    if (!principal || !action || !script || !version) {
      await audit('denied', { reason: 'the action, its script or its version is missing' });
      throw new DeputyError('DEPUTY_E_NOT_FOUND', { detail: `action ${request.actionId} cannot be resolved to a script version` });
    }

    const prepared = this.prepareInputs(action, version, request.inputs, request.parameterSet);
    if (!prepared.ok) {
      await audit('denied', { reason: 'validation', fields: Object.keys(prepared.fields) });
      throw new DeputyError('DEPUTY_E_VALIDATION', { fields: prepared.fields });
    }
    const offered = this.options.choices ? await this.options.choices.check(action, principal.id, prepared.values, context) : {};
    if (Object.keys(offered).length > 0) {
      await audit('denied', { reason: 'not among the choices', fields: Object.keys(offered) });
      throw new DeputyError('DEPUTY_E_VALIDATION', { fields: offered });
    }
    try {
      this.queue.assertRoom(principal.id);
    } catch (error) {
      await audit('denied', { reason: 'busy' });
      throw error;
    }

    const now = new Date(clock.now()).toISOString();
    const needsApproval = action.approval === 'four-eyes';
    const targets = targetIds.map((id) => ({ id, name: store.catalog.getTarget(id)?.name ?? id }));
    const run: RunRecord = {
      id: newId('run'),
      actionId: action.id,
      actionTitle: action.title,
      principalId: principal.id,
      tenant: principal.tenant,
      state: needsApproval ? 'awaiting-approval' : 'queued',
      inputs: prepared.maskedInputs,
      ...(prepared.parameterSet ? { parameterSet: prepared.parameterSet } : {}),
      origin: request.origin,
      correlationId: context.correlationId,
      scriptId: script.id,
      scriptHash: version.hash,
      ...(targets.length > 0 ? { targets } : {}),
      runAs: action.runAs,
      timeoutSeconds: action.timeoutSeconds,
      notify: [...new Set([principal.id, ...action.notify])],
      createdAt: now,
      updatedAt: now,
      ...(needsApproval
        ? {
            approval: {
              required: true,
              expiresAt: new Date(clock.now() + this.options.approvalTtlMs).toISOString(),
              bindingHash: bindingHash(version.hash, prepared.maskedInputs, targetIds),
            },
          }
        : {}),
    };
    // One disk round trip, not two: the run and its audit entry are flushed side by side (docs/runner.md, "the warm path").
    await Promise.all([
      store.runs.put(run),
      audit('allowed', { runId: run.id, scriptHash: version.hash, state: run.state, inputs: run.inputs, ...(targets.length > 0 ? { targets: targetIds } : {}) }),
    ]);
    this.pending.set(run.id, { parameters: prepared.values, secretParameters: prepared.secretParameters, maskValues: prepared.maskValues });
    this.publish('run.created', run);
    if (needsApproval) this.publish('approval.requested', run, this.options.policy.approversForRun(run));
    else this.enqueue(run);
    return run;
  }

  /**
   * `create`, at most once per principal and key: a repeat (also one arriving while the first
   * is still being created, or after a restart) answers the first run and starts nothing; the
   * same key with another action or other inputs is 409 DEPUTY_E_CONFLICT. A refused request
   * is not remembered, so a corrected form may be sent again under the same key.
   */
  async createOnce(request: CreateRunRequest, context: RequestContext, key: string | undefined): Promise<{ run: RunRecord; replayed: boolean }> {
    const { idempotency } = this.options;
    if (key === undefined || !idempotency) return { run: await this.create(request, context), replayed: false };
    let created: RunRecord | undefined;
    const { answer, replay } = await idempotency.once(`principal:${request.principalId}`, key, this.requestFingerprint(request), async () => {
      created = await this.create(request, context);
      return { runId: created.id, state: created.state, correlationId: created.correlationId };
    });
    const run = created ?? this.get(answer.runId);
    if (!run) throw new DeputyError('DEPUTY_E_NOT_FOUND', { detail: `idempotent replay of run ${answer.runId}, which is gone` });
    return { run, replayed: replay };
  }

  /**
   * What makes two requests "the same" for an idempotency key: action, target and inputs, with
   * secret values left out so that no hash of a password is written to disk.
   */
  private requestFingerprint(request: CreateRunRequest): string {
    const action = this.options.store.catalog.getAction(request.actionId);
    const script = action && this.options.store.catalog.getScript(action.scriptId);
    const version = action && script && this.versionFor(action, script);
    const secrets = new Set(version?.parameters.filter((field) => field.kind === 'secret').map((field) => field.name) ?? []);
    const inputs = Object.fromEntries(Object.entries(request.inputs).map(([name, value]) => [name, secrets.has(name) ? MASK : value]));
    return canonicalJson({ actionId: request.actionId, target: request.target ?? null, inputs });
  }

  get(runId: string): RunRecord | undefined {
    return this.options.store.runs.get(runId);
  }

  /** Who may read a run: its requester, whoever it names, and whoever may cancel or decide it. */
  visibleTo(principalId: string, run: RunRecord): boolean {
    const { policy } = this.options;
    return (
      run.principalId === principalId ||
      run.notify.includes(principalId) ||
      policy.mayCancelRun(principalId, run).allowed ||
      policy.mayDecideRun(principalId, run).allowed
    );
  }

  async cancel(runId: string, principalId: string, context: RequestContext): Promise<RunRecord> {
    return this.withLock(runId, async () => {
      const run = this.require(runId);
      const decision = this.options.policy.mayCancelRun(principalId, run);
      await this.options.store.audit.append({
        type: 'run.cancel',
        outcome: decision.allowed ? 'allowed' : 'denied',
        correlationId: context.correlationId,
        actor: principalId,
        via: context.via,
        subject: runId,
        detail: decision.allowed ? { state: run.state } : { reason: decision.reason },
      });
      if (!decision.allowed) throw new DeputyError(decision.code, { detail: decision.reason });
      if (isFinalRunState(run.state)) throw new DeputyError('DEPUTY_E_CONFLICT', { message: `This run has already ended (${run.state}).` });
      const controller = this.cancellers.get(runId);
      if (controller) {
        // The runner kills the process tree and finishes the run as cancelled.
        controller.abort();
        return run;
      }
      this.queue.remove(runId);
      this.pending.delete(runId);
      return this.finish(run, 'cancelled', { error: { code: 'DEPUTY_E_CONFLICT', message: `Cancelled by ${principalId}.` } });
    });
  }

  async decide(runId: string, request: DecisionRequest, context: RequestContext): Promise<RunRecord> {
    return this.withLock(runId, async () => {
      const run = this.require(runId);
      const record = (outcome: 'allowed' | 'denied', detail: Record<string, unknown>) =>
        this.options.store.audit.append({
          type: 'run.decision',
          outcome,
          correlationId: context.correlationId,
          actor: request.principalId,
          via: context.via,
          subject: runId,
          detail: { decision: request.decision, ...detail },
        });
      if (run.state !== 'awaiting-approval') {
        const by = run.approval?.decidedBy ? ` by ${run.approval.decidedBy}` : '';
        await record('denied', { reason: `run is ${run.state}` });
        throw new DeputyError('DEPUTY_E_CONFLICT', { message: `This request was already decided${by} (${run.state}).` });
      }
      const decision = this.options.policy.mayDecideRun(request.principalId, run);
      if (!decision.allowed) {
        await record('denied', { reason: decision.reason, code: decision.code });
        throw new DeputyError(decision.code, { detail: decision.reason });
      }
      if (this.isExpired(run)) {
        await record('denied', { reason: 'expired' });
        await this.expire(run);
        throw new DeputyError('DEPUTY_E_EXPIRED');
      }
      if (run.approval?.bindingHash !== bindingHash(run.scriptHash, run.inputs, runTargetIds(run))) {
        await record('denied', { reason: 'the inputs or script hash no longer match what was requested' });
        throw new DeputyError('DEPUTY_E_CONFLICT', { detail: 'approval binding mismatch' });
      }
      if (request.decision === 'approve') {
        // Rights may have changed while the run waited: the requester must still be allowed.
        const stillAllowed = this.options.policy.mayRunAction(run.principalId, run.actionId, run.inputs, runTargetIds(run));
        if (!stillAllowed.allowed) {
          await record('denied', { reason: `the requester may no longer run this action: ${stillAllowed.reason}` });
          this.pending.delete(runId);
          return this.finish({ ...run, approval: { ...run.approval, required: true, reason: 'requester no longer allowed' } }, 'rejected', {});
        }
      }
      await record('allowed', { comment: request.comment });
      const approval = {
        ...run.approval,
        required: true,
        decidedBy: request.principalId,
        decision: request.decision,
        ...(request.comment ? { comment: request.comment } : {}),
      };
      if (request.decision === 'reject') {
        this.pending.delete(runId);
        return this.finish({ ...run, approval }, 'rejected', {});
      }
      if (!this.pending.has(runId)) {
        // Secrets lived only in memory; after a restart the run cannot be executed faithfully.
        return this.finish({ ...run, approval: { ...approval, reason: 'inputs were lost in a restart' } }, 'interrupted', {});
      }
      const queued = await this.transition({ ...run, approval }, 'queued');
      this.enqueue(queued);
      return queued;
    });
  }

  /** Rejects approvals whose time has passed; called on a timer and before each decision. */
  async expireApprovals(): Promise<number> {
    const waiting = this.options.store.runs.unfinished().filter((run) => run.state === 'awaiting-approval' && this.isExpired(run));
    for (const run of waiting) await this.withLock(run.id, () => this.expire(this.require(run.id)));
    return waiting.length;
  }

  /**
   * After a restart: runs found running are marked interrupted (never silently lost); runs found
   * queued are resumed unless they carried secrets, which were only ever in memory.
   */
  async recover(): Promise<{ interrupted: number; resumed: number }> {
    let interrupted = 0;
    let resumed = 0;
    for (const run of this.options.store.runs.unfinished()) {
      if (run.state === 'running' || run.state === 'requested') {
        await this.finish(run, 'interrupted', { error: { code: 'DEPUTY_E_INTERNAL', message: 'The executor restarted while this run was in progress.' } });
        interrupted++;
      } else if (run.state === 'queued') {
        const parameters = this.parametersAfterRestart(run);
        if (!parameters) {
          await this.finish(run, 'interrupted', { error: { code: 'DEPUTY_E_CONFLICT', message: 'Secret inputs are not kept across a restart; please submit again.' } });
          interrupted++;
          continue;
        }
        this.pending.set(run.id, parameters);
        this.enqueue(run);
        resumed++;
      }
    }
    return { interrupted, resumed };
  }

  /** Waits for queued and running work (tests, shutdown). */
  idle(): Promise<void> {
    return this.queue.idle();
  }

  /** Cancels what runs and waits for it, for shutdown. */
  async stop(): Promise<void> {
    for (const controller of this.cancellers.values()) controller.abort();
    await this.queue.idle();
  }

  // ------------------------------------------------------------------ internals

  /** The version an action runs, resolved exactly as the policy resolves it. */
  versionFor(action: Action, script: Script): ScriptVersion | undefined {
    const resolution = resolveActionVersion(action, script);
    return resolution.ok ? this.options.store.catalog.getVersion(resolution.hash) : undefined;
  }

  /**
   * The user's values, checked (per parameter set when the script has several), with prefills
   * (presets, constant defaults) for the fields of the set PowerShell will bind, then the fixed
   * values. A prefill never decides the set: it is added only to the set the given values bind.
   */
  private prepareInputs(action: Action, version: ScriptVersion, given: Record<string, unknown>, chosenSet: string | undefined) {
    const form = formOf(action, version);
    const options: InputSchemaOptions = {
      suppliedElsewhere: [...Object.keys(action.fixed), ...Object.keys(action.credentials ?? {})],
      ...(version.parameterSets ? { parameterSets: version.parameterSets } : {}),
      ...(chosenSet !== undefined ? { chosenSet } : {}),
    };
    const setName = chosenSet ?? this.setOfGiven(version, given, options.suppliedElsewhere ?? []);
    const set = version.parameterSets?.find((candidate) => candidate.name === setName);
    const withPrefills: Record<string, unknown> = {};
    for (const field of form.fields) {
      const inSet = !version.parameterSets || set?.fields.some((entry) => entry.name === field.name);
      if (field.default !== undefined && inSet) withPrefills[field.name] = field.default;
    }
    const validation = this.options.validateInputs(form.fields, { ...withPrefills, ...given }, { ...options, ...(set ? { chosenSet: set.name } : {}) });
    if (!validation.ok) return validation;
    const secretParameters = version.parameters.filter((field) => field.kind === 'secret').map((field) => field.name);
    const maskedParameters = version.parameters.filter((field) => field.masked).map((field) => field.name);
    const fixed = Object.fromEntries(Object.entries(action.fixed).map(([name, value]) => [name, this.expandFixed(value)]));
    const values = { ...validation.values, ...fixed };
    const hidden = new Set([...secretParameters, ...maskedParameters]);
    const maskedInputs = Object.fromEntries(Object.entries(validation.values).map(([name, value]) => [name, hidden.has(name) ? MASK : value]));
    const maskValues = maskedParameters.flatMap((name) => (typeof values[name] === 'string' && values[name] !== '' ? [values[name] as string] : []));
    return { ok: true as const, values, maskedInputs, secretParameters, maskValues, ...(validation.parameterSet ? { parameterSet: validation.parameterSet } : {}) };
  }

  /** The set the given values (and the action's own) bind to, if they bind to one; prefills follow it. */
  private setOfGiven(version: ScriptVersion, given: Record<string, unknown>, suppliedElsewhere: readonly string[]): string | undefined {
    if (!version.parameterSets) return undefined;
    const names = Object.entries(given).filter(([, value]) => value !== undefined && value !== null && value !== '' && !(Array.isArray(value) && value.length === 0)).map(([name]) => name);
    const resolution = resolveParameterSet(version.parameterSets, [...names, ...suppliedElsewhere]);
    return resolution.ok ? resolution.set.name : undefined;
  }

  private expandFixed(value: unknown): unknown {
    if (typeof value === 'string') return value.split(RUN_DATA_PLACEHOLDER).join(this.options.runDataDir);
    if (Array.isArray(value)) return value.map((item) => this.expandFixed(item));
    return value;
  }

  private parametersAfterRestart(run: RunRecord): PendingExecution | undefined {
    const action = this.options.store.catalog.getAction(run.actionId);
    const version = this.options.store.catalog.getVersion(run.scriptHash);
    if (!action || !version) return undefined;
    const secretParameters = version.parameters.filter((field) => field.kind === 'secret').map((field) => field.name);
    const hidden = version.parameters.filter((field) => field.kind === 'secret' || field.masked).map((field) => field.name);
    if (Object.entries(run.inputs).some(([name, value]) => hidden.includes(name) && value === MASK)) return undefined;
    const fixed = Object.fromEntries(Object.entries(action.fixed).map(([name, value]) => [name, this.expandFixed(value)]));
    return { parameters: { ...run.inputs, ...fixed }, secretParameters, maskValues: [] };
  }

  private enqueue(run: RunRecord): void {
    this.queue.enqueue(run.id, run.principalId, () => this.execute(run.id));
  }

  private async execute(runId: string): Promise<void> {
    const { store, runner, logger, clock, limits } = this.options;
    const pendingInputs = this.pending.get(runId);
    this.pending.delete(runId);
    let run = store.runs.get(runId);
    if (!run || run.state !== 'queued' || !pendingInputs) return;
    const version = store.catalog.getVersion(run.scriptHash);
    if (!version) {
      await this.finish(run, 'failed', { error: { code: 'DEPUTY_E_NOT_FOUND', message: 'The script version of this run no longer exists.' } });
      return;
    }
    const refusal = this.startRefusal(run, version);
    if (refusal) {
      await this.withLock(runId, async () => {
        const latest = store.runs.get(runId);
        if (latest?.state === 'queued') await this.refuseStart(latest, refusal);
      });
      return;
    }
    const controller = new AbortController();
    this.cancellers.set(runId, controller);
    const startedAt = clock.now();
    try {
      const result = await runner.execute(
        {
          runId,
          requester: run.principalId,
          scriptText: version.text,
          scriptHash: version.hash,
          parameters: pendingInputs.parameters,
          secretParameters: pendingInputs.secretParameters,
          ...(pendingInputs.maskValues.length > 0 ? { maskValues: pendingInputs.maskValues } : {}),
          runAs: run.runAs,
          timeoutMs: run.timeoutSeconds * 1000,
          limits: { maxOutputBytes: limits.maxOutputBytes, maxRecords: limits.maxOutputRecords },
          ...(version.usesSrxEnv ? { srx: this.srxContext(run) } : {}),
        },
        {
          signal: controller.signal,
          onStarted: () => {
            const current = run;
            if (current) void this.withLock(runId, async () => (run = await this.transition(current, 'running', { startedAt: new Date(clock.now()).toISOString() })));
          },
        },
      );
      // The output is durable before the final state that points to it; it is written while the
      // `running` state may still be on its way to disk, which the final state waits for.
      const html = result.srx?.html;
      await store.runs.writeOutput(runId, html ? [...result.records, { stream: 'information', text: html, attachment: RESULT_HTML }] : result.records);
      await this.withLock(runId, async () => {
        const latest = store.runs.get(runId) ?? run;
        if (!latest) return;
        const summary = {
          ...result.summary,
          ...(result.srx?.message ? { message: result.srx.message } : {}),
          ...(html ? { html: true } : {}),
        };
        await this.finish(latest, result.outcome, { summary, durationMs: result.durationMs, ...(result.error ? { error: result.error } : {}) });
      });
    } catch (error) {
      const code = error instanceof DeputyError ? error.code : 'DEPUTY_E_INTERNAL';
      const message = error instanceof DeputyError ? error.message : 'The run could not be started.';
      logger.error({ err: error, runId, correlationId: run.correlationId }, 'run failed to execute');
      await this.withLock(runId, async () => {
        const latest = store.runs.get(runId);
        if (latest && !isFinalRunState(latest.state)) await this.finish(latest, 'failed', { error: { code, message }, durationMs: clock.now() - startedAt });
      });
    } finally {
      this.cancellers.delete(runId);
    }
  }

  /** What `$SRXEnv` tells a script written for ScriptRunner about its run. */
  private srxContext(run: RunRecord): SrxContext {
    const principal = this.options.store.catalog.getPrincipal(run.principalId);
    const via = STARTED_VIA[run.origin.kind];
    const approvedBy = run.approval?.decidedBy ? `, approved by ${run.approval.decidedBy}` : '';
    return {
      startedBy: principal?.email ?? run.principalId,
      startedReason: `${via} for ${principal?.name ?? run.principalId}${approvedBy}`,
      displayName: run.actionTitle,
      actionId: run.actionId,
      scriptName: this.options.store.catalog.getScript(run.scriptId)?.name ?? run.scriptId,
    };
  }

  /**
   * A run waits (in the queue, for an approval, across a restart) while the catalog moves on:
   * when it starts, its script version must still be one the action runs, approved for it, with
   * the text of its hash, and the requester must still be allowed. Otherwise it never runs.
   */
  private startRefusal(run: RunRecord, version: ScriptVersion): StartRefusal | undefined {
    const { store, policy } = this.options;
    const action = store.catalog.getAction(run.actionId);
    const script = store.catalog.getScript(run.scriptId);
    const short = run.scriptHash.slice(0, 12);
    if (!action || !script || action.scriptId !== script.id) {
      return { code: 'DEPUTY_E_NOT_FOUND', reason: `action ${run.actionId} or its script ${run.scriptId} no longer exists`, message: 'This run was not started: its action no longer exists.' };
    }
    if (sha256(version.text) !== run.scriptHash) {
      return { code: 'DEPUTY_E_CONFLICT', reason: `the stored text of version ${run.scriptHash} does not have that hash`, message: 'This run was not started: the stored script does not match the version that was requested.' };
    }
    const changed = `This run was not started: the script of "${run.actionTitle}" changed after you asked. Please ask again.`;
    const status = versionStatus(script, run.scriptHash);
    if (status === undefined || (run.scriptHash !== script.currentHash && run.scriptHash !== script.approvedHash)) {
      return { code: 'DEPUTY_E_CONFLICT', reason: `version ${short} of script "${script.id}" was replaced by ${script.currentHash.slice(0, 12)}`, message: changed };
    }
    if (status === 'draft') {
      return { code: 'DEPUTY_E_CONFLICT', reason: `script "${script.id}" was withdrawn: version ${short} is draft now`, message: `This run was not started: the script of "${run.actionTitle}" was withdrawn after you asked.` };
    }
    const resolution = resolveActionVersion(action, script);
    if (!resolution.ok) return { code: resolution.code, reason: resolution.reason, message: changed };
    if (resolution.hash !== run.scriptHash) {
      return { code: 'DEPUTY_E_CONFLICT', reason: `action ${action.id} runs version ${resolution.hash.slice(0, 12)} now, not ${short}`, message: changed };
    }
    const decision = policy.mayRunAction(run.principalId, run.actionId, run.inputs, runTargetIds(run));
    if (!decision.allowed) return { code: decision.code, reason: decision.reason, message: 'This run was not started: you may no longer run this action.' };
    return undefined;
  }

  private async refuseStart(run: RunRecord, refusal: StartRefusal): Promise<void> {
    this.options.logger.warn({ runId: run.id, correlationId: run.correlationId, code: refusal.code, reason: refusal.reason }, 'queued run refused at start');
    await this.options.store.audit.append({
      type: 'run.start',
      outcome: 'denied',
      correlationId: run.correlationId,
      actor: run.principalId,
      subject: run.id,
      detail: { actionId: run.actionId, scriptHash: run.scriptHash, code: refusal.code, reason: refusal.reason },
    });
    await this.finish(run, 'rejected', { error: { code: refusal.code, message: refusal.message } });
  }

  private transition(run: RunRecord, state: RunState, extra: Partial<RunRecord> = {}): Promise<RunRecord> {
    const next: RunRecord = { ...run, ...extra, state, updatedAt: new Date(this.options.clock.now()).toISOString() };
    return this.record(run, next, 'run.updated', {});
  }

  private finish(run: RunRecord, state: RunState, extra: Partial<RunRecord>): Promise<RunRecord> {
    const endedAt = this.options.clock.now();
    const startedAt = run.startedAt ? Date.parse(run.startedAt) : undefined;
    const next: RunRecord = {
      ...run,
      ...extra,
      state,
      endedAt: new Date(endedAt).toISOString(),
      updatedAt: new Date(endedAt).toISOString(),
      ...(extra.durationMs === undefined && startedAt !== undefined ? { durationMs: endedAt - startedAt } : {}),
    };
    return this.record(run, next, 'run.finished', { durationMs: next.durationMs, error: next.error?.code });
  }

  /**
   * Every state change: the record and its audit entry durable (flushed side by side, one disk
   * round trip), then the event subscribers see it. A crash between the two flushes leaves one
   * without the other, as writing them one after the other could too.
   */
  private async record(previous: RunRecord, next: RunRecord, event: 'run.updated' | 'run.finished', detail: Record<string, unknown>): Promise<RunRecord> {
    await Promise.all([
      this.options.store.runs.put(next),
      this.options.store.audit.append({
        type: event === 'run.finished' ? 'run.finish' : 'run.state',
        outcome: 'info',
        correlationId: previous.correlationId,
        actor: previous.principalId,
        subject: previous.id,
        detail: { from: previous.state, to: next.state, ...detail },
      }),
    ]);
    this.publish(event, next);
    return next;
  }

  private isExpired(run: RunRecord): boolean {
    const expiresAt = run.approval?.expiresAt;
    return expiresAt !== undefined && Date.parse(expiresAt) <= this.options.clock.now();
  }

  private expire(run: RunRecord): Promise<RunRecord> {
    this.pending.delete(run.id);
    return this.finish({ ...run, approval: { required: true, ...run.approval, reason: 'expired' } }, 'rejected', {});
  }

  private publish(type: 'run.created' | 'run.updated' | 'run.finished' | 'approval.requested', run: RunRecord, extraNotify: string[] = []): void {
    this.options.events.publish({ type, run: toRunView(run), notify: [...new Set([...run.notify, ...extraNotify])] });
  }

  private require(runId: string): RunRecord {
    const run = this.options.store.runs.get(runId);
    if (!run) throw new DeputyError('DEPUTY_E_NOT_FOUND', { detail: `run ${runId}` });
    return run;
  }

  private async withLock<T>(runId: string, work: () => Promise<T>): Promise<T> {
    const previous = this.locks.get(runId) ?? Promise.resolve();
    const next = previous.then(work, work);
    const settled = next.catch(() => undefined);
    this.locks.set(runId, settled);
    try {
      return await next;
    } finally {
      if (this.locks.get(runId) === settled) this.locks.delete(runId);
    }
  }
}

/**
 * Binds an approval to the exact script hash, inputs and targets that were requested. A run on
 * no target hashes as it always did, so approvals pending across an upgrade still match.
 */
export function bindingHash(scriptHash: string, inputs: Record<string, unknown>, targets: readonly string[] = []): string {
  const hash = createHash('sha256').update(scriptHash).update('\n').update(canonicalJson(inputs));
  if (targets.length > 0) hash.update('\n').update(canonicalJson(targets));
  return hash.digest('hex');
}

function runTargetIds(run: RunRecord): string[] {
  return (run.targets ?? []).map((target) => target.id);
}

function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([key, item]) => `${JSON.stringify(key)}:${canonicalJson(item)}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

