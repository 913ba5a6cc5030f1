/**
 * Host names as a server sees them. A browser sends the name it looked up in `Host`, so a
 * page that made that name resolve to 127.0.0.1 (DNS rebinding) still shows its own name
 * there: the one thing a loopback service can check to know it was addressed on purpose.
 */
import { isIP } from 'node:net';

/** The host part of a `Host` header, lower case, without port and without IPv6 brackets; `''` when absent. */
export function hostnameOf(header: string | undefined): string {
  const host = (header ?? '').trim().toLowerCase();
  if (host.startsWith('[')) return host.slice(1, host.indexOf(']') > 0 ? host.indexOf(']') : undefined);
  const colon = host.lastIndexOf(':');
  return colon >= 0 && host.indexOf(':') === colon ? host.slice(0, colon) : host;
}

/** Loopback names and addresses: localhost, 127.0.0.0/8, ::1 (also bracketed or IPv4-mapped). */
export function isLoopbackHost(host: string): boolean {
  const bare = host.replace(/^\[|\]$/g, '').toLowerCase();
  if (bare === 'localhost' || bare === '::1') return true;
  const v4 = bare.startsWith('::ffff:') ? bare.slice('::ffff:'.length) : bare;
  return isIP(v4) === 4 && v4.startsWith('127.');
}

/** True for the wildcard addresses a server binds to in order to listen everywhere. */
export function isWildcardHost(host: string): boolean {
  return ['0.0.0.0', '::', '[::]'].includes(host);
}
