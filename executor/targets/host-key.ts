/**
 * Pinned SSH host keys, written as OpenSSH writes a public key (`ssh-ed25519 AAAA… comment`,
 * what `ssh-keyscan` or the server's `/etc/ssh/ssh_host_*_key.pub` shows). The key blob is
 * compared byte for byte with what the server presents; nothing is ever learnt on first use.
 */
import { createHash, timingSafeEqual } from 'node:crypto';

/** The key types Deputy pins, with the signature algorithms that make a server present that key. */
const ALGORITHMS: Readonly<Record<string, readonly string[]>> = {
  'ssh-ed25519': ['ssh-ed25519'],
  'ecdsa-sha2-nistp256': ['ecdsa-sha2-nistp256'],
  'ecdsa-sha2-nistp384': ['ecdsa-sha2-nistp384'],
  'ecdsa-sha2-nistp521': ['ecdsa-sha2-nistp521'],
  'ssh-rsa': ['rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa'],
};

export interface PinnedHostKey {
  type: string;
  blob: Buffer;
  /** `SHA256:…` as `ssh-keygen -l` prints it. */
  fingerprint: string;
  /** Host key algorithms to offer, so the server presents the pinned key and not another of its keys. */
  algorithms: string[];
}

/** Parses a pinned key; a string says what is wrong with it. */
export function parseHostKey(text: string): PinnedHostKey | string {
  // A comment after the key, if any, is left aside.
  const [type, encoded] = text.trim().split(/\s+/);
  if (!type || !encoded) return 'must be an OpenSSH public key: "<type> <base64>" (e.g. the output of ssh-keyscan)';
  const algorithms = ALGORITHMS[type];
  if (!algorithms) return `key type "${type}" is not supported (use one of: ${Object.keys(ALGORITHMS).join(', ')})`;
  const blob = Buffer.from(encoded, 'base64');
  if (blob.toString('base64') !== encoded) return 'the key is not valid base64';
  // The blob starts with its own type name (RFC 4253 §6.6): it must agree with the one written before it.
  const nameLength = blob.length >= 4 ? blob.readUInt32BE(0) : -1;
  if (nameLength < 0 || blob.length < 4 + nameLength || blob.subarray(4, 4 + nameLength).toString('latin1') !== type) {
    return `the key data is not a "${type}" key`;
  }
  return { type, blob, fingerprint: fingerprintOf(blob), algorithms: [...algorithms] };
}

export function fingerprintOf(blob: Buffer): string {
  return `SHA256:${createHash('sha256').update(blob).digest('base64').replace(/=+$/, '')}`;
}

/** Constant-time comparison of a presented key with the pinned one. */
export function matchesPinned(pinned: PinnedHostKey, presented: Buffer): boolean {
  return presented.length === pinned.blob.length && timingSafeEqual(presented, pinned.blob);
}
