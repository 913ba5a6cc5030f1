/**
 * One process per data folder: two writers would interleave two audit chains. The lock file
 * holds the owner's pid; a lock whose process is gone is stale and taken over.
 */
import { readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DeputyError } from './contract/index.ts';

const LOCK_FILE = '.lock';

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export interface DataLock {
  release(): void;
}

export function acquireDataLock(dataDir: string): DataLock {
  const path = join(dataDir, LOCK_FILE);
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      writeFileSync(path, `${process.pid}\n`, { flag: 'wx', mode: 0o600 });
      let released = false;
      return {
        release() {
          if (released) return;
          released = true;
          try {
            unlinkSync(path);
          } catch {
            // Already gone: nothing to release.
          }
        },
      };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const owner = Number.parseInt(readFileSync(path, 'utf8'), 10);
      if (Number.isInteger(owner) && owner !== process.pid && isAlive(owner)) {
        throw new DeputyError('DEPUTY_E_CONFLICT', {
          message: `The data folder ${dataDir} is in use by process ${owner}. Stop it first (or use another DEPUTY_DATA_DIR).`,
        });
      }
      unlinkSync(path);
    }
  }
  throw new DeputyError('DEPUTY_E_CONFLICT', { message: `Could not lock the data folder ${dataDir}.` });
}
