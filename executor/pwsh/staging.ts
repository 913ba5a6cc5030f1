/**
 * pwsh and the host script where a run account can use them. A project may live where other
 * accounts cannot enter (a clone in /root, a 0700 home): then the account gets a copy in a
 * root-owned, world-readable folder outside it (hard links where the file system allows, so
 * the ~200 MB pwsh tree costs nothing), made once per pwsh build and host script text.
 */
import { createHash, randomBytes } from 'node:crypto';
import {
  chmodSync,
  copyFileSync,
  existsSync,
  linkSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  realpathSync,
  renameSync,
  rmSync,
  statSync,
  symlinkSync,
} from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { DeputyError } from '../contract/index.ts';
import { accountCanReach, unreachable, type LocalAccount } from './accounts.ts';
import { SYSTEM_FOLDER } from './isolation.ts';

/** Where copies for run accounts go unless the runner is told otherwise. */
export const DEFAULT_RUNTIME_FOLDER = join(SYSTEM_FOLDER, 'runtime');

export interface RunnableFiles {
  pwsh: string;
  hostScript: string;
}

export interface StagingRequest extends RunnableFiles {
  account: LocalAccount;
  setpriv: string;
  runtimeFolder: string;
}

/** A dotnet global tool's shim loads pwsh from the `.store` folder beside it. */
function toolStoreOf(pwsh: string): string | undefined {
  const store = join(dirname(pwsh), '.store');
  return existsSync(store) ? store : undefined;
}

/**
 * Paths of pwsh and the host script the account can use: the given ones when it can reach
 * them, else copies in `runtimeFolder`. Throws DEPUTY_E_MODE_UNAVAILABLE naming the path when
 * neither works.
 */
export function runnableFilesFor(request: StagingRequest): RunnableFiles {
  const { account, setpriv } = request;
  const reach = (path: string, access: 'x' | 'r') => accountCanReach(account, setpriv, path, access);
  const pwshUsable = (path: string) => {
    const store = toolStoreOf(path);
    return reach(path, 'x') && (store === undefined || reach(store, 'x'));
  };
  const stageFailure = (path: string, access: 'x' | 'r', error: unknown) =>
    unreachable(account, path, access, `, and no copy could be made in ${request.runtimeFolder} (${error instanceof Error ? error.message : String(error)})`);

  let pwsh = request.pwsh;
  if (!pwshUsable(pwsh)) {
    const real = realpathSync(pwsh);
    if (real !== pwsh && pwshUsable(real)) pwsh = real;
    else {
      try {
        pwsh = join(stageTree(dirname(real), request.runtimeFolder, treeKey(real)), basename(real));
      } catch (error) {
        throw stageFailure(request.pwsh, 'x', error);
      }
      if (!pwshUsable(pwsh)) throw unreachable(account, pwsh, 'x');
    }
  }

  let hostScript = request.hostScript;
  if (!reach(hostScript, 'r')) {
    const text = readFileSync(hostScript);
    try {
      const folder = stageTree(undefined, request.runtimeFolder, `host-${createHash('sha256').update(text).digest('hex').slice(0, 16)}`, (target) =>
        copyReadable(hostScript, join(target, basename(hostScript))),
      );
      hostScript = join(folder, basename(request.hostScript));
    } catch (error) {
      throw stageFailure(request.hostScript, 'r', error);
    }
    if (!reach(hostScript, 'r')) throw unreachable(account, hostScript, 'r');
  }
  return { pwsh, hostScript };
}

/** Names one pwsh build: its real path and its shim's size, time and inode. */
function treeKey(realPwsh: string): string {
  const stat = statSync(realPwsh);
  const key = createHash('sha256').update(`${realPwsh}\0${stat.size}\0${stat.mtimeMs}\0${stat.ino}`).digest('hex');
  return `pwsh-${key.slice(0, 16)}`;
}

/**
 * The folder `runtimeFolder/name`, filled once from `source` (or by `fill`) under a temporary
 * name and renamed into place, so a half-made copy is never used, also by a second executor.
 */
function stageTree(source: string | undefined, runtimeFolder: string, name: string, fill?: (target: string) => void): string {
  ensureRootOwnedFolder(runtimeFolder);
  const target = join(runtimeFolder, name);
  if (existsSync(target)) return target;
  const temporary = join(runtimeFolder, `.${name}.${randomBytes(6).toString('hex')}`);
  try {
    mkdirSync(temporary, { mode: 0o755 });
    chmodSync(temporary, 0o755);
    if (source !== undefined) linkTree(source, temporary);
    fill?.(temporary);
    renameSync(temporary, target);
  } catch (error) {
    rmSync(temporary, { recursive: true, force: true });
    // Another executor made the same copy meanwhile: theirs is as good.
    if (existsSync(target)) return target;
    throw error;
  }
  return target;
}

/** Creates the folder 0755 where missing and refuses one that others could change (then a run account could plant a program there). */
function ensureRootOwnedFolder(folder: string): void {
  if (!existsSync(folder)) {
    ensureRootOwnedFolder(dirname(folder));
    mkdirSync(folder, { mode: 0o755 });
    chmodSync(folder, 0o755);
  }
  const stat = lstatSync(folder);
  if (!stat.isDirectory() || stat.uid !== process.geteuid?.() || (stat.mode & 0o022) !== 0) {
    throw new DeputyError('DEPUTY_E_MODE_UNAVAILABLE', {
      detail: `${folder} must be a folder owned by the executor's account that no one else can write to (mode ${(stat.mode & 0o777).toString(8)}, owner ${stat.uid})`,
    });
  }
}

/** Mirrors a tree: hard links for files everyone may already read, readable copies for the rest. */
function linkTree(source: string, target: string): void {
  for (const entry of readdirSync(source, { withFileTypes: true })) {
    const from = join(source, entry.name);
    const to = join(target, entry.name);
    if (entry.isDirectory()) {
      mkdirSync(to, { mode: 0o755 });
      chmodSync(to, 0o755);
      linkTree(from, to);
    } else if (entry.isSymbolicLink()) {
      symlinkSync(readlinkSync(from), to);
    } else if (entry.isFile()) {
      const { mode } = statSync(from);
      const everyoneMayUse = (mode & 0o004) !== 0 && ((mode & 0o100) === 0 || (mode & 0o001) !== 0) && (mode & 0o022) === 0;
      if (everyoneMayUse) {
        try {
          linkSync(from, to);
          continue;
        } catch {
          // another file system, or links not allowed: copy
        }
      }
      copyReadable(from, to);
    }
  }
}

function copyReadable(from: string, to: string): void {
  copyFileSync(from, to);
  const { mode } = statSync(from);
  chmodSync(to, (mode & 0o100 ? 0o755 : 0o644));
}
