/**
 * Runs in `deputy.runs` (the latest record of each, with its state, principal and creation
 * order beside it) and their output in `deputy.run_output`.
 *
 * `PgRunStore` is the asynchronous port (state-port.ts): a state change is one
 * `UPDATE … WHERE id = $1 AND state = $expected`, so of two executors racing for one run
 * exactly one row update happens. `PgRunCache` is the synchronous RunStore of port.ts that
 * today's callers use: it reads every run at open and answers from memory, writing through;
 * it is right for one executor only, and goes once the callers use the async port.
 */
import type { Pool } from '../../../lib/postgres/pool.ts';
import { DeputyError } from '../../contract/errors.ts';
import { isFinalRunState, RUN_STATES, type RunState } from '../../contract/index.ts';
import { RunRecordSchema, type RunRecord } from '../../domain.ts';
import type { RunFilter, RunStore, StoredRecord } from '../port.ts';
import { assertRunId, outputLines, parseOutputLines, parseRun, RunIndex } from '../run-index.ts';
import type { Alongside, AsyncRunStore, TransitionOptions, TransitionResult, UnfinishedRunState } from '../state-port.ts';
import { storeFailure } from './batches.ts';

/** Matches the partial index runs_unfinished, so recovery reads only the few unfinished runs. */
const UNFINISHED = `state IN (${RUN_STATES.filter((state) => !isFinalRunState(state)).map((state) => `'${state}'`).join(', ')})`;

function readRecord(value: unknown, id: string): RunRecord {
  const parsed = RunRecordSchema.safeParse(value);
  if (!parsed.success) throw new DeputyError('DEPUTY_E_INTERNAL', { detail: `the stored record of run ${id} is invalid` });
  return parsed.data;
}

export class PgRunStore implements AsyncRunStore {
  constructor(private readonly pool: Pool) {}

  async create(run: RunRecord, alongside?: Alongside): Promise<void> {
    const record = parseRun(run);
    const { rowCount } = await this.query(
      'INSERT INTO deputy.runs (id, principal_id, state, record) VALUES ($1, $2, $3, $4) ON CONFLICT (id) DO NOTHING',
      [record.id, record.principalId, record.state, JSON.stringify(record)],
    );
    if (rowCount === 0) throw new DeputyError('DEPUTY_E_CONFLICT', { detail: `run ${record.id} exists already` });
    // Committed already: what goes with it follows (one round trip each, as there is no flush to share).
    await alongside?.();
  }

  async transition(id: string, expected: RunState, next: RunRecord, options: TransitionOptions = {}): Promise<TransitionResult> {
    const record = parseRun(next);
    if (record.id !== id) throw new DeputyError('DEPUTY_E_INTERNAL', { detail: `transition of run ${id} was given the record of run ${record.id}` });
    const values = [id, expected, record.state, record.principalId, JSON.stringify(record)];
    const update = 'UPDATE deputy.runs SET state = $3, principal_id = $4, record = $5, updated_at = now() WHERE id = $1 AND state = $2';
    // With output, one statement writes both or neither: the output only of the writer that won.
    const { rows } = await this.query<{ changed: string }>(
      options.output === undefined
        ? `WITH changed AS (${update} RETURNING id) SELECT count(*) AS changed FROM changed`
        : `WITH changed AS (${update} RETURNING id),
           output AS (INSERT INTO deputy.run_output (run_id, lines) SELECT id, $6 FROM changed
                      ON CONFLICT (run_id) DO UPDATE SET lines = EXCLUDED.lines, written_at = now())
           SELECT count(*) AS changed FROM changed`,
      options.output === undefined ? values : [...values, outputLines(options.output)],
    );
    if (Number(rows[0]?.changed) !== 1) return { ok: false, current: await this.get(id) };
    await options.alongside?.();
    return { ok: true, run: record };
  }

  async get(id: string): Promise<RunRecord | undefined> {
    assertRunId(id);
    const { rows } = await this.query<{ record: unknown }>('SELECT record FROM deputy.runs WHERE id = $1', [id]);
    return rows[0] && readRecord(rows[0].record, id);
  }

  async list(filter: RunFilter): Promise<RunRecord[]> {
    const limit = Math.max(0, Math.floor(filter.limit));
    if (limit === 0) return [];
    const conditions: string[] = [];
    const values: unknown[] = [];
    if (filter.principal !== undefined) conditions.push(`principal_id = $${values.push(filter.principal)}`);
    if (filter.state !== undefined) conditions.push(`state = $${values.push(filter.state)}`);
    const where = conditions.length > 0 ? `WHERE ${conditions.join(' AND ')}` : '';
    const { rows } = await this.query<{ id: string; record: unknown }>(
      `SELECT id, record FROM deputy.runs ${where} ORDER BY created_seq DESC LIMIT $${values.push(limit)}`,
      values,
    );
    return rows.map((row) => readRecord(row.record, row.id));
  }

