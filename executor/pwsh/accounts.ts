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

/** setpriv's path, from PATH or the usual places. */
export function findSetpriv(env: NodeJS.ProcessEnv): string | undefined {
  const folders = [...(env.PATH ?? '').split(delimiter), '/usr/bin', '/bin', '/usr/sbin', '/sbin'];
  for (const folder of folders) {
    if (folder && existsSync(join(folder, 'setpriv'))) return join(folder, 'setpriv');
  }
  return undefined;
}

/** setpriv in front of a command: the account's uid, gid and supplementary groups (initgroups). */
export function setprivArgs(account: LocalAccount, command: string, args: string[]): string[] {
  return [`--reuid=${account.uid}`, `--regid=${account.gid}`, '--init-groups', '--', command, ...args];
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

export interface RunAsCheck {
  account: string;
  allowlist: readonly string[];
  setpriv: string | undefined;
  /** Files the account must be able to use: [path, 'x' | 'r']. */
  mustReach: Array<[string, 'x' | 'r']>;
}

/**
 * Everything that must hold before anything runs as `account`; throws
 * DEPUTY_E_MODE_UNAVAILABLE naming the first thing that does not.
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
  for (const [path, access] of check.mustReach) {
    // The kernel decides: test(1) run as the account, with its groups.
    const probe = spawnSync(check.setpriv, setprivArgs(account, 'test', [`-${access}`, path]), {
      env: accountEnvironment(account),
      shell: false,
      timeout: 5000,
    });
    if (probe.status !== 0) {
      throw unavailable(
        `account "${name}" cannot ${access === 'x' ? 'execute' : 'read'} ${path}: every folder above it must be searchable (o+x) by that account. ` +
          'Install pwsh where the account can reach it (e.g. /opt/microsoft/powershell) and set DEPUTY_PWSH.',
      );
    }
  }
  return account;
}
