/**
 * The worker side of the run service: takes runs from the RunQueue (in-process on files, pg-boss
 * on PostgreSQL), claims each with `transition(id, 'queued', running)` (of two executors, or of a
 * start and a cancel, exactly one wins), executes it with pwsh and records its end. It also stops
 * the runs it holds when a cancel reaches it, and at start-up recovers only its own runs.
 */
import type { Logger } from 'pino';
import type { Clock } from '../../lib/clock.ts';
import { DeputyError, isFinalRunState, type ErrorCode } from '../contract/index.ts';
import type { RunRecord, ScriptVersion } from '../domain.ts';
import { sha256 } from '../catalog/scripts.ts';
import { resolveActionVersion, versionStatus } from '../policy/versions.ts';
import type { SrxContext } from '../pwsh/srx.ts';
import type { Runner } from '../pwsh/types.ts';
import type { QueuedRun, RunQueue } from '../queue/port.ts';
import type { AuditLog, CatalogStore } from '../store/port.ts';
import type { AsyncRunStore } from '../store/state-port.ts';
import type { CancelChannel } from './cancels.ts';
import { payloadFromRecord, type ExecutionPayload, type RunRecorder } from './records.ts';
import type { Decision } from './service.ts';

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

/** Why a queued run may no longer start: `reason` for the audit and the log, `message` for the requester. */
interface StartRefusal {
  code: ErrorCode;
  reason: string;
  message: string;
}

export interface RunWorkerOptions {
  executorId: string;
  runs: AsyncRunStore;
  catalog: CatalogStore;
  audit: AuditLog;
  recorder: RunRecorder;
  queue: RunQueue;
  cancels: CancelChannel;
  runner: Runner;
  mayRunAction(principalId: string, actionId: string, inputs?: Record<string, unknown>, targets?: readonly string[]): Decision;
  clock: Clock;
  logger: Logger;
  limits: { maxOutputBytes: number; maxOutputRecords: number };
  runDataDir: string;
  /** The runs executing here, by id: what the runner's decorators (targets, credentials) read. */
  executing: Map<string, RunRecord>;
}

export class RunWorker {
  private readonly cancellers = new Map<string, AbortController>();
  private stopListening: (() => void) | undefined;

  constructor(private readonly options: RunWorkerOptions) {}

  /** Starts taking runs from the queue and listening for cancels addressed to this executor. */
  async start(): Promise<void> {
    this.stopListening = await this.options.cancels.listen((runId) => this.abort(runId), () => [...this.cancellers.keys()]);
    await this.options.queue.work((run) => this.execute(run));
  }

  /** Stops a run executing here; false when it is not here. */
  abort(runId: string): boolean {
    const controller = this.cancellers.get(runId);
    controller?.abort();
    return controller !== undefined;
  }

  get runningCount(): number {
    return this.cancellers.size;
  }

  /**
   * At start-up, this executor's own runs only: those it was executing are interrupted (never
   * silently lost). With one executor per data folder (`alone`, the files) every run is its own,
   * and runs found queued are queued again, since the queue lived in the old process's memory,
   * unless they carried secrets, which were never stored. In a cluster, queued runs wait in the
   * shared queue and are left alone.
   */
  async recover(options: { alone: boolean }): Promise<{ interrupted: number; resumed: number }> {
    const { runs, recorder, executorId } = this.options;
    let interrupted = 0;
    let resumed = 0;
    for (const run of await runs.unfinished()) {
      const own = options.alone || run.executor === executorId;
      if ((run.state === 'running' || run.state === 'requested') && own) {
        const done = await recorder.finish(run, 'interrupted', { error: { code: 'DEPUTY_E_INTERNAL', message: 'The executor restarted while this run was in progress.' } });
        if (done.ok) interrupted++;
      } else if (run.state === 'queued' && options.alone) {
        const payload = payloadFromRecord(this.options.catalog, run, this.options.runDataDir);
        if (!payload) {
          const done = await recorder.finish(run, 'interrupted', { error: { code: 'DEPUTY_E_CONFLICT', message: 'Secret inputs are not kept across a restart; please submit again.' } });
          if (done.ok) interrupted++;
          continue;
        }
        await this.options.queue.enqueue({ runId: run.id, principalId: run.principalId, secrets: { ...payload } });
        resumed++;
      } else if (run.state === 'queued' && own) {
        // Accepted here before the restart: still in the shared queue, or queued again now.
        await this.adopt(run);
      }
    }
    return { interrupted, resumed };
  }

  /**
   * A queued run whose accepting executor died: if it never reached the queue (the executor died
   * between storing and enqueueing it), it is queued again, or interrupted when its secrets died
   * with that executor.
   */
  async adopt(run: RunRecord): Promise<void> {
    if (await this.options.queue.holds(run.id)) return;
    const payload = payloadFromRecord(this.options.catalog, run, this.options.runDataDir);
    if (!payload) {
      await this.options.recorder.finish(run, 'interrupted', { error: { code: 'DEPUTY_E_CONFLICT', message: 'The executor that accepted this run stopped before queueing it, and its secret inputs with it; please submit again.' } });
      return;
    }
    const adopted = await this.options.recorder.move(run, 'queued', { executor: this.options.executorId });
    if (adopted.ok) await this.options.queue.enqueue({ runId: run.id, principalId: run.principalId, secrets: { ...payload } });
  }

  /** Waits for queued and running work (tests, shutdown). */
  idle(): Promise<void> {
    return this.options.queue.idle();
  }

  /** Cancels what runs here and waits for it, for shutdown. */
  async stop(): Promise<void> {
    this.stopListening?.();
    for (const controller of this.cancellers.values()) controller.abort();
    await this.options.queue.close();
  }