  async unfinished(): Promise<RunRecord[]> {
    const { rows } = await this.query<{ id: string; record: unknown }>(`SELECT id, record FROM deputy.runs WHERE ${UNFINISHED} ORDER BY created_seq`, []);
    return rows.map((row) => readRecord(row.record, row.id));
  }

  async count(filter: { state: UnfinishedRunState; principal?: string }): Promise<number> {
    const { rows } =
      filter.principal === undefined
        ? await this.query<{ count: string }>('SELECT count(*) FROM deputy.runs WHERE state = $1', [filter.state])
        : await this.query<{ count: string }>('SELECT count(*) FROM deputy.runs WHERE state = $1 AND principal_id = $2', [filter.state, filter.principal]);
    return Number(rows[0]?.count ?? 0);
  }

  async writeOutput(runId: string, records: StoredRecord[]): Promise<void> {
    assertRunId(runId);
    await this.query(
      'INSERT INTO deputy.run_output (run_id, lines) VALUES ($1, $2) ON CONFLICT (run_id) DO UPDATE SET lines = EXCLUDED.lines, written_at = now()',
      [runId, outputLines(records)],
    );
  }

  async readOutput(runId: string): Promise<StoredRecord[]> {
    assertRunId(runId);
    const { rows } = await this.query<{ lines: string }>('SELECT lines FROM deputy.run_output WHERE run_id = $1', [runId]);
    return rows[0] ? parseOutputLines(rows[0].lines, `the stored output of run ${runId}`) : [];
  }

  /** Every run in creation order, for PgRunCache. */
  async all(): Promise<RunRecord[]> {
    const { rows } = await this.query<{ id: string; record: unknown }>('SELECT id, record FROM deputy.runs ORDER BY created_seq', []);
    return rows.map((row) => readRecord(row.record, row.id));
  }

  /** Creates or replaces a run whatever its state (the synchronous port's `put`). */
  async upsert(run: RunRecord): Promise<void> {
    await this.query(
      `INSERT INTO deputy.runs (id, principal_id, state, record) VALUES ($1, $2, $3, $4)
       ON CONFLICT (id) DO UPDATE SET principal_id = EXCLUDED.principal_id, state = EXCLUDED.state, record = EXCLUDED.record, updated_at = now()`,
      [run.id, run.principalId, run.state, JSON.stringify(run)],
    );
  }

  private async query<R extends object = object>(text: string, values: unknown[]): Promise<{ rows: R[]; rowCount: number | null }> {
    try {
      return await this.pool.query<R>(text, values);
    } catch (error) {
      throw storeFailure('a run store query', error);
    }
  }
}

export class PgRunCache implements RunStore {
  private readonly index = new RunIndex();
  /** Puts of one run are written in the order they were made, so the cache and the table agree. */
  private readonly writing = new Map<string, Promise<void>>();

  private constructor(private readonly runs: PgRunStore) {}

  static async open(runs: PgRunStore): Promise<PgRunCache> {
    const cache = new PgRunCache(runs);
    for (const run of await runs.all()) cache.index.apply(run);
    return cache;
  }

  async put(run: RunRecord): Promise<void> {
    const record = parseRun(run);
    const previous = this.writing.get(record.id) ?? Promise.resolve();
    const write = previous.then(async () => {
      await this.runs.upsert(record);
      this.index.apply(record);
    });
    const settled = write.catch(() => undefined);
    this.writing.set(record.id, settled);
    void settled.then(() => {
      if (this.writing.get(record.id) === settled) this.writing.delete(record.id);
    });
    await write;
  }

  get(id: string): RunRecord | undefined {
    return this.index.get(id);
  }
  list(filter: RunFilter): RunRecord[] {
    return this.index.list(filter);
  }
  unfinished(): RunRecord[] {
    return this.index.unfinished();
  }
  writeOutput(runId: string, records: StoredRecord[]): Promise<void> {
    return this.runs.writeOutput(runId, records);
  }
  readOutput(runId: string): Promise<StoredRecord[]> {
    return this.runs.readOutput(runId);
  }

  async close(): Promise<void> {
    await Promise.all(this.writing.values());
  }
}
