/**
 * One SSH connection to a target system (ssh2): key authentication with the stored private key,
 * and the pinned host key checked before anything else is sent. A connection that cannot be
 * made fails with a reason a chat user can read, named after the target
 * (`web-01: connection refused`, `web-01: host key mismatch`).
 */
import ssh2 from 'ssh2';
import type { ClientChannel, ConnectConfig } from 'ssh2';
import type { Logger } from '../../lib/logger.ts';
import { DeputyError } from '../contract/index.ts';
import type { Target } from '../domain.ts';
import { fingerprintOf, matchesPinned, parseHostKey } from './host-key.ts';

const { Client } = ssh2;

/** Why a connection failed, for the audit and for the target's sessions. */
export type ConnectFailure = 'unreachable' | 'timeout' | 'host-key' | 'auth' | 'key' | 'ssh';

/** A target could not be reached or refused Deputy; the message names the target and the reason. */
export class TargetConnectError extends DeputyError {
  constructor(
    readonly target: string,
    readonly failure: ConnectFailure,
    reason: string,
    detail: { presentedFingerprint?: string; cause?: unknown } = {},
  ) {
    super(failure === 'unreachable' || failure === 'timeout' ? 'DEPUTY_E_TARGET_UNREACHABLE' : 'DEPUTY_E_TARGET_REFUSED', {
      message: `${target}: ${reason}`,
      detail: detail.presentedFingerprint ? `presented ${detail.presentedFingerprint}` : undefined,
      cause: detail.cause,
    });
    this.presentedFingerprint = detail.presentedFingerprint;
  }

  readonly presentedFingerprint: string | undefined;
}

export interface ConnectOptions {
  target: Target;
  privateKey: string;
  /** How long the TCP connection and the SSH handshake may take. */
  timeoutMs: number;
  signal?: AbortSignal;
  logger: Logger;
}

const SOCKET_REASONS: Record<string, string> = {
  ECONNREFUSED: 'connection refused',
  ENOTFOUND: 'host name not found',
  EAI_AGAIN: 'host name not found',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
  ECONNRESET: 'connection reset',
  ETIMEDOUT: 'connection timed out',
};

export class SshConnection {
  private closedReason: string | undefined;
  private readonly closeWaiters: Array<() => void> = [];

  private constructor(
    private readonly client: InstanceType<typeof Client>,
    readonly target: Target,
  ) {
    client.on('close', () => {
      this.closedReason ??= 'connection closed';
      for (const wake of this.closeWaiters.splice(0)) wake();
    });
    client.on('error', (error) => {
      this.closedReason = error.message;
    });
  }

  /** Connects and authenticates; rejects with TargetConnectError (or the signal's reason when aborted). */
  static open(options: ConnectOptions): Promise<SshConnection> {
    const { target, signal } = options;
    const pinned = parseHostKey(target.hostKey);
    if (typeof pinned === 'string') return Promise.reject(new TargetConnectError(target.id, 'host-key', `the pinned host key is invalid: ${pinned}`));
    const client = new Client();
    return new Promise<SshConnection>((resolve, reject) => {
      let presented: Buffer | undefined;
      let settled = false;
      const fail = (error: unknown): void => {
        if (settled) return;
        settled = true;
        signal?.removeEventListener('abort', onAbort);
        client.destroy();
        reject(error);
      };
      const onAbort = (): void => fail(signal?.reason ?? new Error('aborted'));
      if (signal?.aborted) return onAbort();
      signal?.addEventListener('abort', onAbort, { once: true });
      client.once('ready', () => {
        if (settled) return;
        settled = true;
        signal?.removeEventListener('abort', onAbort);
        resolve(new SshConnection(client, target));
      });
      client.on('error', (error: Error & { level?: string; code?: string }) => {
        if (presented && !matchesPinned(pinned, presented)) {
          options.logger.warn({ target: target.id, pinned: pinned.fingerprint, presented: fingerprintOf(presented) }, 'target presented another host key');
          return fail(new TargetConnectError(target.id, 'host-key', 'host key mismatch', { presentedFingerprint: fingerprintOf(presented), cause: error }));
        }
        fail(classify(target.id, pinned.type, error));
      });
      client.on('close', () => fail(new TargetConnectError(target.id, 'unreachable', 'connection closed during the handshake')));
      const config: ConnectConfig = {
        host: target.host,
        port: target.port,
        username: target.user,
        privateKey: options.privateKey,
        readyTimeout: Math.max(1, options.timeoutMs),
        algorithms: { serverHostKey: pinned.algorithms as NonNullable<ConnectConfig['algorithms']>['serverHostKey'] },
        hostVerifier: (key: Buffer) => {
          presented = key;
          return matchesPinned(pinned, key);
        },
        // Only the stored key: no agent, no keyboard-interactive, no password prompts.
        tryKeyboard: false,
        // A connection that died silently (a dropped route, a NAT that forgot it) ends its run within a minute.
        keepaliveInterval: 15_000,
        keepaliveCountMax: 4,
      };
      try {
        client.connect(config);
      } catch (error) {
        // ssh2 parses the private key before it connects.
        fail(new TargetConnectError(target.id, 'key', 'the stored private key cannot be used', { cause: error }));
      }
    });
  }