  private async execute(queued: QueuedRun): Promise<void> {
    const { runs, runner, logger, clock, limits, recorder, catalog, executorId, executing } = this.options;
    const { runId } = queued;
    const run = await runs.get(runId);
    if (!run || run.state !== 'queued') return;
    const payload = (queued.secrets as ExecutionPayload | undefined) ?? payloadFromRecord(catalog, run, this.options.runDataDir);
    const version = catalog.getVersion(run.scriptHash);
    if (!version) {
      await recorder.finish(run, 'failed', { error: { code: 'DEPUTY_E_NOT_FOUND', message: 'The script version of this run no longer exists.' } });
      return;
    }
    const refusal = this.startRefusal(run, version);
    if (refusal) {
      await this.refuseStart(run, refusal);
      return;
    }
    if (!payload) {
      await recorder.finish(run, 'interrupted', { error: { code: 'DEPUTY_E_CONFLICT', message: 'Secret inputs of this run were lost; please submit again.' } });
      return;
    }
    // The controller exists before the claim: a cancel arriving right after it finds the run here.
    const controller = new AbortController();
    this.cancellers.set(runId, controller);
    const startedAt = clock.now();
    let endRecorded = (): void => undefined;
    const recorded = new Promise<void>((resolve) => (endRecorded = resolve));
    try {
      const claimed = await recorder.move(run, 'running', { startedAt: new Date(startedAt).toISOString(), executor: executorId });
      // Cancelled, or taken by another executor, between the queue and here: it is not ours to run.
      if (!claimed.ok) return;
      let current = claimed.run;
      executing.set(runId, current);
      try {
        const result = await runner.execute(
          {
            runId,
            requester: current.principalId,
            scriptText: version.text,
            scriptHash: version.hash,
            parameters: payload.parameters,
            secretParameters: payload.secretParameters,
            ...(payload.maskValues.length > 0 ? { maskValues: payload.maskValues } : {}),
            runAs: current.runAs,
            timeoutMs: current.timeoutSeconds * 1000,
            limits: { maxOutputBytes: limits.maxOutputBytes, maxRecords: limits.maxOutputRecords },
            ...(version.usesSrxEnv ? { srx: this.srxContext(current) } : {}),
          },
          { signal: controller.signal, recorded },
        );
        current = (await runs.get(runId)) ?? current;
        if (current.state !== 'running') return logger.warn({ runId, state: current.state }, 'a run ended here after another executor had settled it');
        const html = result.srx?.html;
        const summary = {
          ...result.summary,
          ...(result.srx?.message ? { message: result.srx.message } : {}),
          ...(html ? { html: true } : {}),
        };
        const output = html ? [...result.records, { stream: 'information' as const, text: html, attachment: RESULT_HTML }] : result.records;
        await recorder.finish(current, result.outcome, { summary, durationMs: result.durationMs, ...(result.error ? { error: result.error } : {}) }, output);
      } catch (error) {
        const code = error instanceof DeputyError ? error.code : 'DEPUTY_E_INTERNAL';
        const message = error instanceof DeputyError ? error.message : 'The run could not be started.';
        logger.error({ err: error, runId, correlationId: run.correlationId }, 'run failed to execute');
        const latest = await runs.get(runId);
        if (latest && !isFinalRunState(latest.state)) await recorder.finish(latest, 'failed', { error: { code, message }, durationMs: clock.now() - startedAt });
      }
    } finally {
      endRecorded();
      this.cancellers.delete(runId);
      executing.delete(runId);
    }
  }

  /** What `$SRXEnv` tells a script written for ScriptRunner about its run. */
  private srxContext(run: RunRecord): SrxContext {
    const { catalog } = this.options;
    const principal = catalog.getPrincipal(run.principalId);
    const via = STARTED_VIA[run.origin.kind];
    const approvedBy = run.approval?.decidedBy ? `, approved by ${run.approval.decidedBy}` : '';
    return {
      startedBy: principal?.email ?? run.principalId,
      startedReason: `${via} for ${principal?.name ?? run.principalId}${approvedBy}`,
      displayName: run.actionTitle,
      actionId: run.actionId,
      scriptName: catalog.getScript(run.scriptId)?.name ?? run.scriptId,
    };
  }

  /**
   * A run waits (in the queue, for an approval, across a restart) while the catalog moves on:
   * when it starts, its script version must still be one the action runs, approved for it, with
   * the text of its hash, and the requester must still be allowed. Otherwise it never runs.
   */
  private startRefusal(run: RunRecord, version: ScriptVersion): StartRefusal | undefined {
    const { catalog } = this.options;
    const action = catalog.getAction(run.actionId);
    const script = catalog.getScript(run.scriptId);
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
    const decision = this.options.mayRunAction(run.principalId, run.actionId, run.inputs, (run.targets ?? []).map((target) => target.id));
    if (!decision.allowed) return { code: decision.code, reason: decision.reason, message: 'This run was not started: you may no longer run this action.' };
    return undefined;
  }

  private async refuseStart(run: RunRecord, refusal: StartRefusal): Promise<void> {
    this.options.logger.warn({ runId: run.id, correlationId: run.correlationId, code: refusal.code, reason: refusal.reason }, 'queued run refused at start');
    await this.options.audit.append({
      type: 'run.start',
      outcome: 'denied',
      correlationId: run.correlationId,
      actor: run.principalId,
      subject: run.id,
      detail: { actionId: run.actionId, scriptHash: run.scriptHash, code: refusal.code, reason: refusal.reason },
    });
    await this.options.recorder.finish(run, 'rejected', { error: { code: refusal.code, message: refusal.message } });
  }
}
