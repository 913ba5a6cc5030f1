/**
 * The run lifecycle: requested → awaiting-approval → queued → running → a final state.
 * Every run is durable before the caller hears of it, every decision is an audit entry, and
 * the executor re-checks the policy itself whatever the bot decided.
 *
 * This is the accepting side (create, decide, cancel, read), which any executor of a cluster
 * can be for any run; the worker side that executes runs taken from the queue is worker.ts.
 * Every state change is a compare-and-set on the run store (records.ts).
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
} from '../contract/index.ts';
import { IDEMPOTENCY_TTL_MS, type IdempotentAnswer } from '../connectors/idempotency.ts';
import type { Action, AuditInput, RunRecord, Script, ScriptVersion } from '../domain.ts';
import { resolveActionVersion } from '../policy/versions.ts';
import type { RunQueue } from '../queue/port.ts';
import type { AuditLog, CatalogStore, RunFilter, StoredRecord } from '../store/port.ts';
import type { AsyncRunStore, TransitionResult } from '../store/state-port.ts';
import { requestedTargetIds } from '../targets/resolve.ts';
import type { CancelChannel } from './cancels.ts';
import { expandFixed, payloadFromRecord, withAuditEntry, type ExecutionPayload, type RunRecorder } from './records.ts';
import type { RunWorker } from './worker.ts';
import { formOf } from './views.ts';
import { resolveParameterSet } from '../catalog/parameter-sets.ts';
import type { InputSchemaOptions } from '../catalog/inputs.ts';

export { RESULT_HTML } from './worker.ts';

export type Decision = { allowed: true } | { allowed: false; code: ErrorCode; reason: string };

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

/** `once` of an idempotency record set: the first answer for a key, or `start()`'s when the key is new. */
export interface IdempotentOnce {
  once(scope: string, key: string, body: string, start: () => Promise<IdempotentAnswer>): Promise<{ answer: IdempotentAnswer; replay: boolean }>;
}

export interface RunServiceOptions {
  /** This executor's name: a run it accepts names it until a worker takes it (an executor that dies in between leaves runs others must adopt). */
  executorId: string;
  catalog: CatalogStore;
  audit: AuditLog;
  runs: AsyncRunStore;
  recorder: RunRecorder;
  queue: RunQueue;
  /** Reaches the executor that holds a running run. */
  cancels: CancelChannel;
  /** This executor's worker side (for `idle`, tests and shutdown). */
  worker: RunWorker;
  policy: RunPolicy;
  validateInputs: InputValidator;
  clock: Clock;
  logger: Logger;
  approvalTtlMs: number;
  /** Substituted for `{runDataDir}` in an action's fixed values (administrator data, never user input). */
  runDataDir: string;
  /** Values of query-bound fields must be among the query's choices. */
  choices?: ChoiceChecker;
  /** Remembers `Idempotency-Key`s of `POST /v1/runs` per principal (24 h). */
  idempotency?: IdempotentOnce;
}

export class RunService {
  /**
   * Payloads of runs awaiting approval, in this process only: secrets are never persisted. An
   * approval decided on another executor (or after a restart) rebuilds the payload from the
   * record when the run had no secret inputs, and interrupts the run otherwise.
   */
  private readonly pending = new Map<string, ExecutionPayload>();
  /** Serializes state changes per run within this process (two approvers answer in turn); across executors the store's compare-and-set decides. */
  private readonly locks = new Map<string, Promise<unknown>>();

  constructor(private readonly options: RunServiceOptions) {}

  /** Runs waiting in the queue (across every executor on PostgreSQL). */
  queueDepth(): Promise<number> {
    return this.options.queue.depth();
  }

  /** Runs executing on this executor. */
  get runningCount(): number {
    return this.options.worker.runningCount;
  }

  /** `runId`: the id to store the run under (createOnce derives it from the idempotency key); a new one otherwise. */
  async create(request: CreateRunRequest, context: RequestContext, runId?: string): Promise<RunRecord> {
    const { clock } = this.options;
    const { catalog } = this.options;
    const entry = (outcome: 'allowed' | 'denied', detail: Record<string, unknown>): AuditInput => ({
      type: 'run.request',
      outcome,
      correlationId: context.correlationId,
      actor: request.principalId,
      via: context.via,
      subject: request.actionId,
      detail,
    });
    const audit = (outcome: 'allowed' | 'denied', detail: Record<string, unknown>) => this.options.audit.append(entry(outcome, detail));

    const targetIds = requestedTargetIds(request.target);
    const decision = this.options.policy.mayRunAction(request.principalId, request.actionId, request.inputs, targetIds);
    if (!decision.allowed) {
      await audit('denied', { reason: decision.reason, code: decision.code, ...(targetIds.length > 0 ? { targets: targetIds } : {}) });
      // The only validation the policy does: an action with targets asked without one.
      if (decision.code === 'DEPUTY_E_VALIDATION') throw new DeputyError(decision.code, { detail: decision.reason, fields: { [TARGET_FIELD]: 'Choose at least one target.' } });
      throw new DeputyError(decision.code, { detail: decision.reason });
    }
    const principal = catalog.getPrincipal(request.principalId);
    const action = catalog.getAction(request.actionId);
    const script = action && catalog.getScript(action.scriptId);
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
      await this.options.queue.assertRoom(principal.id);
    } catch (error) {
      await audit('denied', { reason: 'busy' });
      throw error;
    }

