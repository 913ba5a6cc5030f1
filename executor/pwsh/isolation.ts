/**
 * How `service` and `pool` runs are kept away from what makes the executor trusted, and how
 * every process a run starts ends with it (docs/security.md, "Run isolation").
 *
 * - Executor as root: runs switch to the run account (DEPUTY_RUN_ACCOUNT), which cannot read
 *   the 0700 data folder, in a PID namespace of their own (`unshare`), where the executor's
 *   processes do not exist.
 * - Executor as another account: runs start inside bubblewrap (`bwrap`) with a new user and PID
 *   namespace, a new /proc, and an empty tmpfs over the data folder.
 * - Neither possible: no isolation; the runner refuses service and pool runs unless told that
 *   this is a demo (DEPUTY_DEMO), and says so.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, chownSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { DeputyError } from '../contract/index.ts';
import { ensureRunAccount, findProgram, findSetpriv, type LocalAccount } from './accounts.ts';

export type IsolationKind = 'run-account' | 'namespace' | 'none';
/** What ends a run's processes: its PID namespace (all of them), or its process group (not those that call setsid). */
export type Containment = 'pid-namespace' | 'process-group';

export interface RunIsolation {
  kind: IsolationKind;
  containment: Containment;
  /** kind run-account: the account service and pool runs use. */
  account?: LocalAccount;
  /** One line for the start-up log (names the account). */
  summary: string;
  /** A short line for /readyz and the demo banner. */
  headline: string;
  /** What is missing for full isolation, with the reason (empty when nothing is). */
  gaps: string[];
}

export interface IsolationSettings {
  env: NodeJS.ProcessEnv;
  /** DEPUTY_RUN_ACCOUNT: the account runs use when the executor is root. */
  runAccount: string;
}

/** Programs that wrap pwsh, found once. */
export interface IsolationTools {
  setpriv?: string;
  /** Root only: `setpriv … unshare --pid …` in front of pwsh works here. */
  unshare?: string;
  /** Root only: inside that namespace, a run's folder can be made the only one in reach (`privateFolderArgs`). */
  privateFolders?: { sh: string; mount: string };
  bwrap?: string;
}

const PROBE_ENV = { PATH: '/usr/local/bin:/usr/bin:/bin' };

/** Where a root executor keeps what its run account must reach: copies of pwsh, the runs' own data. */
export const SYSTEM_FOLDER = '/var/lib/deputy';

function works(command: string, args: string[]): boolean {
  const probe = spawnSync(command, [...args, 'true'], { env: PROBE_ENV, shell: false, timeout: 10_000, stdio: 'ignore' });
  return probe.status === 0;
}

/** `unshare` in front of a command: a new PID namespace (and /proc) whose first process ends all the others when it ends. */
export function pidNamespaceArgs(unshare: string): string[] {
  // setpriv's parent-death signal: when the executor dies, unshare dies, and --kill-child takes the namespace with it.
  return ['--pdeathsig', 'KILL', '--', unshare, '--pid', '--fork', '--kill-child', '--mount-proc', '--'];
}

/**
 * Root, inside a run's namespace (`pidNamespaceArgs` gives it its own mount namespace, private
 * propagation), before the switch to the run account: `hidden` covered as bubblewrap covers it
 * (an empty tmpfs of mode 0000 over a folder, /dev/null over a file: a `DEPUTY_CONFIG` file that
 * others may read holds tokens), then the run's folder alone in the folder of all runs' folders
 * (an empty tmpfs over that, the run's own folder bound back: still on disk), and the command in
 * it. Every service and pool run is the same account, so without this one run reaches another
 * run's folder, and the sockets a process leaves there, by its path (which `/proc/net/unix`
 * shows). The script is a constant: the paths are its arguments.
 */
