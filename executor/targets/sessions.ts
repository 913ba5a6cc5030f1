/**
 * Warm sessions on target systems: one SSH connection with one remote pwsh host, kept per
 * (target, requester) under the rules of local pool workers. A session serves one requester for
 * its whole life; each job gets a fresh runspace (the host does that); a session whose job timed
 * out, was cancelled, died or left anything behind is killed, never reused. Idle sessions close
 * after `idleMs`, and at most `maxIdle` are kept (the oldest go first), so a target does not carry
 * connections nobody uses. A requester whose session is busy gets a new one rather than a wait.
 */
import type { Logger } from '../../lib/logger.ts';
import type { RemoteHost } from './remote-host.ts';

interface Owner {
  key: string;
  requester: string;
}

interface Idle extends Owner {
  host: RemoteHost;
  timer: NodeJS.Timeout;
}

export interface SessionStats {
  /** `target` and `requester` of each live session, with the remote pid its scripts see as `$PID`. */
  sessions: Array<{ target: string; requester: string; pid: number; busy: boolean }>;
  /** Sessions killed rather than reused (timed out, cancelled, died, left something behind). */
  replaced: number;
}

export class TargetSessions {
  private readonly idle: Idle[] = [];
  private readonly busy = new Map<RemoteHost, Owner>();
  /** Sessions of a key being checked after their job: the next job of that key waits for the check. */
  private readonly checking = new Map<string, Promise<void>>();
  /** The sessions those checks are about, still live and still their requester's. */
  private readonly returning = new Map<RemoteHost, Owner>();
  private replaced = 0;
  private closed = false;

  constructor(
    private readonly options: { idleMs: number; maxIdle: number; logger: Logger },
  ) {}

  /** The idle session of this key, if one is alive (after any check under way); the caller starts a new one otherwise. */
  async take(key: string, requester: string): Promise<RemoteHost | undefined> {
    await this.checking.get(key);
    for (let at = this.idle.findIndex((entry) => entry.key === key); at >= 0; at = this.idle.findIndex((entry) => entry.key === key)) {
      const [entry] = this.idle.splice(at, 1);
      if (!entry) break;
      clearTimeout(entry.timer);
      if (entry.host.alive && entry.requester === requester) {
        this.busy.set(entry.host, { key, requester });
        return entry.host;
      }
      entry.host.kill();
    }
    return undefined;
  }

  /** Registers a session just started for a job of this key. */
  adopt(key: string, requester: string, host: RemoteHost): void {
    if (this.closed) {
      host.kill();
      return;
    }
    this.busy.set(host, { key, requester });
  }

  /** A job is done with its session: kept for the same key when reusable and clean, else killed. */
  release(host: RemoteHost, reusable: boolean): void {
    const owner = this.busy.get(host);
    this.busy.delete(host);
    if (!owner || !reusable || !host.alive || this.closed) return this.retire(host, reusable);
    // Off the result's path: the run's outcome does not wait for this check, only the next job does.
    this.returning.set(host, owner);
    const check = host.strayProcesses().then(
      (stray) => {
        if (stray.length > 0) {
          this.options.logger.warn({ target: host.target.id, stray }, 'a job left processes behind on its target; ending its session');
          this.retire(host, false);
        } else this.keep(owner, host);
      },
      (error: unknown) => {
        this.options.logger.warn({ err: error, target: host.target.id }, 'cannot check a target session for stray processes; ending it');
        this.retire(host, false);
      },
    );
    this.checking.set(owner.key, check);
    void check.finally(() => {
      this.returning.delete(host);
      if (this.checking.get(owner.key) === check) this.checking.delete(owner.key);
    });
  }

  stats(): SessionStats {
    const live: Array<[RemoteHost, Owner, boolean]> = [
      ...[...this.busy].map(([host, owner]): [RemoteHost, Owner, boolean] => [host, owner, true]),
      ...[...this.returning].map(([host, owner]): [RemoteHost, Owner, boolean] => [host, owner, false]),
      ...this.idle.map((entry): [RemoteHost, Owner, boolean] => [entry.host, entry, false]),
    ];
    return {
      sessions: live.map(([host, owner, busy]) => ({ target: host.target.id, requester: owner.requester, pid: host.hostProcessId, busy })),
      replaced: this.replaced,
    };
  }

  /** Kills every session, busy ones included (their runs end as cancelled). */
  async close(): Promise<void> {
    this.closed = true;
    const hosts = [...this.busy.keys(), ...this.returning.keys(), ...this.idle.map((entry) => entry.host)];
    for (const entry of this.idle.splice(0)) clearTimeout(entry.timer);
    this.busy.clear();
    for (const host of hosts) host.kill();
    await Promise.all(hosts.map((host) => host.whenClosed()));
  }

  private keep(owner: Owner, host: RemoteHost): void {
    if (this.closed || !host.alive) return this.retire(host, false);
    // One warm session per key: a second one (opened while the first was busy) goes.
    if (this.idle.some((entry) => entry.key === owner.key)) return this.retire(host, true);
    host.prepareNext();
    const timer = setTimeout(() => {
      const at = this.idle.findIndex((entry) => entry.host === host);
      if (at >= 0) this.idle.splice(at, 1);
      host.kill();
    }, this.options.idleMs);
    timer.unref();
    this.idle.push({ ...owner, host, timer });
    while (this.idle.length > this.options.maxIdle) {
      const oldest = this.idle.shift();
      if (!oldest) break;
      clearTimeout(oldest.timer);
      oldest.host.kill();
    }
  }

  /** `orderly`: a clean session not kept (no room); otherwise it is counted as replaced. */
  private retire(host: RemoteHost, orderly: boolean): void {
    if (!orderly) this.replaced += 1;
    host.kill();
  }
}

/**
 * The key a warm session is kept under: the target, the requester, and everything about how it
 * was reached (host, port, user, pinned key, credential version), so that a session opened
 * before the catalog or the key changed is never reused after.
 */
export function sessionKey(parts: { target: string; requester: string; connection: unknown }): string {
  return JSON.stringify([parts.target, parts.requester, parts.connection]);
}