    const now = new Date(clock.now()).toISOString();
    const needsApproval = action.approval === 'four-eyes';
    const targets = targetIds.map((id) => ({ id, name: catalog.getTarget(id)?.name ?? id }));
    const run: RunRecord = {
      id: runId ?? newId('run'),
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
      executor: this.options.executorId,
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
    const allowed = entry('allowed', { runId: run.id, scriptHash: version.hash, state: run.state, inputs: run.inputs, ...(targets.length > 0 ? { targets: targetIds } : {}) });
    await withAuditEntry(this.options.audit, allowed, (alongside) => this.options.runs.create(run, alongside));
    const payload: ExecutionPayload = { parameters: prepared.values, secretParameters: prepared.secretParameters, maskValues: prepared.maskValues };
    await this.options.recorder.publish('run.created', run);
    if (needsApproval) {
      this.pending.set(run.id, payload);
      await this.options.recorder.publish('approval.requested', run, this.options.policy.approversForRun(run));
      return run;
    }
    return this.enqueue(run, payload);
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
    const scope = `principal:${request.principalId}`;
    const fingerprint = this.requestFingerprint(request);
    const { answer, replay } = await idempotency.once(scope, key, fingerprint, async () => {
      created = await this.createUnder(idempotentRunId(scope, key, fingerprint), request, context);
      return { runId: created.id, state: created.state, correlationId: created.correlationId };
    });
    const run = created ?? (await this.get(answer.runId));
    if (!run) throw new DeputyError('DEPUTY_E_NOT_FOUND', { detail: `idempotent replay of run ${answer.runId}, which is gone` });
    return { run, replayed: replay };
  }

  /**
   * The run of an idempotent request is stored under an id derived from its key: should the
   * executor that stored it die before it recorded the key's answer, the retry (on any executor,
   * once that claim lapsed) finds the run instead of starting a second one. A run under that id
   * older than the key's lifetime belongs to an earlier use of the key; this one gets a new id.
   */
  private async createUnder(id: string, request: CreateRunRequest, context: RequestContext): Promise<RunRecord> {
    const existing = await this.get(id);
    if (existing && this.options.clock.now() - Date.parse(existing.createdAt) < IDEMPOTENCY_TTL_MS) return existing;
    try {
      return await this.create(request, context, existing ? undefined : id);
    } catch (error) {
      const raced = error instanceof DeputyError && error.code === 'DEPUTY_E_CONFLICT' ? await this.get(id) : undefined;
      if (raced) return raced;
      throw error;
    }
  }

  /**
   * What makes two requests "the same" for an idempotency key: action, target and inputs, with
   * secret values left out so that no hash of a password is written to disk.
   */
  private requestFingerprint(request: CreateRunRequest): string {
    const action = this.options.catalog.getAction(request.actionId);
    const script = action && this.options.catalog.getScript(action.scriptId);
    const version = action && script && this.versionFor(action, script);
    const secrets = new Set(version?.parameters.filter((field) => field.kind === 'secret').map((field) => field.name) ?? []);
    const inputs = Object.fromEntries(Object.entries(request.inputs).map(([name, value]) => [name, secrets.has(name) ? MASK : value]));
    return canonicalJson({ actionId: request.actionId, target: request.target ?? null, inputs });
  }

  get(runId: string): Promise<RunRecord | undefined> {
    return this.options.runs.get(runId);
  }

  list(filter: RunFilter): Promise<RunRecord[]> {
    return this.options.runs.list(filter);
  }

