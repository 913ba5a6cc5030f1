/**
 * Small file-system helpers the file backend is built from: private folders, durable atomic
 * replacement of a whole file, and append-only files. Everything the store creates is readable
 * by its owner alone (folders 0700, files 0600), because runs and audit entries name people,
 * machines and inputs.
 */
import { chmod, mkdir, open, stat, type FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Logger } from '../../lib/logger.ts';
import { fsyncDir, PRIVATE_DIR_MODE, PRIVATE_FILE_MODE } from '../../lib/private-files.ts';

// The store's modules find these here; the bot's store uses them from lib/ too.
export { fsyncDir, PRIVATE_DIR_MODE, PRIVATE_FILE_MODE, writeFileDurably } from '../../lib/private-files.ts';

/**
 * Creates the folder (and missing parents) as 0700. A folder that already exists keeps its
 * mode: it may belong to an operator's layout, so we only warn when others can read it.
 */
export async function ensurePrivateDir(path: string, logger: Logger): Promise<void> {
  const firstCreated = await mkdir(path, { recursive: true, mode: PRIVATE_DIR_MODE });
  if (firstCreated !== undefined) {
    // mkdir's mode is filtered by the umask; set it exactly.
    await chmod(path, PRIVATE_DIR_MODE);
    return;
  }
  const { mode } = await stat(path);
  if ((mode & 0o077) !== 0) {
    logger.warn({ path, mode: (mode & 0o777).toString(8) }, 'the data folder is readable by other users; chmod 700 it');
  }
}

/** Opens (creating if needed) an append-only file as 0600 and returns its handle and size. */
export async function openAppendOnly(path: string): Promise<{ handle: FileHandle; size: number }> {
  const existed = await stat(path).then(
    () => true,
    (error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT') return false;
      throw error;
    },
  );
  const handle = await open(path, 'a+', PRIVATE_FILE_MODE);
  try {
    await handle.chmod(PRIVATE_FILE_MODE);
    if (!existed) await fsyncDir(dirname(path));
    const { size } = await handle.stat();
    return { handle, size };
  } catch (error) {
    await handle.close();
    throw error;
  }
}

export function isMissingFile(error: unknown): boolean {
  return (error as NodeJS.ErrnoException | undefined)?.code === 'ENOENT';
}
