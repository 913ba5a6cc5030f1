/**
 * Stored credentials in `<dataDir>/credentials.json` (mode 0600): each value sealed with
 * AES-256-GCM under the key ring's current key. Setting a value makes a new version;
 * `reencrypt()` moves every record onto the current key (key rotation). Values are only ever
 * decrypted into memory for a run; listing shows metadata alone.
 */
import { readFile } from 'node:fs/promises';
import { z } from 'zod';
import type { Clock } from '../../lib/clock.ts';
import { DeputyError } from '../contract/index.ts';
import { IdSchema } from '../domain.ts';
import { isMissingFile, writeFileDurably } from '../store/files.ts';
import { open, seal } from './cipher.ts';
import type { KeyRing } from './keyring.ts';

export const CREDENTIALS_FILE = 'credentials.json';

export const CredentialRecordSchema = z.object({
  id: IdSchema,
  tenant: IdSchema,
  kind: z.enum(['secret', 'pscredential']),
  username: z.string().optional(),
  ciphertext: z.string(),
  iv: z.string(),
  tag: z.string(),
  keyId: z.string(),
  version: z.number().int().min(1),
  rotatedAt: z.string(),
});
export type CredentialRecord = z.infer<typeof CredentialRecordSchema>;
const FileSchema = z.object({ format: z.literal(1), credentials: z.array(CredentialRecordSchema) });

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

export class CredentialVault {
  private writing: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly path: string,
    private readonly keys: KeyRing,
    private readonly clock: Clock,
  ) {}

  /** Metadata of every credential, never a value. */
  async list(): Promise<CredentialMetadata[]> {
    return (await this.read()).map(({ ciphertext: _c, iv: _i, tag: _t, ...metadata }) => metadata);
  }

  async reveal(id: string): Promise<RevealedCredential | undefined> {
    const record = (await this.read()).find((candidate) => candidate.id === id);
    if (!record) return undefined;
    const key = this.keys.get(record.keyId);
    if (!key) throw new DeputyError('DEPUTY_E_INTERNAL', { message: 'A stored credential could not be decrypted.', detail: `credential ${id} is sealed under key ${record.keyId}, which is not in the key ring` });
    const { ciphertext: _c, iv: _i, tag: _t, ...metadata } = record;
    return { ...metadata, value: open(key.key, record, context(record)) };
  }

  /** Stores a new value (a new version); returns the record's metadata. */
  set(input: SetCredential): Promise<CredentialMetadata> {
    return this.exclusive(async () => {
      if (input.value.length === 0) throw new DeputyError('DEPUTY_E_BAD_REQUEST', { message: 'A credential value cannot be empty.' });
      const records = await this.read();
      const previous = records.find((candidate) => candidate.id === input.id);
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
      await this.write([...records.filter((candidate) => candidate.id !== input.id), record]);
      const { ciphertext: _c, iv: _i, tag: _t, ...metadata } = record;
      return metadata;
    });
  }

  /** Re-encrypts every record not under the current key; returns how many moved. */
  reencrypt(): Promise<number> {
    return this.exclusive(async () => {
      const records = await this.read();
      let moved = 0;
      const next = records.map((record) => {
        if (record.keyId === this.keys.current.id) return record;
        const key = this.keys.get(record.keyId);
        if (!key) throw new DeputyError('DEPUTY_E_CONFIG_INVALID', { message: `Credential ${record.id} is sealed under a key that is not configured (${record.keyId}); keep the old key in the ring until every credential is re-encrypted.` });
        moved++;
        const value = open(key.key, record, context(record));
        return { ...record, keyId: this.keys.current.id, ...seal(this.keys.current.key, value, context(record)) };
      });
      if (moved > 0) await this.write(next);
      return moved;
    });
  }

  private async read(): Promise<CredentialRecord[]> {
    let text: string;
    try {
      text = await readFile(this.path, 'utf8');
    } catch (error) {
      if (isMissingFile(error)) return [];
      throw error;
    }
    const parsed = FileSchema.safeParse(JSON.parse(text));
    if (!parsed.success) throw new DeputyError('DEPUTY_E_INTERNAL', { message: `The credential file ${this.path} is damaged.`, detail: parsed.error.message });
    return parsed.data.credentials;
  }

  private write(records: CredentialRecord[]): Promise<void> {
    return writeFileDurably(this.path, `${JSON.stringify({ format: 1, credentials: records }, null, 2)}\n`);
  }

  private exclusive<T>(work: () => Promise<T>): Promise<T> {
    const next = this.writing.then(work, work);
    this.writing = next.catch(() => undefined);
    return next;
  }
}

/** What a ciphertext is bound to: moving it to another credential, version or user breaks it. */
function context(record: Pick<CredentialRecord, 'tenant' | 'id' | 'version' | 'kind' | 'username'>): string {
  return JSON.stringify(['deputy-credential/1', record.tenant, record.id, record.version, record.kind, record.username ?? null]);
}
