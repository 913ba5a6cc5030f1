/**
 * The catalog in `<dataDir>/catalog.json`, through lowdb. lowdb's `Low` holds the data; the
 * adapter below reads with zod validation and writes through `writeFileDurably` (temporary
 * file, fdatasync, rename, folder fsync, mode 0600), because lowdb's stock JSONFile writer
 * (steno) renames a temporary file but never flushes it and leaves it at the default 0644.
 */
import { readFile } from 'node:fs/promises';
import { Low, type Adapter } from 'lowdb';
import { z } from 'zod';
import { DeputyError } from '../contract/errors.ts';
import { CatalogIndex, CatalogSnapshotSchema, EMPTY_CATALOG, IndexedCatalog, parseSnapshot } from './catalog-index.ts';
import { isMissingFile, writeFileDurably } from './files.ts';
import type { CatalogSnapshot } from './port.ts';

const CATALOG_FORMAT = 1;

const CatalogFileSchema = CatalogSnapshotSchema.extend({ format: z.literal(CATALOG_FORMAT) });
type CatalogFile = z.infer<typeof CatalogFileSchema>;

class ValidatedJsonFile implements Adapter<CatalogFile> {
  constructor(private readonly path: string) {}

  async read(): Promise<CatalogFile | null> {
    let text: string;
    try {
      text = await readFile(this.path, 'utf8');
    } catch (error) {
      if (isMissingFile(error)) return null;
      throw error;
    }
    let raw: unknown;
    try {
      raw = JSON.parse(text);
    } catch (error) {
      throw new DeputyError('DEPUTY_E_INTERNAL', { message: `The catalog file ${this.path} is damaged: it is not valid JSON.`, cause: error });
    }
    const parsed = CatalogFileSchema.safeParse(raw);
    if (!parsed.success) {
      const first = parsed.error.issues[0];
      throw new DeputyError('DEPUTY_E_INTERNAL', {
        message: `The catalog file ${this.path} is damaged: ${first?.path.join('.') || 'file'}: ${first?.message ?? 'invalid'}.`,
        detail: z.prettifyError(parsed.error),
      });
    }
    return parsed.data;
  }

  async write(data: CatalogFile): Promise<void> {
    await writeFileDurably(this.path, `${JSON.stringify(data, null, 2)}\n`);
  }
}

export class FileCatalog extends IndexedCatalog {
  /** replace() calls run one after another, so the file and the index always end on the same snapshot. */
  private replacing: Promise<void> = Promise.resolve();

  private constructor(private readonly db: Low<CatalogFile>) {
    super();
  }

  static async open(path: string): Promise<FileCatalog> {
    const db = new Low<CatalogFile>(new ValidatedJsonFile(path), { format: CATALOG_FORMAT, ...structuredClone(EMPTY_CATALOG) });
    await db.read();
    const catalog = new FileCatalog(db);
    const { format: _format, ...snapshot } = db.data;
    try {
      catalog.index = new CatalogIndex(snapshot);
    } catch (error) {
      throw new DeputyError('DEPUTY_E_INTERNAL', { message: `The catalog file ${path} is damaged: ${(error as Error).message}`, cause: error });
    }
    return catalog;
  }

  replace(next: CatalogSnapshot): Promise<void> {
    const run = this.replacing.then(async () => {
      const snapshot = parseSnapshot(next);
      // Index first: a snapshot that cannot be indexed (duplicate ids or identities) never reaches the disk.
      const index = new CatalogIndex(snapshot);
      this.db.data = { format: CATALOG_FORMAT, ...snapshot };
      await this.db.write();
      this.index = index;
    });
    this.replacing = run.catch(() => undefined);
    return run;
  }

  async settled(): Promise<void> {
    await this.replacing;
  }
}