  get closed(): boolean {
    return this.closedReason !== undefined;
  }

  /** Starts a command on the target (run by the account's login shell, as sshd does). */
  exec(command: string): Promise<ClientChannel> {
    return new Promise((resolve, reject) => {
      if (this.closed) return reject(new TargetConnectError(this.target.id, 'unreachable', this.closedReason ?? 'connection closed'));
      try {
        this.client.exec(command, (error, channel) => (error ? reject(new TargetConnectError(this.target.id, 'ssh', `cannot start a command: ${error.message}`, { cause: error })) : resolve(channel)));
      } catch (error) {
        reject(new TargetConnectError(this.target.id, 'unreachable', 'connection closed', { cause: error }));
      }
    });
  }

  /** Runs a short command to its end and returns what it wrote on stdout (at most 64 KiB). */
  async run(command: string, timeoutMs: number): Promise<{ code: number | null; stdout: string }> {
    const channel = await this.exec(command);
    return new Promise((resolve, reject) => {
      let stdout = '';
      let code: number | null = null;
      const timer = setTimeout(() => {
        channel.close();
        reject(new TargetConnectError(this.target.id, 'timeout', `"${command.split(' ')[0]}" did not finish within ${timeoutMs} ms`));
      }, timeoutMs);
      channel.setEncoding('utf8');
      channel.on('data', (chunk: string) => {
        if (stdout.length < 65_536) stdout += chunk;
      });
      channel.stderr.resume();
      channel.on('exit', (exitCode: number | null) => {
        code = exitCode;
      });
      channel.on('close', () => {
        clearTimeout(timer);
        resolve({ code, stdout });
      });
    });
  }

  /** Ends the connection: the server closes every channel of it. */
  close(): void {
    this.client.end();
    // A peer that does not answer the disconnect must not keep the socket open.
    setTimeout(() => this.client.destroy(), 2000).unref();
  }

  whenClosed(): Promise<void> {
    return new Promise((resolve) => (this.closedReason !== undefined ? resolve() : this.closeWaiters.push(resolve)));
  }
}

function classify(targetId: string, keyType: string, error: Error & { level?: string; code?: string }): TargetConnectError {
  if (error.code && SOCKET_REASONS[error.code]) return new TargetConnectError(targetId, error.code === 'ETIMEDOUT' ? 'timeout' : 'unreachable', SOCKET_REASONS[error.code] as string, { cause: error });
  if (error.level === 'client-timeout') return new TargetConnectError(targetId, 'timeout', 'connection timed out (no SSH handshake)', { cause: error });
  if (error.level === 'client-authentication') return new TargetConnectError(targetId, 'auth', `authentication failed: the target refused the stored key`, { cause: error });
  if (/host key format|hostkey/i.test(error.message)) return new TargetConnectError(targetId, 'host-key', `host key mismatch: the target offers no ${keyType} key`, { cause: error });
  return new TargetConnectError(targetId, 'ssh', `SSH error: ${error.message}`, { cause: error });
}