export function privateFolderArgs(tools: { sh: string; mount: string }, folder: string, hidden: readonly HiddenPath[] = []): string[] {
  const script = [
    'mount="$1" folder="$2"',
    'shift 2',
    'while [ "$1" != -- ]; do',
    '  if [ "$1" = folder ]; then "$mount" -t tmpfs -o mode=0000,size=4k deputy-hidden "$2" || exit 1',
    '  else "$mount" --bind /dev/null "$2" || exit 1; fi',
    '  shift 2',
    'done',
    'shift',
    // The own folder is reached through the working folder once the tmpfs hides its path (no canonical path: /proc/self/cwd itself).
    'cd "$folder" && "$mount" -t tmpfs -o mode=0711,size=64k deputy-runs "${folder%/*}" && mkdir "$folder" &&',
    '  "$mount" --no-canonicalize --bind /proc/self/cwd "$folder" && cd "$folder" && unset OLDPWD PWD && exec "$@"',
  ].join('\n');
  return [tools.sh, '-c', script, 'deputy-private-folder', tools.mount, folder, ...hidden.flatMap(({ path, folder: isFolder }) => [isFolder ? 'folder' : 'file', path]), '--'];
}

/**
 * bubblewrap in front of a command: same files except `hidden`, new user, PID and IPC namespaces,
 * a new /proc, and the run's folder `cwd` alone in its parent (as `privateFolderArgs`).
 */
export function bubblewrapArgs(hidden: readonly HiddenPath[], cwd: string): string[] {
  return [
    '--unshare-user', '--unshare-pid', '--unshare-ipc', '--disable-userns', '--die-with-parent',
    '--dev-bind', '/', '/', '--proc', '/proc',
    ...hidden.flatMap(({ path, folder }) => (folder ? ['--perms', '0000', '--size', '4096', '--tmpfs', path] : ['--ro-bind', '/dev/null', path])),
    '--perms', '0711', '--tmpfs', dirname(cwd), '--bind', cwd, cwd,
    '--chdir', cwd, '--',
  ];
}

/** A path runs must not read, and whether it is a folder (hidden by an empty tmpfs) or a file (by /dev/null). */
export interface HiddenPath {
  path: string;
  folder: boolean;
}

/** Decides the isolation this host allows, once at start-up (probes with `true`; may create the run account). */
export function resolveIsolation(settings: IsolationSettings): { isolation: RunIsolation; tools: IsolationTools } {
  const { env } = settings;
  const tools: IsolationTools = { setpriv: findSetpriv(env) };
  if (process.platform !== 'linux') {
    return { tools, isolation: none('process-group', [`runs are not isolated on ${process.platform}; Deputy isolates runs on Linux only`]) };
  }
  if (process.geteuid?.() === 0) {
    const { setpriv } = tools;
    const unshare = findProgram('unshare', env);
    const contained = setpriv !== undefined && unshare !== undefined && works(setpriv, pidNamespaceArgs(unshare));
    if (contained) tools.unshare = unshare;
    const containment: Containment = contained ? 'pid-namespace' : 'process-group';
    const gaps = contained ? [] : ['no PID namespace per run (unshare --pid failed here): a process a run moves into its own session (setsid) can outlive the run'];
    const privateFolders = contained ? probePrivateFolders(setpriv as string, unshare as string, env) : undefined;
    if (privateFolders) tools.privateFolders = privateFolders;
    else gaps.push('no private folder per run (no tmpfs mount in the run\'s namespace here): runs, all one account, can reach each other\'s folders by their paths');
    let account: LocalAccount;
    try {
      if (!setpriv) throw new DeputyError('DEPUTY_E_MODE_UNAVAILABLE', { detail: 'setpriv (util-linux) is not installed' });
      account = ensureRunAccount(settings.runAccount, env);
    } catch (error) {
      return { tools, isolation: none(containment, [`no run account: ${error instanceof DeputyError ? (error.detail ?? error.message) : String(error)}`, ...gaps]) };
    }
    return {
      tools,
      isolation: {
        kind: 'run-account',
        containment,
        account,
        summary: `runs use the account ${account.name} (uid ${account.uid}) and a fresh folder; ${contained ? 'a PID namespace per run' : 'no PID namespace (process group only)'}`,
        headline: headline('a separate run account', containment),
        gaps,
      },
    };
  }
  // bwrap only from PATH: an operator who wants it off (or elsewhere) decides through PATH.
  tools.bwrap = findProgram('bwrap', env, true);
  if (tools.bwrap && worksInFolder((folder) => works(tools.bwrap as string, bubblewrapArgs([], folder)))) {
    return {
      tools,
      isolation: {
        kind: 'namespace',
        containment: 'pid-namespace',
        summary: 'runs start in a namespace (bubblewrap) that hides the data folder, with a fresh folder and a PID namespace per run',
        headline: headline('a namespace that hides the data folder', 'pid-namespace'),
        gaps: [],
      },
    };
  }
  const why = tools.bwrap ? `bubblewrap (${tools.bwrap}) cannot create user namespaces here` : 'bubblewrap (bwrap) is not on PATH';
  return { tools, isolation: none('process-group', [`the executor is not root and ${why}, so runs could read the data folder`]) };
}

