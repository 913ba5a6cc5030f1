/**
 * Where a run executes: a run the catalog put on targets goes over SSH to each of them (the
 * target runner), every other run to the local runner it wraps. The private key of each target
 * is taken from the credential vault just before connecting; it never reaches the run service,
 * the run record, the audit or pwsh.
 *
 * A run on several targets runs on each of them at once (at most `parallel` at a time), within
 * the one timeout of the run; its caps are shared out between the targets, its records carry
 * the target's id, and its summary has one line per target.
 */
import type { Logger } from 'pino';
import type { ErrorCode, TargetOutcome, TargetRef } from '../contract/index.ts';
import type { Clock } from '../../lib/clock.ts';
import type { RunRecord, Target } from '../domain.ts';
import type { CredentialVault } from '../credentials/vault.ts';
import { summarize } from '../pwsh/summary.ts';
import type { ExecutionHooks, ExecutionOutcome, ExecutionRequest, ExecutionResult, Runner } from '../pwsh/types.ts';
import type { AuditLog, CatalogStore, RunStore, StoredRecord } from '../store/port.ts';
import type { TargetRunner } from './runner.ts';
import type { TargetConnectError } from './ssh.ts';

export interface TargetDispatchOptions {
  catalog: Pick<CatalogStore, 'getTarget'>;
  runs: Pick<RunStore, 'get'>;
  vault: Pick<CredentialVault, 'reveal'>;
  logger: Logger;
  clock: Clock;
  targets: TargetRunner;
  /** Targets of one run that run at the same time (default 8). */
  parallel?: number;
}

/** Audits a target that could not be reached or refused Deputy: a changed host key above all. */
export function auditConnectFailure(audit: AuditLog, logger: Logger, run: Pick<RunRecord, 'id' | 'correlationId' | 'principalId'>, target: Target, error: TargetConnectError): void {
  const hostKey = error.failure === 'host-key';
  void audit
    .append({
      type: hostKey ? 'target.host-key' : 'target.connect',
      outcome: hostKey ? 'denied' : 'error',
      correlationId: run.correlationId,
      actor: run.principalId,
      subject: target.id,
      detail: {
        runId: run.id,
        host: target.host,
        port: target.port,
        failure: error.failure,
        reason: error.message,
        ...(hostKey ? { pinned: target.hostKey.split(/\s+/).slice(0, 2).join(' '), presented: error.presentedFingerprint ?? null } : {}),
      },
    })
    .catch((auditError: unknown) => logger.error({ err: auditError, target: target.id }, 'could not audit a target connection failure'));
}

export function withTargets(local: Runner, options: TargetDispatchOptions): Runner {
  const parallel = Math.max(1, options.parallel ?? 8);

  /** One target's run; a target or key that cannot be used fails that target, not the others. */
  async function onTarget(run: RunRecord, ref: TargetRef, request: ExecutionRequest, hooks: ExecutionHooks): Promise<ExecutionResult> {
    const target = options.catalog.getTarget(ref.id);
    const key = target ? await options.vault.reveal(target.credential) : undefined;
    if (!target || !key || key.kind !== 'secret') {
      const message = !target ? `${ref.id}: no longer in the catalog` : `${ref.id}: its stored key (credential "${target.credential}") has no value yet; ask an administrator to set it`;
      options.logger.error({ runId: run.id, target: ref.id, correlationId: run.correlationId }, 'target or its key is missing');
      return failed(message, target ? 'DEPUTY_E_CONFLICT' : 'DEPUTY_E_NOT_FOUND');
    }
    return options.targets.execute({ request, target, privateKey: key.value, credentialVersion: key.version, requester: run.principalId }, hooks);
  }

  async function execute(request: ExecutionRequest, hooks: ExecutionHooks = {}): Promise<ExecutionResult> {
    const run = options.runs.get(request.runId);
    const targets = run?.targets ?? [];
    if (!run || targets.length === 0) return local.execute(request, hooks);

    const startedAt = options.clock.now();
    const deadline = startedAt + request.timeoutMs;
    const several = targets.length > 1;
    let started = false;
    const onStarted = (): void => {
      if (started) return;
      started = true;
      hooks.onStarted?.();
    };
    const share = (total: number): number => Math.max(1, Math.floor(total / targets.length));
    const results: ExecutionResult[] = new Array<ExecutionResult>(targets.length);
    let next = 0;
    const worker = async (): Promise<void> => {
      for (let index = next++; index < targets.length; index = next++) {
        const ref = targets[index] as TargetRef;
        const prefix = several ? `[${ref.id}] ` : '';
        const left = deadline - options.clock.now();
        const perTarget: ExecutionRequest = {
          ...request,
          timeoutMs: Math.max(1, left),
          limits: several ? { maxOutputBytes: share(request.limits.maxOutputBytes), maxRecords: share(request.limits.maxRecords) } : request.limits,
        };
        const targetHooks: ExecutionHooks = {
          ...(hooks.signal ? { signal: hooks.signal } : {}),
          onStarted,
          ...(hooks.onRecord ? { onRecord: (record: StoredRecord) => hooks.onRecord?.(prefixed(record, prefix)) } : {}),
        };
        const result = left <= 0 ? stoppedBeforeStart('timed-out') : hooks.signal?.aborted ? stoppedBeforeStart('cancelled') : await onTarget(run, ref, perTarget, targetHooks);
        results[index] = several ? { ...result, records: result.records.map((record) => prefixed(record, prefix)) } : result;
      }
    };
    await Promise.all(Array.from({ length: Math.min(parallel, targets.length) }, worker));
    return combine(targets, results, options.clock.now() - startedAt);
  }

  return {
    execute,
    assertModeAvailable: (runAs) => local.assertModeAvailable(runAs),
    async close() {
      await Promise.all([local.close(), options.targets.close()]);
    },
  };
}

