/**
 * What both sides of the run service share: every state change of a run is a compare-and-set on
 * the run store (`transition(id, expected, next)`) with its audit entry, then an event. The
 * audit entry is written once the change is decided, beside the record (on files both share one
 * disk round trip); whoever loses the race (another executor started, cancelled or decided the
 * run first) learns the state the winner left and writes nothing.
 */
import type { Clock } from '../../lib/clock.ts';
import { MASK, type RunState } from '../contract/index.ts';
import { RUN_DATA_PLACEHOLDER } from '../catalog/actions.ts';
import type { AuditInput, RunRecord } from '../domain.ts';
import type { EventStream } from '../event-stream.ts';
import type { AuditLog, CatalogStore, StoredRecord } from '../store/port.ts';
import type { Alongside, AsyncRunStore, TransitionResult } from '../store/state-port.ts';
import { toRunView } from './views.ts';

/**
 * What a queued run needs that its stored record does not hold: the values pwsh gets (secret
 * inputs, masked texts and fixed values included), which parameters are secret, and which texts
 * to mask. It travels with the run through the queue (sealed on pg-boss), never into the store.
 */
export interface ExecutionPayload {
  parameters: Record<string, unknown>;
  secretParameters: string[];
  /** Values of masked texts (`ASRDisplay(Password)`): passed as text, masked like secrets. */
  maskValues: string[];
}

export type RunEventType = 'run.created' | 'run.updated' | 'run.finished' | 'approval.requested';

export interface RunRecorderOptions {
  runs: AsyncRunStore;
  audit: AuditLog;
  events: EventStream;
  clock: Clock;
}

export class RunRecorder {
  constructor(private readonly options: RunRecorderOptions) {}

  /** `run` to `state` (same finish rules as before: durable, audited, published), only if it is still in `run.state`. */
  move(run: RunRecord, state: RunState, extra: Partial<RunRecord> = {}): Promise<TransitionResult> {
    const next: RunRecord = { ...run, ...extra, state, updatedAt: new Date(this.options.clock.now()).toISOString() };
    return this.record(run, next, 'run.updated', {});
  }

  /** `run` to a final state, with its end time, duration and `output`, only if it is still in `run.state`. */
  finish(run: RunRecord, state: RunState, extra: Partial<RunRecord>, output?: StoredRecord[]): Promise<TransitionResult> {
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
    return this.record(run, next, 'run.finished', { durationMs: next.durationMs, error: next.error?.code }, output);
  }

  async publish(type: RunEventType, run: RunRecord, extraNotify: string[] = []): Promise<void> {
    await this.options.events.publish({ type, run: toRunView(run), notify: [...new Set([...run.notify, ...extraNotify])] });
  }

  /** Every state change: the record and its audit entry durable, then the event subscribers see it. */
  private async record(previous: RunRecord, next: RunRecord, event: 'run.updated' | 'run.finished', detail: Record<string, unknown>, output?: StoredRecord[]): Promise<TransitionResult> {
    const entry: AuditInput = {
      type: event === 'run.finished' ? 'run.finish' : 'run.state',
      outcome: 'info',
      correlationId: previous.correlationId,
      actor: previous.principalId,
      subject: previous.id,
      detail: { from: previous.state, to: next.state, ...(next.executor && next.executor !== previous.executor ? { executor: next.executor } : {}), ...detail },
    };
    const result = await withAuditEntry(this.options.audit, entry, (alongside) =>
      this.options.runs.transition(previous.id, previous.state, next, { alongside, ...(output ? { output } : {}) }),
    );
    if (!result.ok) return result;
    await this.publish(event, result.run);
    return result;
  }
}

/**
 * A change whose audit entry is written beside it (`change` hands `alongside` to the store). If
 * the change then fails after its entry was written, a second entry says so, so that the audit
 * log never claims a change the store does not hold without correcting itself.
 */
export async function withAuditEntry<T>(audit: AuditLog, entry: AuditInput, change: (alongside: Alongside) => Promise<T>): Promise<T> {
  let written = false;
  try {
    return await change(async () => {
      await audit.append(entry);
      written = true;
    });
  } catch (error) {
    if (written) {
      // The change's own error is what the caller gets (and logs); this entry is only the correction.
      await audit.append({ ...entry, outcome: 'error', detail: { ...entry.detail, stored: false } }).catch(() => undefined);
    }
    throw error;
  }
}

/** `{runDataDir}` in an action's fixed values (administrator data, never user input). */
export function expandFixed(value: unknown, runDataDir: string): unknown {
  if (typeof value === 'string') return value.split(RUN_DATA_PLACEHOLDER).join(runDataDir);
  if (Array.isArray(value)) return value.map((item) => expandFixed(item, runDataDir));
  return value;
}

/**
 * A run's payload rebuilt from its stored record, for a run whose payload was lost (a restart,
 * or an approval decided on another executor): possible only when it had no secret or masked
 * input, since those were never stored.
 */
export function payloadFromRecord(catalog: Pick<CatalogStore, 'getAction' | 'getVersion'>, run: RunRecord, runDataDir: string): ExecutionPayload | undefined {
  const action = catalog.getAction(run.actionId);
  const version = catalog.getVersion(run.scriptHash);
  if (!action || !version) return undefined;
  const secretParameters = version.parameters.filter((field) => field.kind === 'secret').map((field) => field.name);
  const hidden = version.parameters.filter((field) => field.kind === 'secret' || field.masked).map((field) => field.name);
  if (Object.entries(run.inputs).some(([name, value]) => hidden.includes(name) && value === MASK)) return undefined;
  const fixed = Object.fromEntries(Object.entries(action.fixed).map(([name, value]) => [name, expandFixed(value, runDataDir)]));
  return { parameters: { ...run.inputs, ...fixed }, secretParameters, maskValues: [] };
}
