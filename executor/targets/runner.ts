/**
 * Runs one job on one target system, with the local runner's guarantees (docs/runner.md): the
 * timeout counts from the call and covers connecting and starting pwsh; timeout and cancel end
 * the remote process tree; output is masked and capped before it leaves; inputs travel as
 * data on stdin. A target that cannot be reached or refuses Deputy ends the run `failed`, with
 * the reason as its error (`web-01: connection refused`), never as an exception.
 */
import type { Clock } from '../../lib/clock.ts';
import type { Logger } from '../../lib/logger.ts';
import { DeputyError, type ErrorCode } from '../contract/index.ts';
import type { Target } from '../domain.ts';
import { RecordCollector } from '../pwsh/collector.ts';
import { createMasker, secretValues } from '../pwsh/mask.ts';
import type { HostJob } from '../pwsh/protocol.ts';
import { executionResult, RunStopper } from '../pwsh/run-stop.ts';
import type { ExecutionHooks, ExecutionOutcome, ExecutionRequest, ExecutionResult } from '../pwsh/types.ts';
import type { JobEnd } from '../pwsh/worker.ts';
import { RemoteHost } from './remote-host.ts';
import { TargetSessions, sessionKey, type SessionStats } from './sessions.ts';
import { TargetConnectError } from './ssh.ts';

export interface TargetJob {
  request: ExecutionRequest;
  target: Target;
  /** The OpenSSH private key from the stored credential, and its version (a new version means new sessions). */
  privateKey: string;
  credentialVersion: number;
  /** Who asked: warm sessions serve one requester for their whole life. */
  requester: string;
}

export interface TargetRunnerOptions {
  logger: Logger;
  clock: Clock;
  /** How long connecting (TCP and the SSH handshake) may take, at most; the run's timeout caps it too. */
  connectTimeoutMs: number;
  /** Idle warm sessions close after this long. */
  idleMs: number;
  /** Warm sessions kept idle across all targets and requesters. */
  maxIdleSessions: number;
  /** Called when a target could not be reached or refused Deputy (the audit). */
  onConnectFailure?: (job: TargetJob, error: TargetConnectError) => void;
}

export interface TargetRunner {
  execute(job: TargetJob, hooks?: ExecutionHooks): Promise<ExecutionResult>;
  stats(): SessionStats;
  close(): Promise<void>;
}

export function createTargetRunner(options: TargetRunnerOptions): TargetRunner {
  const { logger, clock } = options;
  const sessions = new TargetSessions({ idleMs: options.idleMs, maxIdle: options.maxIdleSessions, logger });
  /** Ends each run under way (close). */
  const activeRuns = new Set<() => void>();
  let closed = false;

  async function execute(job: TargetJob, hooks: ExecutionHooks = {}): Promise<ExecutionResult> {
    if (closed) throw new DeputyError('DEPUTY_E_INTERNAL', { detail: 'the target runner is closed' });
    const { request, target } = job;
    const startedAt = clock.now();
    const warm = request.runAs.kind === 'pool';
    const masker = createMasker(secretValues(request.parameters, request.secretParameters, request.maskValues));
    const collector = new RecordCollector(request.limits, masker, hooks.onRecord && guarded(logger, 'onRecord', hooks.onRecord));
    const hostJob: HostJob = { id: request.runId, script: request.scriptText, parameters: request.parameters, secrets: request.secretParameters };

    const stopper = new RunStopper(request.timeoutMs, hooks.signal);

    const key = sessionKey({
      target: target.id,
      requester: job.requester,
      connection: [target.host, target.port, target.user, target.hostKey, target.pwsh, target.credential, job.credentialVersion],
    });
    let host: RemoteHost | undefined;
    let connected = false;
    let end: JobEnd | undefined;
    let failure: TargetConnectError | undefined;
    const abortRun = (): void => {
      stopper.stop('cancelled');
      host?.kill();
    };
    activeRuns.add(abortRun);
    try {
      host = warm ? await sessions.take(key, job.requester) : undefined;
      connected = host !== undefined;
      if (!host) {
        host = await RemoteHost.start({
          target,
          privateKey: job.privateKey,
          timeoutMs: Math.min(options.connectTimeoutMs, request.timeoutMs),
          signal: stopper.signal,
          logger,
          warm,
          onConnected: () => {
            connected = true;
          },
        });
        if (warm) sessions.adopt(key, job.requester, host);
      }
      const onStarted = hooks.onStarted && guarded(logger, 'onStarted', hooks.onStarted);
      const running = host.run(hostJob, { onStarted: () => onStarted?.(), onRecord: (record) => collector.add(record) });
      const first = await Promise.race([running, stopper.stopped]);
      if (first !== 'stopped') end = first;
    } catch (error) {
      if (error instanceof TargetConnectError) failure = error;
      else if (!stopper.reason) throw error;
    } finally {
      activeRuns.delete(abortRun);
      stopper.dispose();
      if (host) {
        const reusable = !stopper.reason && end?.kind === 'ended' && end.frame.clean;
        if (warm) sessions.release(host, reusable);
        else host.kill();
      }
    }

    const stop = stopper.reason;
    let outcome: ExecutionOutcome;
    let exitCode: number | null = null;
    let error: { code: ErrorCode; message: string } | undefined;
    if (failure && stop !== 'cancelled') {
      options.onConnectFailure?.(job, failure);
      logger.warn({ target: target.id, runId: request.runId, reason: failure.message, detail: failure.detail, err: failure.cause }, 'target run failed to start');
      outcome = 'failed';
      error = { code: failure.code, message: failure.message };
      collector.add({ stream: 'error', text: failure.message });
    } else if (stop || !end) {
      // Stopped while still connecting: the connection is what ran out of time.
      if (stop === 'timed-out' && !connected) {
        outcome = 'failed';
        error = { code: 'DEPUTY_E_TARGET_UNREACHABLE', message: `${target.id}: connection timed out` };
        collector.add({ stream: 'error', text: error.message });
      } else outcome = stop ?? 'cancelled';
    } else if (end.kind === 'ended') {
      outcome = end.frame.succeeded ? 'succeeded' : 'failed';
      exitCode = end.frame.exitCode;
    } else {
      outcome = 'failed';
      exitCode = end.exitCode;
      collector.add({ stream: 'error', text: `PowerShell on ${target.id} ended unexpectedly (exit code ${end.exitCode ?? 'unknown'}).` });
    }
    return executionResult(collector, { outcome, exitCode, durationMs: Math.max(0, clock.now() - startedAt), error });
  }

  return {
    execute,
    stats: () => sessions.stats(),
    async close(): Promise<void> {
      closed = true;
      for (const abortRun of activeRuns) abortRun();
      await sessions.close();
    },
  };
}

/** A caller's hook runs inside the channel's data handling: its failure is logged, never thrown there. */
function guarded<Args extends unknown[]>(logger: Logger, name: string, hook: (...args: Args) => void): (...args: Args) => void {
  return (...args) => {
    try {
      hook(...args);
    } catch (error) {
      logger.warn({ err: error, hook: name }, 'a run hook threw');
    }
  };
}
