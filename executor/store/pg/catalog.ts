/**
 * The catalog in `deputy.catalog_records`, one row per record (kind = the snapshot's key:
 * `tenants`, `principals`, …), held in memory with the same index as every backend for the
 * synchronous lookups of CatalogStore. `replace` writes only the rows that changed, in one
 * transaction that locks the head row (so two executors importing at once take turns) and moves
 * the catalog's generation; a NOTIFY on `deputy_catalog` makes every other executor reload.
 *
 * Works for any snapshot key: a key holding a list is stored as rows, any other value (such as
 * an authoring baseline) as one row with the id "". New kinds therefore need no migration.
 */
import type { Logger } from '../../../lib/logger.ts';
import type { Notifications } from '../../../lib/postgres/notifications.ts';
import { inTransaction, type Pool } from '../../../lib/postgres/pool.ts';
import { DeputyError } from '../../contract/errors.ts';
import { CatalogIndex, IndexedCatalog, parseSnapshot } from '../catalog-index.ts';
import type { CatalogSnapshot } from '../port.ts';
import { storeFailure } from './batches.ts';

export const CATALOG_CHANNEL = 'deputy_catalog';

type Shape = Record<string, 'list' | 'value'>;

interface Row {
  kind: string;
  id: string;
  position: number;
  text: string;
}

/** The key a record is stored under: its id, a version's hash, else its position. */
function recordId(record: unknown, position: number): string {
  if (record !== null && typeof record === 'object') {
    const { id, hash } = record as { id?: unknown; hash?: unknown };
    if (typeof id === 'string') return id;
    if (typeof hash === 'string') return hash;
  }
  return `#${position}`;
}

function toRows(snapshot: CatalogSnapshot): { rows: Row[]; shape: Shape } {
  const rows: Row[] = [];
  const shape: Shape = {};
  for (const [kind, value] of Object.entries(snapshot)) {
    if (value === undefined) continue;
    if (Array.isArray(value)) {
      shape[kind] = 'list';
      value.forEach((record, position) => rows.push({ kind, id: recordId(record, position), position, text: JSON.stringify(record) }));
    } else {
      shape[kind] = 'value';
      rows.push({ kind, id: '', position: 0, text: JSON.stringify(value) });
    }
  }
  return { rows, shape };
}

function fromRows(rows: Row[], shape: Shape): unknown {
  const snapshot: Record<string, unknown> = {};
  for (const [kind, form] of Object.entries(shape)) snapshot[kind] = form === 'list' ? [] : undefined;
  for (const row of rows) {
    const form = shape[row.kind];
    const value: unknown = JSON.parse(row.text);
    if (form === 'list') (snapshot[row.kind] as unknown[]).push(value);
    else if (form === 'value') snapshot[row.kind] = value;
  }
  return snapshot;
}

export class PgCatalog extends IndexedCatalog {
  private generation = -1;
  private replacing: Promise<void> = Promise.resolve();
  private reloading: Promise<void> | undefined;
  private stopListening: (() => void) | undefined;

  private constructor(
    private readonly pool: Pool,
    private readonly logger: Logger,
  ) {
    super();
  }

  /** Loads the catalog; with `notifications`, reloads whenever another executor replaces it. */
  static async open(pool: Pool, logger: Logger, notifications?: Notifications): Promise<PgCatalog> {
    const catalog = new PgCatalog(pool, logger);
    if (notifications) {
      catalog.stopListening = await notifications.listen(CATALOG_CHANNEL, {
        notify: (payload) => {
          if (Number(payload) > catalog.generation) catalog.reloadInBackground();
        },
        resync: () => catalog.reloadInBackground(),
      });
    }
    await catalog.reload();
    return catalog;
  }

  get currentGeneration(): number {
    return this.generation;
  }

