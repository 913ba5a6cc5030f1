/**
 * Stored credentials: each value sealed with AES-256-GCM under the key ring's current key, and
 * kept through the CredentialRecords port (store/state-port.ts): `<dataDir>/credentials.json`
 * on files, `deputy.credentials` on PostgreSQL; only ciphertext reaches either. Setting a value
 * makes a new version; `reencrypt()` moves every record onto the current key (key rotation).
 * Every write is a compare-and-set on the record's version and key, so two executors changing
 * one credential at once never lose a version. Values are only ever decrypted into memory for a
 * run; listing shows metadata alone.
 */
import type { Clock } from '../../lib/clock.ts';
import { DeputyError } from '../contract/index.ts';
import { FileCredentialRecords } from '../store/credentials-file.ts';
import type { CredentialRecords } from '../store/state-port.ts';
import { open, seal } from './cipher.ts';
import type { KeyRing } from './keyring.ts';

export const CREDENTIALS_FILE = 'credentials.json';

import type { CredentialRecord } from './record.ts';

export { CredentialRecordSchema, type CredentialRecord } from './record.ts';

export type CredentialMetadata = Omit<CredentialRecord, 'ciphertext' | 'iv' | 'tag'>;
export interface RevealedCredential extends CredentialMetadata {
  value: string;
}

export interface SetCredential {
  id: string;
  tenant: string;
  kind: 'secret' | 'pscredential';
  value: string;
  username?: string;
}

/** How often a write is tried again when another writer changed the record in between. */
const WRITE_ATTEMPTS = 5;

export class CredentialVault {
  private readonly records: CredentialRecords;

  /** `storage`: where the sealed records live; a path means that credentials file. */
  constructor(
    storage: CredentialRecords | string,
    private readonly keys: KeyRing,
    private readonly clock: Clock,
  ) {
    this.records = typeof storage === 'string' ? new FileCredentialRecords(storage) : storage;
  }

  /** Metadata of every credential, never a value. */
  async list(): Promise<CredentialMetadata[]> {
    return (await this.records.list()).map(({ ciphertext: _c, iv: _i, tag: _t, ...metadata }) => metadata);
  }

  async reveal(id: string): Promise<RevealedCredential | undefined> {
    const record = await this.records.get(id);
    if (!record) return undefined;
    const key = this.keys.get(record.keyId);
    if (!key) throw new DeputyError('DEPUTY_E_INTERNAL', { message: 'A stored credential could not be decrypted.', detail: `credential ${id} is sealed under key ${record.keyId}, which is not in the key ring` });
    const { ciphertext: _c, iv: _i, tag: _t, ...metadata } = record;
    return { ...metadata, value: open(key.key, record, context(record)) };
  }

  /** Stores a new value (a new version); returns the record's metadata. */
  async set(input: SetCredential): Promise<CredentialMetadata> {
    if (input.value.length === 0) throw new DeputyError('DEPUTY_E_BAD_REQUEST', { message: 'A credential value cannot be empty.' });
    for (let attempt = 0; attempt < WRITE_ATTEMPTS; attempt += 1) {
      const previous = await this.records.get(input.id);
      if (previous && previous.tenant !== input.tenant) throw new DeputyError('DEPUTY_E_CONFLICT', { message: `Credential ${input.id} belongs to tenant ${previous.tenant}.` });
      const base = {
        id: input.id,
        tenant: input.tenant,
        kind: input.kind,
        ...(input.username !== undefined ? { username: input.username } : {}),
        keyId: this.keys.current.id,
        version: (previous?.version ?? 0) + 1,
        rotatedAt: new Date(this.clock.now()).toISOString(),
      };
      const record: CredentialRecord = { ...base, ...seal(this.keys.current.key, input.value, context(base)) };
      if (await this.records.compareAndSet(record, previous && { version: previous.version, keyId: previous.keyId })) {
        const { ciphertext: _c, iv: _i, tag: _t, ...metadata } = record;
        return metadata;
      }
    }
    throw new DeputyError('DEPUTY_E_CONFLICT', { message: `Credential ${input.id} is being changed by someone else; try again.` });
  }

  /** Re-encrypts every record not under the current key; returns how many moved. */
  async reencrypt(): Promise<number> {
    let moved = 0;
    for (const record of await this.records.list()) {
      if (record.keyId === this.keys.current.id) continue;
      const key = this.keys.get(record.keyId);
      if (!key) throw new DeputyError('DEPUTY_E_CONFIG_INVALID', { message: `Credential ${record.id} is sealed under a key that is not configured (${record.keyId}); keep the old key in the ring until every credential is re-encrypted.` });
      const value = open(key.key, record, context(record));
      const next = { ...record, keyId: this.keys.current.id, ...seal(this.keys.current.key, value, context(record)) };
      // A record changed meanwhile was written under the current key by whoever changed it.
      if (await this.records.compareAndSet(next, { version: record.version, keyId: record.keyId })) moved++;
    }
    return moved;
  }
}

/** What a ciphertext is bound to: moving it to another credential, version or user breaks it. */
function context(record: Pick<CredentialRecord, 'tenant' | 'id' | 'version' | 'kind' | 'username'>): string {
  return JSON.stringify(['deputy-credential/1', record.tenant, record.id, record.version, record.kind, record.username ?? null]);
}
