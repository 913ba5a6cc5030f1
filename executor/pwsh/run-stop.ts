/**
 * What the local runner and the target runner share around a job: how it is stopped (its
 * timeout, the caller's cancel signal, or a close) and how its result is put together.
 */
import type { RecordCollector } from './collector.ts';
import { summarize } from './summary.ts';
import type { ExecutionOutcome, ExecutionResult } from './types.ts';

/** How a run ended that did not end by itself. */
export type Stop = 'timed-out' | 'cancelled';

/** One controller that stops whatever a run has under way: a connection, a worker, the job. */
export class RunStopper {
  /** Resolves once the run is stopped, to race against the job. */
  readonly stopped: Promise<'stopped'>;
  private readonly controller = new AbortController();
  private readonly timer: NodeJS.Timeout;
  private readonly onCancel = (): void => this.stop('cancelled');
  private why: Stop | undefined;

  constructor(
    timeoutMs: number,
    private readonly cancel?: AbortSignal,
  ) {
    this.stopped = new Promise((resolve) => this.controller.signal.addEventListener('abort', () => resolve('stopped'), { once: true }));
    this.timer = setTimeout(() => this.stop('timed-out'), timeoutMs);
    if (cancel?.aborted) this.onCancel();
    cancel?.addEventListener('abort', this.onCancel, { once: true });
  }

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  /** Why the run was stopped, if it was; the first reason holds. */
  get reason(): Stop | undefined {
    return this.why;
  }

  stop(reason: Stop): void {
    if (this.why) return;
    this.why = reason;
    this.controller.abort(new Error(reason));
  }

  /** The run is over: no timeout, no more listening to the caller's signal. */
  dispose(): void {
    clearTimeout(this.timer);
    this.cancel?.removeEventListener('abort', this.onCancel);
  }
}

/** A run's result from what it wrote and how it ended. */
export function executionResult(
  collector: RecordCollector,
  ending: { outcome: ExecutionOutcome; exitCode: number | null; durationMs: number } & Pick<ExecutionResult, 'srx' | 'error'>,
): ExecutionResult {
  const records = collector.records();
  const { outcome, exitCode, durationMs, srx, error } = ending;
  return {
    outcome,
    exitCode,
    records,
    truncated: collector.truncated,
    durationMs,
    summary: summarize(records, collector.truncated, exitCode),
    ...(srx ? { srx } : {}),
    ...(error ? { error } : {}),
  };
}