/** Root: whether a tmpfs can be mounted over a folder inside a run's namespace here. */
function probePrivateFolders(setpriv: string, unshare: string, env: NodeJS.ProcessEnv): { sh: string; mount: string } | undefined {
  const sh = findProgram('sh', env);
  const mount = findProgram('mount', env);
  if (!sh || !mount) return undefined;
  const tools = { sh, mount };
  return worksInFolder((folder) => works(setpriv, [...pidNamespaceArgs(unshare), ...privateFolderArgs(tools, folder)])) ? tools : undefined;
}

/** A probe that needs a run's folder: an empty one in a folder of its own, both removed after. */
function worksInFolder(probe: (folder: string) => boolean): boolean {
  const parent = mkdtempSync(join(tmpdir(), 'deputy-probe-'));
  try {
    const folder = join(parent, 'w');
    mkdirSync(folder);
    return probe(folder);
  } finally {
    rmSync(parent, { recursive: true, force: true });
  }
}

function none(containment: Containment, gaps: string[]): RunIsolation {
  return {
    kind: 'none',
    containment,
    summary: `runs are NOT isolated: scripts run as the executor's own account and can read its data folder (${gaps.join('; ')})`,
    headline: 'none: scripts run as the executor\'s account and can read its data folder (allowed in demo mode only)',
    gaps,
  };
}

function headline(how: string, containment: Containment): string {
  const end = containment === 'pid-namespace' ? 'a PID namespace per run' : 'no PID namespace, so a process that calls setsid can outlive its run';
  return `${how}, a fresh folder and ${end}`;
}


/**
 * The folder scripts keep data in between runs (`{runDataDir}` in an action's fixed values, e.g.
 * the demo directory): never inside the data folder, which no run may read, and owned by whoever
 * service and pool runs run as. Default: `/var/lib/deputy/run-data/<data folder key>` for a root
 * executor, else `<data folder>-run-data`.
 */
export function prepareRunDataFolder(isolation: RunIsolation, dataDir: string, configured?: string): string {
  const key = createHash('sha256').update(resolve(dataDir)).digest('hex').slice(0, 12);
  const folder = resolve(configured ?? (process.geteuid?.() === 0 ? join(SYSTEM_FOLDER, 'run-data', key) : `${dataDir}-run-data`));
  const fromData = relative(resolve(dataDir), folder);
  if (!fromData.startsWith('..') && !fromData.startsWith('/')) {
    throw new DeputyError('DEPUTY_E_CONFIG_INVALID', { message: `DEPUTY_RUN_DATA_DIR: ${folder} is inside the data folder, which no run may read` });
  }
  // Parents stay searchable (the run account must get through them), the folder itself is private.
  mkdirSync(dirname(folder), { recursive: true, mode: 0o755 });
  mkdirSync(folder, { recursive: true, mode: 0o700 });
  chmodSync(folder, 0o700);
  if (isolation.account) chownSync(folder, isolation.account.uid, isolation.account.gid);
  return folder;
}
