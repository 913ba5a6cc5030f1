/**
 * Runs held in memory: the latest record per id, creation order overall and per principal,
 * and the set of unfinished runs. Every update is O(1), so recording a run costs the same
 * whatever the history. Shared by every backend.
 */
import { z } from 'zod';
import { DeputyError } from '../contract/errors.ts';
import { isFinalRunState } from '../contract/index.ts';
import { RunRecordSchema, type RunRecord } from '../domain.ts';
import type { RunFilter, StoredRecord } from './port.ts';

/** Run ids become file names (`output/<id>.jsonl`): letters, digits, `_` and `-` only, so no path can be smuggled in. */
const RUN_ID = /^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$/;

export function assertRunId(id: string): void {
  if (!RUN_ID.test(id)) {
    throw new DeputyError('DEPUTY_E_BAD_REQUEST', { detail: `invalid run id ${JSON.stringify(id).slice(0, 200)}` });
  }
}

/** Validates a run before it is stored. */
export function parseRun(run: RunRecord): RunRecord {
  assertRunId(run.id);
  const parsed = RunRecordSchema.safeParse(run);
  if (!parsed.success) throw new DeputyError('DEPUTY_E_INTERNAL', { detail: `invalid run record: ${z.prettifyError(parsed.error)}` });
  return parsed.data;
}

export const StoredRecordSchema = z.object({
  stream: z.enum(['output', 'error', 'warning', 'verbose', 'information', 'progress']),
  text: z.string(),
  data: z.unknown().optional(),
  attachment: z.string().optional(),
});

/** A run's output as stored: one JSON record per line. */
export function outputLines(records: StoredRecord[]): string {
  return parseOutput(records)
    .map((record) => `${JSON.stringify(record)}\n`)
    .join('');
}

/** Reads stored output lines back; `where` names the file or row in the error. */
export function parseOutputLines(text: string, where: string): StoredRecord[] {
  const lines = text.split('\n').filter((line) => line !== '');
  const parsed = z.array(StoredRecordSchema).safeParse(lines.map((line) => parseJsonOrUndefined(line)));
  if (!parsed.success) throw new DeputyError('DEPUTY_E_INTERNAL', { detail: `${where} is damaged: ${z.prettifyError(parsed.error)}` });
  return parsed.data;
}

export function parseJsonOrUndefined(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

export function parseOutput(records: StoredRecord[]): StoredRecord[] {
  const parsed = z.array(StoredRecordSchema).safeParse(records);
  if (!parsed.success) throw new DeputyError('DEPUTY_E_INTERNAL', { detail: `invalid run output: ${z.prettifyError(parsed.error)}` });
  return parsed.data;
}

interface Entry {
  record: RunRecord;
  /** Position of the run's first record: "newest first" means highest ordinal first. */
  ordinal: number;
}

export class RunIndex {
  private readonly latest = new Map<string, Entry>();
  private readonly creationOrder: string[] = [];
  private readonly byPrincipal = new Map<string, string[]>();
  private readonly unfinishedIds = new Set<string>();

  get size(): number {
    return this.latest.size;
  }

  apply(record: RunRecord): void {
    const known = this.latest.get(record.id);
    if (known) {
      // A run keeps its principal; should a record say otherwise, list it under the new one too
      // (listing checks the latest record, so it never shows under the old one).
      if (known.record.principalId !== record.principalId) this.principalList(record.principalId).push(record.id);
      known.record = record;
    } else {
      this.latest.set(record.id, { record, ordinal: this.creationOrder.length });
      this.creationOrder.push(record.id);
      this.principalList(record.principalId).push(record.id);
    }
    if (isFinalRunState(record.state)) this.unfinishedIds.delete(record.id);
    else this.unfinishedIds.add(record.id);
  }

  get(id: string): RunRecord | undefined {
    const entry = this.latest.get(id);
    return entry && structuredClone(entry.record);
  }

  list(filter: RunFilter): RunRecord[] {
    const limit = Math.max(0, Math.floor(filter.limit));
    const matches = (record: RunRecord): boolean =>
      (filter.principal === undefined || record.principalId === filter.principal) && (filter.state === undefined || record.state === filter.state);

    // Unfinished runs are few, and a state filter for one of them would otherwise scan the whole history.
    if (filter.state !== undefined && !isFinalRunState(filter.state)) {
      return this.unfinishedEntries()
        .reverse()
        .map((entry) => entry.record)
        .filter(matches)
        .slice(0, limit)
        .map((record) => structuredClone(record));
    }
    const candidates = filter.principal === undefined ? this.creationOrder : (this.byPrincipal.get(filter.principal) ?? []);
    const found: RunRecord[] = [];
    for (let index = candidates.length - 1; index >= 0 && found.length < limit; index -= 1) {
      const record = this.latest.get(candidates[index] as string)?.record;
      if (record && matches(record) && !found.some((seen) => seen.id === record.id)) found.push(structuredClone(record));
    }
    return found;
  }

  unfinished(): RunRecord[] {
    return this.unfinishedEntries().map((entry) => structuredClone(entry.record));
  }

  private unfinishedEntries(): Entry[] {
    return [...this.unfinishedIds]
      .map((id) => this.latest.get(id) as Entry)
      .sort((a, b) => a.ordinal - b.ordinal);
  }

  private principalList(principal: string): string[] {
    let ids = this.byPrincipal.get(principal);
    if (!ids) {
      ids = [];
      this.byPrincipal.set(principal, ids);
    }
    return ids;
  }
}
