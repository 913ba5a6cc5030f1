/**
 * Who is calling the executor's API. Two bearer tokens open different doors: the bot's token
 * acts for principals that have a chat identity, the operator's token also reads across
 * principals. Both are compared in constant time, two of each may be valid while one is being
 * rotated, and requests are audited with the token's kind and fingerprint, never its value.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { hostnameOf, isLoopbackHost, isWildcardHost } from '../../lib/http-host.ts';

export type CallerKind = 'bot' | 'operator';

export interface Caller {
  kind: CallerKind;
  /** The audit label: kind and fingerprint, e.g. `bot:token:1a2b3c4d5e6f`. */
  via: string;
}

export interface TokenCheck {
  /** The caller whose token this is, or undefined. */
  identify(presented: string | undefined): Caller | undefined;
}

const digest = (value: string) => createHash('sha256').update(value, 'utf8').digest();

export function tokenFingerprint(token: string): string {
  return `token:${digest(token).toString('hex').slice(0, 12)}`;
}

export function createTokenCheck(tokens: Record<CallerKind, readonly string[]>): TokenCheck {
  const known = (Object.entries(tokens) as [CallerKind, readonly string[]][]).flatMap(([kind, values]) =>
    values.map((token) => ({ digest: digest(token), caller: { kind, via: `${kind}:${tokenFingerprint(token)}` } })),
  );
  return {
    identify(presented) {
      if (!presented) return undefined;
      // Hashing first makes both sides the same length, so timingSafeEqual applies to any input;
      // every known token is compared, so the time says nothing about which one matched.
      const candidate = digest(presented);
      let caller: Caller | undefined;
      for (const token of known) if (timingSafeEqual(candidate, token.digest)) caller = token.caller;
      return caller;
    },
  };
}

/** `Authorization: Bearer <token>` → the token, or undefined. */
export function bearerToken(header: string | undefined): string | undefined {
  const match = /^Bearer[ ]+([^\s]+)$/i.exec(header ?? '');
  return match?.[1];
}

/**
 * The names the executor answers to: loopback, the address it listens on (unless that is a
 * wildcard) and the configured ones. Anything else in `Host` is a request meant for another
 * server, or a browser page that rebound its own name to this machine.
 */
export function createHostCheck(listenHost: string, allowedHosts: readonly string[]): (hostHeader: string | undefined) => boolean {
  const names = new Set([...allowedHosts, ...(isWildcardHost(listenHost) ? [] : [listenHost])].map((name) => hostnameOf(name)));
  return (hostHeader) => {
    const name = hostnameOf(hostHeader);
    return name !== '' && (isLoopbackHost(name) || names.has(name));
  };
}
