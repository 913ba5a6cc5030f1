/**
 * Local accounts for `pool:<account>` and `process:<account>`: who they are, whether this
 * executor may switch to them, and how to start pwsh as them (setpriv, no shell).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { DeputyError } from '../contract/index.ts';

export interface LocalAccount {
  name: string;
  uid: number;
  gid: number;
  home: string;
  shell: string;
}

/** The PATH setpriv --reset-env gives an ordinary account. */
export const ACCOUNT_PATH = '/usr/local/bin:/usr/bin:/bin';

const ACCOUNT_NAME = /^[a-z_][a-z0-9_.-]{0,31}$/i;

function unavailable(detail: string): DeputyError {
  return new DeputyError('DEPUTY_E_MODE_UNAVAILABLE', { detail });
}

/** Looks an account up through NSS (`getent passwd`), so LDAP/SSSD accounts count too. */
export function lookupAccount(name: string): LocalAccount | undefined {
  if (!ACCOUNT_NAME.test(name)) return undefined;
  const result = spawnSync('getent', ['passwd', name], { encoding: 'utf8', shell: false, timeout: 5000 });
  if (result.status !== 0) return undefined;
  const fields = result.stdout.trim().split(':');
  const [login, , uid, gid, , home, shell] = fields;
  if (fields.length < 7 || login !== name || !uid || !gid) return undefined;
  return { name, uid: Number(uid), gid: Number(gid), home: home ?? '/', shell: shell ?? '/bin/sh' };
}

const CAP_SETGID = 6n;
const CAP_SETUID = 7n;

/** Why this process cannot switch users, or undefined when it can (root, or CAP_SETUID + CAP_SETGID). */
export function switchUserObstacle(): string | undefined {
  if (process.platform !== 'linux') return `switching users needs Linux; this is ${process.platform}`;
  if (process.geteuid?.() === 0) return undefined;
  try {
    const status = readFileSync('/proc/self/status', 'utf8');
    const effective = /^CapEff:\s*([0-9a-f]+)$/m.exec(status)?.[1];
    if (effective) {
      const caps = BigInt(`0x${effective}`);
      if ((caps >> CAP_SETUID) & 1n && (caps >> CAP_SETGID) & 1n) return undefined;
    }
  } catch {
    // no /proc: treated as no privilege
  }
  return `the executor runs as uid ${process.geteuid?.()} without CAP_SETUID/CAP_SETGID, so it cannot start processes as another account (run it as root, or grant those capabilities)`;
}

/** A program's path from PATH, then (unless `pathOnly`) the usual system folders. */
export function findProgram(name: string, env: NodeJS.ProcessEnv, pathOnly = false): string | undefined {
  const folders = [...(env.PATH ?? '').split(delimiter), ...(pathOnly ? [] : ['/usr/bin', '/bin', '/usr/sbin', '/sbin'])];
  for (const folder of folders) {
    if (folder && existsSync(join(folder, name))) return join(folder, name);
  }
  return undefined;
}

/** setpriv's path, from PATH or the usual places. */
export function findSetpriv(env: NodeJS.ProcessEnv): string | undefined {
  return findProgram('setpriv', env);
}

/**
 * setpriv in front of a command: the account's uid, gid and supplementary groups (initgroups). The
 * kernel forgets a parent-death signal when a process changes its uid, so setpriv sets it again:
 * the command dies with the process that started it (the executor, or unshare).
 */
export function setprivArgs(account: LocalAccount, command: string, args: string[]): string[] {
  return [`--reuid=${account.uid}`, `--regid=${account.gid}`, '--init-groups', '--pdeathsig', 'KILL', '--', command, ...args];
}

/** The clean environment of an account, as a login would give it (what `setpriv --reset-env` sets). */
export function accountEnvironment(account: LocalAccount): Record<string, string> {
  return { HOME: account.home, USER: account.name, LOGNAME: account.name, SHELL: account.shell, PATH: ACCOUNT_PATH };
}

/** The account's home when it exists, else `/`: the folder its runs start in. */
export function accountWorkFolder(account: LocalAccount): string {
  try {
    if (statSync(account.home).isDirectory()) return account.home;
  } catch {
    // no home (a system account made with --no-create-home)
  }
  return '/';
}

/**
 * The account service and pool runs use when the executor is root (DEPUTY_RUN_ACCOUNT), made
 * with useradd on first start when missing: a system account with no home, no login shell and
 * no other groups. Throws DEPUTY_E_MODE_UNAVAILABLE when it cannot exist or would be root.
 */
export function ensureRunAccount(name: string, env: NodeJS.ProcessEnv): LocalAccount {
  if (!ACCOUNT_NAME.test(name)) throw unavailable(`DEPUTY_RUN_ACCOUNT "${name}" is not a valid account name`);
  let account = lookupAccount(name);
  if (!account) {
    const useradd = findProgram('useradd', env);
    if (!useradd) throw unavailable(`the run account "${name}" does not exist and useradd (passwd) is not installed to create it`);
    const created = spawnSync(useradd, ['--system', '--user-group', '--no-create-home', '--home-dir', '/nonexistent', '--shell', '/usr/sbin/nologin', name], {
      encoding: 'utf8',
      shell: false,
      timeout: 15_000,
    });
    account = lookupAccount(name);
    // Exit code 9: another executor made it meanwhile.
    if (!account) throw unavailable(`cannot create the run account "${name}" with useradd: ${created.stderr?.trim() || `exit code ${created.status}`}`);
  }
  if (account.uid === 0 || account.gid === 0) throw unavailable(`the run account "${name}" is root (uid/gid 0); runs never use root`);
  return account;
}

export interface RunAsCheck {
  account: string;
  allowlist: readonly string[];
  setpriv: string | undefined;
}

/**
 * Everything that must hold before anything runs as `account` (besides reaching pwsh: staging.ts);
 * throws DEPUTY_E_MODE_UNAVAILABLE naming the first thing that does not.
 */
export function resolveRunAsAccount(check: RunAsCheck): LocalAccount {
  const { account: name, allowlist } = check;
  if (!allowlist.includes(name)) {
    throw unavailable(`account "${name}" is not on the run-as allowlist (${allowlist.length ? allowlist.join(', ') : 'empty'})`);
  }
  const account = lookupAccount(name);
  if (!account) throw unavailable(`account "${name}" does not exist on this machine (getent passwd found nothing)`);
  if (account.uid === 0 || account.gid === 0) throw unavailable(`account "${name}" is root (uid/gid 0); runs never switch to root`);
  const obstacle = switchUserObstacle();
  if (obstacle) throw unavailable(obstacle);
  if (!check.setpriv) throw unavailable('setpriv (util-linux) is not installed; it is needed to start pwsh as another account');
  return account;
}

/** Whether the account can execute (`x`) or read (`r`) a path. The kernel decides: test(1) run as the account, with its groups. */
export function accountCanReach(account: LocalAccount, setpriv: string, path: string, access: 'x' | 'r'): boolean {
  const probe = spawnSync(setpriv, setprivArgs(account, 'test', [`-${access}`, path]), { env: accountEnvironment(account), shell: false, timeout: 5000 });
  return probe.status === 0;
}

/** The refusal for a file the account cannot use, naming it. */
export function unreachable(account: LocalAccount, path: string, access: 'x' | 'r', why = ''): DeputyError {
  return unavailable(
    `account "${account.name}" cannot ${access === 'x' ? 'execute' : 'read'} ${path}: every folder above it must be searchable (o+x) by that account${why}. ` +
      'Install pwsh where the account can reach it (e.g. /opt/microsoft/powershell) and set DEPUTY_PWSH.',
  );
}