  /** Reads the stored catalog if it moved past what this process holds. */
  async reload(): Promise<void> {
    try {
      // The head and the rows from one snapshot: a replace committing in between cannot mix two catalogs.
      const read = await inTransaction(
        this.pool,
        async (client) => {
          const { rows: heads } = await client.query<{ generation: string; shape: Shape }>('SELECT generation, shape FROM deputy.catalog_head');
          const head = heads[0];
          if (!head || Number(head.generation) <= this.generation) return undefined;
          // Generation 0: nothing was ever stored; the empty catalog every store starts with stands.
          if (Number(head.generation) === 0) return { generation: 0, snapshot: undefined };
          const { rows } = await client.query<Row>('SELECT kind, id, position, record::text AS text FROM deputy.catalog_records ORDER BY kind, position');
          return { generation: Number(head.generation), snapshot: fromRows(rows, head.shape) };
        },
        { snapshot: true },
      );
      if (!read) return;
      if (read.snapshot === undefined) this.generation = Math.max(this.generation, read.generation);
      else this.install(parseSnapshot(read.snapshot), read.generation);
    } catch (error) {
      if (error instanceof DeputyError) throw new DeputyError('DEPUTY_E_INTERNAL', { message: `The catalog stored in PostgreSQL is invalid: ${error.detail ?? error.message}`, cause: error });
      throw storeFailure('reading the catalog', error);
    }
  }

  replace(next: CatalogSnapshot): Promise<void> {
    const run = this.replacing.then(async () => {
      const snapshot = parseSnapshot(next);
      // Index first: a snapshot that cannot be indexed never reaches the database.
      const index = new CatalogIndex(snapshot);
      const generation = await this.write(snapshot).catch((error: unknown) => {
        throw storeFailure('replacing the catalog', error);
      });
      this.index = index;
      this.generation = generation;
    });
    this.replacing = run.catch(() => undefined);
    return run;
  }

  async close(): Promise<void> {
    this.stopListening?.();
    await this.replacing;
    await this.reloading;
  }

  private install(snapshot: CatalogSnapshot, generation: number): void {
    if (generation <= this.generation) return;
    this.index = new CatalogIndex(snapshot);
    this.generation = generation;
  }

  private reloadInBackground(): void {
    this.reloading ??= this.reload()
      .catch((error: unknown) => this.logger.error({ err: error }, 'reloading the catalog after another executor changed it failed'))
      .finally(() => {
        this.reloading = undefined;
      });
  }

  /** Writes the rows that differ and returns the new generation. */
  private write(snapshot: CatalogSnapshot): Promise<number> {
    const { rows, shape } = toRows(snapshot);
    return inTransaction(this.pool, async (client) => {
      const { rows: heads } = await client.query<{ generation: string }>('SELECT generation FROM deputy.catalog_head FOR UPDATE');
      const generation = Number(heads[0]?.generation ?? 0) + 1;
      const { rows: stored } = await client.query<Row>('SELECT kind, id, position, record::text AS text FROM deputy.catalog_records');
      const key = (row: Pick<Row, 'kind' | 'id'>) => JSON.stringify([row.kind, row.id]);
      const storedByKey = new Map(stored.map((row) => [key(row), row]));
      const wanted = new Set(rows.map(key));
      const gone = stored.filter((row) => !wanted.has(key(row)));
      const changed = rows.filter((row) => {
        const before = storedByKey.get(key(row));
        return !before || before.text !== row.text || before.position !== row.position;
      });
      if (gone.length > 0) {
        await client.query('DELETE FROM deputy.catalog_records WHERE (kind, id) IN (SELECT * FROM unnest($1::text[], $2::text[]))', [
          gone.map((row) => row.kind),
          gone.map((row) => row.id),
        ]);
      }
      if (changed.length > 0) {
        await client.query(
          `INSERT INTO deputy.catalog_records (kind, id, position, record)
           SELECT kind, id, position, record::json FROM unnest($1::text[], $2::text[], $3::int[], $4::text[]) AS r(kind, id, position, record)
           ON CONFLICT (kind, id) DO UPDATE SET position = EXCLUDED.position, record = EXCLUDED.record, updated_at = now()`,
          [changed.map((row) => row.kind), changed.map((row) => row.id), changed.map((row) => row.position), changed.map((row) => row.text)],
        );
      }
      await client.query('UPDATE deputy.catalog_head SET generation = $1, shape = $2, updated_at = now()', [generation, JSON.stringify(shape)]);
      await client.query('SELECT pg_notify($1, $2)', [CATALOG_CHANNEL, String(generation)]);
      return generation;
    });
  }
}