  readOutput(runId: string): Promise<StoredRecord[]> {
    return this.options.runs.readOutput(runId);
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
      const run = await this.require(runId);
      const decision = this.options.policy.mayCancelRun(principalId, run);
      await this.options.audit.append({
        type: 'run.cancel',
        outcome: decision.allowed ? 'allowed' : 'denied',
        correlationId: context.correlationId,
        actor: principalId,
        via: context.via,
        subject: runId,
        detail: decision.allowed ? { state: run.state } : { reason: decision.reason },
      });
      if (!decision.allowed) throw new DeputyError(decision.code, { detail: decision.reason });
      return this.stop(run, principalId);
    });
  }

  /**
   * A run not started yet ends here as cancelled (if a worker claims it first, the claim wins and
   * the run is stopped like a running one); a running run is stopped by the executor holding it,
   * which kills the process tree and finishes it as cancelled.
   */
  private async stop(run: RunRecord, principalId: string): Promise<RunRecord> {
    let current: RunRecord | undefined = run;
    for (;;) {
      if (!current || isFinalRunState(current.state)) throw new DeputyError('DEPUTY_E_CONFLICT', { message: `This run has already ended (${current?.state ?? 'gone'}).` });
      if (current.state === 'running') {
        await this.options.cancels.request(current.id, current.executor);
        return current;
      }
      const result: TransitionResult = await this.options.recorder.finish(current, 'cancelled', { error: { code: 'DEPUTY_E_CONFLICT', message: `Cancelled by ${principalId}.` } });
      if (result.ok) {
        this.pending.delete(current.id);
        if (current.state === 'queued') await this.options.queue.remove(current.id);
        return result.run;
      }
      current = result.current;
    }
  }

  async decide(runId: string, request: DecisionRequest, context: RequestContext): Promise<RunRecord> {
    return this.withLock(runId, async () => {
      const run = await this.require(runId);
      const record = (outcome: 'allowed' | 'denied', detail: Record<string, unknown>) =>
        this.options.audit.append({
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
          return this.settled(await this.options.recorder.finish({ ...run, approval: { ...run.approval, required: true, reason: 'requester no longer allowed' } }, 'rejected', {}));
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
        return this.settled(await this.options.recorder.finish({ ...run, approval }, 'rejected', {}));
      }
      const payload = this.pending.get(runId) ?? payloadFromRecord(this.options.catalog, run, this.options.runDataDir);
      this.pending.delete(runId);
      if (!payload) {
        // Secrets lived only in the memory of the executor that accepted the run, which restarted (or is another one).
        return this.settled(await this.options.recorder.finish({ ...run, approval: { ...approval, reason: 'inputs were lost in a restart' } }, 'interrupted', {}));
      }
      const queued = this.settled(await this.options.recorder.move({ ...run, approval }, 'queued'));
      return this.enqueue(queued, payload);
    });
  }

  /** Rejects approvals whose time has passed; called on a timer (by one executor of a cluster) and before each decision. */
  async expireApprovals(): Promise<number> {
    const waiting = (await this.options.runs.unfinished()).filter((run) => run.state === 'awaiting-approval' && this.isExpired(run));
    let expired = 0;
    for (const run of waiting) {
      const result = await this.withLock(run.id, async () => {
        const latest = await this.require(run.id);
        return latest.state === 'awaiting-approval' ? this.expire(latest) : undefined;
      });
      if (result?.ok) expired++;
    }
    return expired;
  }

  /** Waits for queued and running work (tests, shutdown). */
  idle(): Promise<void> {
    return this.options.worker.idle();
  }

  // ------------------------------------------------------------------ internals

  /** The version an action runs, resolved exactly as the policy resolves it. */
  versionFor(action: Action, script: Script): ScriptVersion | undefined {
    const resolution = resolveActionVersion(action, script);
    return resolution.ok ? this.options.catalog.getVersion(resolution.hash) : undefined;
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
    const fixed = Object.fromEntries(Object.entries(action.fixed).map(([name, value]) => [name, expandFixed(value, this.options.runDataDir)]));
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

  /**
   * Hands a queued run to the queue with its payload. Should the caps have filled since
   * `assertRoom` (another executor took the last place), the run ends as rejected, busy.
   */
  private async enqueue(run: RunRecord, payload: ExecutionPayload): Promise<RunRecord> {
    try {
      await this.options.queue.enqueue({ runId: run.id, principalId: run.principalId, secrets: { ...payload } });
      return run;
    } catch (error) {
      if (!(error instanceof DeputyError) || error.code !== 'DEPUTY_E_BUSY') throw error;
      await this.options.recorder.finish(run, 'rejected', { error: { code: error.code, message: error.message } });
      throw error;
    }
  }

  /** The run a transition left; one this process lost (another executor moved the run first) is a conflict. */
  private settled(result: TransitionResult): RunRecord {
    if (result.ok) return result.run;
    throw new DeputyError('DEPUTY_E_CONFLICT', { message: `This run changed meanwhile (${result.current?.state ?? 'gone'}).` });
  }

  private isExpired(run: RunRecord): boolean {
    const expiresAt = run.approval?.expiresAt;
    return expiresAt !== undefined && Date.parse(expiresAt) <= this.options.clock.now();
  }

  private expire(run: RunRecord): Promise<TransitionResult> {
    this.pending.delete(run.id);
    return this.options.recorder.finish({ ...run, approval: { required: true, ...run.approval, reason: 'expired' } }, 'rejected', {});
  }

  private async require(runId: string): Promise<RunRecord> {
    const run = await this.options.runs.get(runId);
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


/** The id of the run an idempotent request creates: the same for the same principal, key and request. */
export function idempotentRunId(scope: string, key: string, fingerprint: string): string {
  return `run_k${createHash('sha256').update(scope).update('\u0000').update(key).update('\u0000').update(fingerprint).digest('hex').slice(0, 32)}`;
}
