/**
 * Files only their owner may read: what the executor's and the bot's data folders are made of
 * (folders 0700, files 0600), written so a reader or a crash sees the old file or the new one.
 */
import { randomBytes } from 'node:crypto';
import { chmod, mkdir, open, readdir, readFile, rename, rm, stat } from 'node:fs/promises';
import type { Adapter } from 'lowdb';
import { basename, dirname, join } from 'node:path';

export const PRIVATE_DIR_MODE = 0o700;
export const PRIVATE_FILE_MODE = 0o600;

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

/**
 * Creates the data folder (and missing parents) and makes it and what lies directly in it
 * private: the folder 0700, its files 0600, its folders 0700. Returns the paths whose mode it
 * had to change, for a warning. Whatever a run or another account could read there is what
 * the executor is trusted with (tokens, keys, credentials).
 */
export async function makeDataFolderPrivate(folder: string): Promise<string[]> {
  await mkdir(folder, { recursive: true, mode: PRIVATE_DIR_MODE });
  const changed: string[] = [];
  const tighten = async (path: string, mode: number): Promise<void> => {
    const current = (await stat(path)).mode & 0o777;
    if ((current & 0o077) === 0) return;
    await chmod(path, mode);
    changed.push(path);
  };
  await tighten(folder, PRIVATE_DIR_MODE);
  for (const entry of await readdir(folder, { withFileTypes: true })) {
    if (entry.isDirectory()) await tighten(join(folder, entry.name), PRIVATE_DIR_MODE);
    else if (entry.isFile()) await tighten(join(folder, entry.name), PRIVATE_FILE_MODE);
  }
  return changed;
}

/** A lowdb adapter for a JSON file that only its owner may read (lowdb's own JSONFile writes 0644). */
export class PrivateJsonFile<T> implements Adapter<T> {
  constructor(private readonly path: string) {}

  async read(): Promise<T | null> {
    try {
      return JSON.parse(await readFile(this.path, 'utf8')) as T;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw error;
    }
  }

  write(data: T): Promise<void> {
    return writeFileDurably(this.path, `${JSON.stringify(data, null, 2)}\n`);
  }
}