function prefixed(record: StoredRecord, prefix: string): StoredRecord {
  return prefix ? { ...record, text: `${prefix}${record.text}` } : record;
}

function failed(message: string, code: ErrorCode): ExecutionResult {
  const records: StoredRecord[] = [{ stream: 'error', text: message }];
  return { outcome: 'failed', exitCode: null, records, truncated: false, durationMs: 0, summary: summarize(records, false, null), error: { code, message } };
}

function stoppedBeforeStart(outcome: 'timed-out' | 'cancelled'): ExecutionResult {
  return { outcome, exitCode: null, records: [], truncated: false, durationMs: 0, summary: summarize([], false, null) };
}

/** The line a summary shows for one target: why it failed, its first error, or its first output. */
function outcomeLine(result: ExecutionResult): string {
  return result.error?.message ?? result.summary.errors[0] ?? result.summary.lines[0] ?? '';
}

function combine(targets: readonly TargetRef[], results: readonly ExecutionResult[], durationMs: number): ExecutionResult {
  const outcomes: TargetOutcome[] = results.map((result, index) => ({
    id: targets[index]?.id ?? '',
    name: targets[index]?.name ?? '',
    outcome: result.outcome,
    exitCode: result.exitCode,
    durationMs: result.durationMs,
    line: outcomeLine(result),
  }));
  if (results.length === 1 && results[0]) {
    const [only] = results;
    return { ...only, summary: { ...only.summary, targets: outcomes } };
  }
  const records = results.flatMap((result) => result.records);
  const truncated = results.some((result) => result.truncated);
  const outcome = overallOutcome(results.map((result) => result.outcome));
  const exitCode = outcome === 'succeeded' ? 0 : (results.find((result) => result.exitCode !== null && result.exitCode !== 0)?.exitCode ?? null);
  const errors = results.map((result) => result.error);
  // The run's own error only when no target could be worked on: otherwise each line tells.
  const error = errors.every((item) => item !== undefined)
    ? { code: errors[0]?.code ?? 'DEPUTY_E_TARGET_UNREACHABLE', message: errors.map((item) => item?.message).join('; ') }
    : undefined;
  return { outcome, exitCode, records, truncated, durationMs, summary: { ...summarize(records, truncated, exitCode), targets: outcomes }, ...(error ? { error } : {}) };
}

/** Cancelled wins (someone stopped it), then failed, then timed out; succeeded only when every target did. */
function overallOutcome(outcomes: readonly ExecutionOutcome[]): ExecutionOutcome {
  for (const candidate of ['cancelled', 'failed', 'timed-out'] as const) if (outcomes.includes(candidate)) return candidate;
  return 'succeeded';
}
