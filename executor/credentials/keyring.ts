/**
 * The keys that encrypt stored credentials: `DEPUTY_SECRET_KEY` (base64 of 32 bytes; while
 * rotating, `new,old`), or else `<dataDir>/secret.key`, created with mode 0600 on first start
 * (one base64 key per line, the first one current). Every key but the first only decrypts.
 */
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DeputyError } from '../contract/index.ts';

export const KEY_FILE = 'secret.key';
export const KEY_BYTES = 32;

export interface DataKey {
  /** A short fingerprint stored with each record (never the key). */
  id: string;
  key: Buffer;
}

export class KeyRing {
  readonly current: DataKey;
  private readonly byId: Map<string, DataKey>;

  constructor(keys: readonly Buffer[]) {
    if (keys.length === 0) throw new DeputyError('DEPUTY_E_CONFIG_INVALID', { message: 'No key to encrypt stored credentials with.' });
    const dataKeys = keys.map((key) => ({ id: fingerprint(key), key }));
    this.current = dataKeys[0] as DataKey;
    this.byId = new Map(dataKeys.map((key) => [key.id, key]));
  }

  get(id: string): DataKey | undefined {
    return this.byId.get(id);
  }

  /** Every key, the current one first. */
  all(): Buffer[] {
    return [...this.byId.values()].map((entry) => entry.key);
  }
}

export function fingerprint(key: Buffer): string {
  return createHash('sha256').update('deputy-credential-key').update(key).digest('hex').slice(0, 16);
}

/** Decodes one base64 key; throws naming `source` when it is not 32 bytes. */
export function decodeKey(text: string, source: string): Buffer {
  const key = Buffer.from(text.trim(), 'base64');
  if (key.length !== KEY_BYTES || key.toString('base64') !== text.trim()) {
    throw new DeputyError('DEPUTY_E_CONFIG_INVALID', { message: `${source}: each key must be the base64 encoding of exactly ${KEY_BYTES} bytes` });
  }
  return key;
}

export function newKeyText(): string {
  return randomBytes(KEY_BYTES).toString('base64');
}

/** The ring from the environment's keys when given, else from the key file (created when missing). */
export function loadKeyRing(options: { keys?: readonly string[] | undefined; dataDir: string }): KeyRing {
  if (options.keys && options.keys.length > 0) return new KeyRing(options.keys.map((text) => decodeKey(text, 'DEPUTY_SECRET_KEY')));
  const path = join(options.dataDir, KEY_FILE);
  try {
    writeFileSync(path, `${newKeyText()}\n`, { flag: 'wx', mode: 0o600 });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  }
  return readKeyFile(path);
}

export function readKeyFile(path: string): KeyRing {
  const { mode } = statSync(path);
  if ((mode & 0o077) !== 0) {
    throw new DeputyError('DEPUTY_E_CONFIG_INVALID', { message: `${path} is readable by other users (mode ${(mode & 0o777).toString(8)}); chmod 600 it.` });
  }
  const lines = readFileSync(path, 'utf8').split('\n').filter((line) => line.trim() !== '');
  return new KeyRing(lines.map((line) => decodeKey(line, path)));
}
