/**
 * A real OpenSSH server for the target tests: Debian's /usr/sbin/sshd, started as a child
 * process on a free loopback port with its own generated host key, configuration and
 * authorized keys, accepting key authentication for the account running the tests.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';

export const SSHD = '/usr/sbin/sshd';

export interface KeyPair {
  privateKey: string;
  /** `ssh-ed25519 AAAA… comment`, as the catalog pins it. */
  publicKey: string;
}

/** A new key pair made by ssh-keygen (no passphrase). */
export function generateKeyPair(type: 'ed25519' | 'ecdsa' | 'rsa' = 'ed25519'): KeyPair {
  const folder = mkdtempSync(join(tmpdir(), 'deputy-key-'));
  try {
    const file = join(folder, 'key');
    const made = spawnSync('ssh-keygen', ['-q', '-t', type, '-N', '', '-C', 'deputy-test', '-f', file], { encoding: 'utf8' });
    if (made.status !== 0) throw new Error(`ssh-keygen failed: ${made.stderr}`);
    return { privateKey: readFileSync(file, 'utf8'), publicKey: readFileSync(`${file}.pub`, 'utf8').trim() };
  } finally {
    rmSync(folder, { recursive: true, force: true });
  }
}

export interface TestSshd {
  port: number;
  /** The account the server lets in (the one running the tests). */
  user: string;
  /** The server's host key, as a target pins it. */
  hostKey: string;
  stop(): Promise<void>;
}

export function loginAccount(): string {
  return userInfo().username;
}

async function freePort(): Promise<number> {
  const server: Server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (!address || typeof address === 'string') throw new Error('no port');
  return address.port;
}

/** Starts sshd; `authorizedKeys` are the public keys it accepts for the test account. */
export async function startSshd(options: { authorizedKeys: string[]; hostKeyType?: 'ed25519' | 'ecdsa' | 'rsa' }): Promise<TestSshd> {
  if (process.geteuid?.() === 0) mkdirSync('/run/sshd', { recursive: true, mode: 0o755 }); // sshd's privilege separation folder
  const folder = mkdtempSync(join(tmpdir(), 'deputy-sshd-'));
  const hostKey = generateKeyPair(options.hostKeyType ?? 'ed25519');
  writeFileSync(join(folder, 'host_key'), hostKey.privateKey, { mode: 0o600 });
  writeFileSync(join(folder, 'authorized_keys'), `${options.authorizedKeys.join('\n')}\n`, { mode: 0o600 });
  const user = loginAccount();
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    const config = [
      `Port ${port}`,
      'ListenAddress 127.0.0.1',
      `HostKey ${join(folder, 'host_key')}`,
      `AuthorizedKeysFile ${join(folder, 'authorized_keys')}`,
      'StrictModes no',
      'UsePAM no',
      'PasswordAuthentication no',
      'KbdInteractiveAuthentication no',
      'PermitRootLogin prohibit-password',
      `AllowUsers ${user}`,
      'PidFile none',
      'MaxStartups 100',
      'MaxSessions 100',
      'LogLevel INFO',
      // The shim in .tools/ finds .NET through DOTNET_ROOT when the tests were given one.
      ...(process.env.DOTNET_ROOT ? [`SetEnv DOTNET_ROOT=${process.env.DOTNET_ROOT}`] : []),
    ].join('\n');
    writeFileSync(join(folder, 'sshd_config'), `${config}\n`);
    const child = spawn(SSHD, ['-D', '-e', '-f', join(folder, 'sshd_config')], { stdio: ['ignore', 'ignore', 'pipe'] });
    const listening = await waitForListening(child, port);
    if (listening === true) {
      return {
        port,
        user,
        hostKey: hostKey.publicKey,
        async stop() {
          const exited = new Promise<void>((resolve) => (child.exitCode !== null ? resolve() : child.once('exit', () => resolve())));
          child.kill('SIGTERM');
          await exited;
          rmSync(folder, { recursive: true, force: true });
        },
      };
    }
    child.kill('SIGKILL');
    if (attempt >= 3) {
      rmSync(folder, { recursive: true, force: true });
      throw new Error(`sshd did not start: ${listening}`);
    }
  }
}

/** True once sshd says it listens; else the log it wrote before it exited. */
function waitForListening(child: ChildProcess, port: number): Promise<true | string> {
  return new Promise((resolve) => {
    let log = '';
    child.stderr?.setEncoding('utf8');
    child.stderr?.on('data', (chunk: string) => {
      log += chunk;
      if (log.includes(`Server listening on 127.0.0.1 port ${port}`)) resolve(true);
    });
    child.once('exit', (code) => resolve(`exit ${code}: ${log}`));
    child.once('error', (error) => resolve(error.message));
  });
}

/** A TCP server on loopback that accepts connections and never says anything (an SSH handshake that hangs). */
export async function startSilentServer(): Promise<{ port: number; stop(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (!address || typeof address === 'string') throw new Error('no port');
  return {
    port: address.port,
    stop: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
