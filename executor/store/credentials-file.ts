/**
 * Sealed credentials in `<dataDir>/credentials.json` (mode 0600):
 * `{ "format": 1, "credentials": [ … ] }`, each record ciphertext, IV, tag and key id only
 * (executor/credentials/vault.ts seals and opens them). Read on every call, rewritten whole and
 * atomically on every change; changes within the process take turns, so a compare-and-set
 * compares against what is on disk.
 */
import { readFile } from 'node:fs/promises';
import { z } from 'zod';
import { DeputyError } from '../contract/index.ts';
import { CredentialRecordSchema, type CredentialRecord } from '../credentials/record.ts';
import { isMissingFile, writeFileDurably } from './files.ts';
import type { CredentialRecords } from './state-port.ts';

const FileSchema = z.object({ format: z.literal(1), credentials: z.array(CredentialRecordSchema) });

export class FileCredentialRecords implements CredentialRecords {
  private writing: Promise<unknown> = Promise.resolve();

  constructor(private readonly path: string) {}

  /** By id. */
  async list(): Promise<CredentialRecord[]> {
    return (await this.read()).sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }

  async get(id: string): Promise<CredentialRecord | undefined> {
    return (await this.read()).find((record) => record.id === id);
  }

  compareAndSet(record: CredentialRecord, expected: { version: number; keyId: string } | undefined): Promise<boolean> {
    const change = this.writing.then(async () => {
      const records = await this.read();
      const stored = records.find((candidate) => candidate.id === record.id);
      const matches = expected === undefined ? stored === undefined : stored?.version === expected.version && stored.keyId === expected.keyId;
      if (!matches) return false;
      const next = stored ? records.map((candidate) => (candidate.id === record.id ? record : candidate)) : [...records, record];
      await writeFileDurably(this.path, `${JSON.stringify({ format: 1, credentials: next }, null, 2)}\n`);
      return true;
    });
    this.writing = change.catch(() => undefined);
    return change;
  }

  private async read(): Promise<CredentialRecord[]> {
    let text: string;
    try {
      text = await readFile(this.path, 'utf8');
    } catch (error) {
      if (isMissingFile(error)) return [];
      throw error;
    }
    let raw: unknown;
    try {
      raw = JSON.parse(text);
    } catch (error) {
      throw new DeputyError('DEPUTY_E_INTERNAL', { message: `The credential file ${this.path} is damaged.`, detail: 'not valid JSON', cause: error });
    }
    const parsed = FileSchema.safeParse(raw);
    if (!parsed.success) throw new DeputyError('DEPUTY_E_INTERNAL', { message: `The credential file ${this.path} is damaged.`, detail: parsed.error.message });
    return parsed.data.credentials;
  }
}
