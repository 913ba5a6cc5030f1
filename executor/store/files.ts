/**
 * Small file-system helpers the file backend is built from: private folders, durable atomic
 * replacement of a whole file, and append-only files. Everything the store creates is readable
 * by its owner alone (folders 0700, files 0600), because runs and audit entries name people,
 * machines and inputs.
 */
import { randomBytes } from 'node:crypto';
import { chmod, mkdir, open, rename, rm, stat, type FileHandle } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { Logger } from '../../lib/logger.ts';

export const PRIVATE_DIR_MODE = 0o700;
export const PRIVATE_FILE_MODE = 0o600;

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

/** Makes a rename or a file creation inside `dir` survive a crash. */
export async function fsyncDir(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/**
 * Replaces `path` with `text` so that a reader (or a crash) sees either the old file or the
 * new one in full: write a private temporary file in the same folder, flush it, rename it over
 * the target, flush the folder. (lowdb's own writer, steno, renames too but never flushes and
 * creates its temporary file with the default 0644 mode, hence this.)
 */
export async function writeFileDurably(path: string, text: string): Promise<void> {
  const dir = dirname(path);
  const temporary = join(dir, `.${basename(path)}.${randomBytes(6).toString('hex')}.tmp`);
  const handle = await open(temporary, 'wx', PRIVATE_FILE_MODE);
  try {
    await handle.chmod(PRIVATE_FILE_MODE);
    await handle.writeFile(text, 'utf8');
    await handle.datasync();
  } catch (error) {
    await handle.close();
    await rm(temporary, { force: true });
    throw error;
  }
  await handle.close();
  await rename(temporary, path);
  await fsyncDir(dir);
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
