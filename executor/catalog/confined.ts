/**
 * Files a catalog names are read only from inside the catalog folder. A catalog often comes
 * from a repository many people commit to, and git keeps symbolic links: a script file (or the
 * `scripts/` folder) that links to /etc/passwd, to this or another instance's
 * `executor-token` or `secret.key` would otherwise be imported as script text that read-only
 * administrators can view. So every path is resolved to its real location and compared with
 * the catalog folder's real location, the file is opened with O_NOFOLLOW, and what was opened
 * is checked once more (a folder on the way swapped for a link between the check and the open).
 */
import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { lstat, mkdir, open, readlink, realpath, rename, rm } from 'node:fs/promises';
import { basename, dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { DeputyError } from '../contract/index.ts';

/** `code`: the errno when the file system refused (ENOENT, EACCES …). */
export type ConfinedRead = { bytes: Buffer } | { problem: string; code?: string };

/** The real location of a catalog folder the administrator named (a link to the folder itself is fine). */
export function catalogRoot(folder: string): Promise<string> {
  return realpath(resolve(folder));
}

/** True when `path` is `root` itself or below it (both already absolute). */
export function isWithin(root: string, path: string): boolean {
  const rest = relative(root, path);
  return rest === '' || (rest !== '..' && !rest.startsWith(`..${sep}`) && !isAbsolute(rest));
}

/**
 * The bytes of `name` (relative to `root`, a real path from `catalogRoot`), or why it may not
 * be read (outside the folder, a link leading out of it, not a regular file, unreadable), in
 * a sentence that names the file.
 */
export async function readConfined(root: string, name: string): Promise<ConfinedRead> {
  const path = resolve(root, name);
  if (isAbsolute(name) || !isWithin(root, path)) return { problem: `"${name}" must be a path inside the catalog folder` };
  let real: string;
  try {
    real = await realpath(path);
  } catch (error) {
    return unreadable(name, error);
  }
  if (!isWithin(root, real)) return { problem: leadsOutside(name, real, root) };
  let handle;
  try {
    // O_NONBLOCK: a FIFO planted under a script's name must not hang the import on open.
    handle = await open(real, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ELOOP') return { problem: `${name} became a link while it was being read; links out of the imported folder are refused` };
    return unreadable(name, error);
  }
  try {
    const opened = await openedPath(handle.fd);
    if (opened !== undefined && !isWithin(root, opened)) return { problem: leadsOutside(name, opened, root) };
    if (!(await handle.stat()).isFile()) return { problem: `${name} is not a regular file` };
    return { bytes: await handle.readFile() };
  } catch (error) {
    return unreadable(name, error);
  } finally {
    await handle.close();
  }
}

/**
 * Writes `text` as `name` inside `root` (a real path from `catalogRoot`) without following a
 * link, for `deputy export`: the folder it writes into is often a clone of a repository others
 * commit to, and a committed link (`scripts` → /etc/cron.d, `catalog.yaml` → ~/.profile) would
 * otherwise make the export write script text, which chat users author, wherever it leads.
 * Every folder on the way must be a real folder (made when missing); the file is written under a
 * new name beside it and renamed over its name, so a link or a hard link there is replaced,
 * never written through. A folder on the way that is a link is refused
 * (`DEPUTY_E_CATALOG_INVALID`, naming it).
 */
export async function writeConfined(root: string, name: string, text: string): Promise<void> {
  const path = resolve(root, name);
  if (isAbsolute(name) || !isWithin(root, path) || path === root) throw refusedWrite(`"${name}" is not a path inside the folder ${root}`);
  let folder = root;
  for (const part of relative(root, dirname(path)).split(sep).filter((segment) => segment !== '')) {
    folder = join(folder, part);
    await mkdir(folder, { mode: 0o755 }).catch((error: unknown) => {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    });
    const found = await lstat(folder);
    if (!found.isDirectory()) {
      throw refusedWrite(`${relative(root, folder)} in ${root} is ${found.isSymbolicLink() ? 'a link' : 'not a folder'}; the export writes only into real folders inside the folder it was given`);
    }
  }
  const temporary = join(folder, `.${basename(path)}.${randomBytes(8).toString('hex')}.tmp`);
  const handle = await open(temporary, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o644);
  try {
    await handle.writeFile(text, 'utf8');
  } finally {
    await handle.close();
  }
  try {
    await rename(temporary, path);
  } catch (error) {
    await rm(temporary, { force: true });
    throw error;
  }
}

function refusedWrite(message: string): DeputyError {
  return new DeputyError('DEPUTY_E_CATALOG_INVALID', { message, detail: message });
}

/** Where the kernel says an open file is (Linux); undefined where /proc is not mounted. */
async function openedPath(fd: number): Promise<string | undefined> {
  try {
    return await readlink(`/proc/self/fd/${fd}`);
  } catch {
    return undefined;
  }
}

function leadsOutside(name: string, real: string, root: string): string {
  return `${name} leads to ${real}, outside the imported folder ${root}; links out of it are refused`;
}

function unreadable(name: string, error: unknown): { problem: string; code?: string } {
  const code = (error as NodeJS.ErrnoException).code;
  return { problem: `${name}: ${code === 'ENOENT' ? 'file not found' : `file cannot be read (${code ?? 'error'})`}`, ...(code ? { code } : {}) };
}
