/**
 * The file backend's synchronous run store (FileRuns, runs.jsonl) behind the asynchronous port
 * the run service uses. One process owns a data folder, so a compare-and-set is a check and an
 * append for one run at a time: writes to one run wait for the previous one, so a transition
 * always compares against the latest state.
 */
import { DeputyError } from '../contract/index.ts';
import { isFinalRunState, type RunState } from '../contract/index.ts';
import type { RunRecord } from '../domain.ts';
import type { RunFilter, RunStore, StoredRecord } from './port.ts';
import { assertRunId } from './run-index.ts';
import type { AsyncRunStore, TransitionResult, UnfinishedRunState } from './state-port.ts';

export class FileRunsAsync implements AsyncRunStore {
  private readonly locks = new Map<string, Promise<unknown>>();

  constructor(private readonly runs: RunStore) {}

  create(run: RunRecord): Promise<void> {
    return this.serialized(run.id, async () => {
      assertRunId(run.id);
      if (this.runs.get(run.id)) throw new DeputyError('DEPUTY_E_CONFLICT', { detail: `run ${run.id} exists already` });
      await this.runs.put(run);
    });
  }

  transition(id: string, expected: RunState, next: RunRecord): Promise<TransitionResult> {
    if (next.id !== id) return Promise.reject(new DeputyError('DEPUTY_E_INTERNAL', { detail: `transition of run ${id} was given the record of run ${next.id}` }));
    return this.serialized(id, async (): Promise<TransitionResult> => {
      const current = this.runs.get(id);
      if (current?.state !== expected) return { ok: false, current };
      await this.runs.put(next);
      return { ok: true, run: this.runs.get(id) ?? next };
    });
  }

  async get(id: string): Promise<RunRecord | undefined> {
    assertRunId(id);
    return this.runs.get(id);
  }

  async list(filter: RunFilter): Promise<RunRecord[]> {
    return this.runs.list(filter);
  }

  async unfinished(): Promise<RunRecord[]> {
    return this.runs.unfinished();
  }

  async count(filter: { state: UnfinishedRunState; principal?: string }): Promise<number> {
    if (isFinalRunState(filter.state)) throw new DeputyError('DEPUTY_E_INTERNAL', { detail: 'count takes unfinished states only' });
    return this.runs.unfinished().filter((run) => run.state === filter.state && (filter.principal === undefined || run.principalId === filter.principal)).length;
  }

  writeOutput(runId: string, records: StoredRecord[]): Promise<void> {
    return this.runs.writeOutput(runId, records);
  }

  readOutput(runId: string): Promise<StoredRecord[]> {
    return this.runs.readOutput(runId);
  }

  private async serialized<T>(id: string, work: () => Promise<T>): Promise<T> {
    const previous = this.locks.get(id) ?? Promise.resolve();
    const next = previous.then(work, work);
    const settled = next.catch(() => undefined);
    this.locks.set(id, settled);
    try {
      return await next;
    } finally {
      if (this.locks.get(id) === settled) this.locks.delete(id);
    }
  }
}
