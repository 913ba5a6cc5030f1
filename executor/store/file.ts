/**
 * The file backend, the embedded default. Layout under the data folder (0700, files 0600):
 *
 *   catalog.json         the catalog (lowdb), replaced whole and atomically
 *   runs.jsonl           run records, append-only, one line per state change
 *   audit.jsonl          the hash-chained audit log, append-only
 *   output/<runId>.jsonl each finished run's full output
 *   runs-index/          the index of runs.jsonl that IndexedFileRuns keeps (openFileExecutorStore)
 *
 * See docs/store.md.
 */
import { join } from 'node:path';
import type { Clock } from '../../lib/clock.ts';
import type { Logger } from '../../lib/logger.ts';
import type { AuditCheckpointConfig } from './audit-checkpoint.ts';
import { FileAudit } from './audit.ts';
import { FileCatalog } from './catalog-file.ts';
import { ensurePrivateDir } from './files.ts';
import type { Store } from './port.ts';
import { FileRuns } from './runs-file.ts';
import { IndexedFileRuns } from './runs-indexed.ts';

export { verifyAuditFile } from './audit.ts';

export interface StorePaths {
  dataDir: string;
  catalog: string;
  runs: string;
  audit: string;
  outputDir: string;
  runsIndex: string;
}

export function storePaths(dataDir: string): StorePaths {
  return {
    dataDir,
    catalog: join(dataDir, 'catalog.json'),
    runs: join(dataDir, 'runs.jsonl'),
    audit: join(dataDir, 'audit.jsonl'),
    outputDir: join(dataDir, 'output'),
    runsIndex: join(dataDir, 'runs-index'),
  };
}

export interface FileStoreOptions {
  dataDir: string;
  clock: Clock;
  logger: Logger;
  /** Where the audit chain's keyed checkpoint is kept (outside `dataDir`); without it, none is kept. */
  auditCheckpoint?: AuditCheckpointConfig;
}

export interface FileStore extends Store {
  paths: StorePaths;
  /** How many fdatasync calls each log has made: group commit keeps these far below the number of writes. */
  syncCounts(): { runs: number; audit: number };
}

export async function createFileStore(options: FileStoreOptions): Promise<FileStore> {
  const store = await openFiles(options, (paths, logger) => FileRuns.open(paths.runs, paths.outputDir, logger));
  return { ...store, syncCounts: () => ({ runs: store.runs.syncs, audit: store.audit.syncs }) };
}

/**
 * The file store of an executor whose callers read runs through the asynchronous port
 * (`AsyncRunStore`): the catalog, the audit log and `IndexedFileRuns`, which reads only what was
 * written after its last checkpoint at start-up, never the whole history (docs/store.md,
 * "runs-index/"). A data folder `createFileStore` wrote is indexed once, on its first open here.
 * Never open both on one folder at the same time.
 */
export interface FileExecutorStore {
  paths: StorePaths;
  catalog: FileCatalog;
  audit: FileAudit;
  runs: IndexedFileRuns;
  close(): Promise<void>;
}

export function openFileExecutorStore(options: FileStoreOptions & { checkpointEvery?: number }): Promise<FileExecutorStore> {
  return openFiles(options, (paths, logger) =>
    IndexedFileRuns.open({ path: paths.runs, indexDir: paths.runsIndex, outputDir: paths.outputDir, logger, ...(options.checkpointEvery ? { checkpointEvery: options.checkpointEvery } : {}) }),
  );
}

/** The data folder, its catalog and audit log, and the run store `openRuns` opens: each backend's common part. */
async function openFiles<R extends { close(): Promise<void> }>(
  options: FileStoreOptions,
  openRuns: (paths: StorePaths, logger: Logger) => Promise<R>,
): Promise<{ paths: StorePaths; catalog: FileCatalog; runs: R; audit: FileAudit; close(): Promise<void> }> {
  const { clock, logger } = options;
  const paths = storePaths(options.dataDir);
  await ensurePrivateDir(paths.dataDir, logger);
  await ensurePrivateDir(paths.outputDir, logger);
  const catalog = await FileCatalog.open(paths.catalog);
  const runs = await openRuns(paths, logger);
  let audit: FileAudit;
  try {
    audit = await FileAudit.open(paths.audit, clock, logger, options.auditCheckpoint);
  } catch (error) {
    await runs.close();
    throw error;
  }
  let closing: Promise<void> | undefined;
  return {
    paths,
    catalog,
    runs,
    audit,
    close: () => {
      // Flush everything that was accepted, then release the files; closing twice is harmless.
      closing ??= Promise.all([catalog.settled(), runs.close(), audit.close()]).then(() => undefined);
      return closing;
    },
  };
}
