/**
 * The file backend, the embedded default. Layout under the data folder (0700, files 0600):
 *
 *   catalog.json         the catalog (lowdb), replaced whole and atomically
 *   runs.jsonl           run records, append-only, one line per state change
 *   audit.jsonl          the hash-chained audit log, append-only
 *   output/<runId>.jsonl each finished run's full output
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

export { verifyAuditFile } from './audit.ts';

export interface StorePaths {
  dataDir: string;
  catalog: string;
  runs: string;
  audit: string;
  outputDir: string;
}

export function storePaths(dataDir: string): StorePaths {
  return {
    dataDir,
    catalog: join(dataDir, 'catalog.json'),
    runs: join(dataDir, 'runs.jsonl'),
    audit: join(dataDir, 'audit.jsonl'),
    outputDir: join(dataDir, 'output'),
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
  const { clock, logger } = options;
  const paths = storePaths(options.dataDir);
  await ensurePrivateDir(paths.dataDir, logger);
  await ensurePrivateDir(paths.outputDir, logger);
  const catalog = await FileCatalog.open(paths.catalog);
  const runs = await FileRuns.open(paths.runs, paths.outputDir, logger);
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
    syncCounts: () => ({ runs: runs.syncs, audit: audit.syncs }),
    close: () => {
      // Flush everything that was accepted, then release the files; closing twice is harmless.
      closing ??= Promise.all([catalog.settled(), runs.close(), audit.close()]).then(() => undefined);
      return closing;
    },
  };
}
