/**
 * `deputy credential …`: set a stored credential's value (read from stdin, never from the
 * command line, where `ps` and shell history would see it), list credentials (metadata only),
 * and rotate the key file's key. It takes the data folder's lock like `deputy import`: stop
 * the executor first (its runs read the file fresh, so the new value applies at once after).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { systemClock } from '../../lib/clock.ts';
import { newCorrelationId } from '../../lib/ids.ts';
import { createLogger } from '../../lib/logger.ts';
import { loadExecutorConfig } from '../config.ts';
import { isDeputyError } from '../contract/index.ts';
import { acquireDataLock } from '../data-lock.ts';
import { IdSchema } from '../domain.ts';
import { auditCheckpointOf } from '../store/audit-checkpoint.ts';
import { createFileStore } from '../store/file.ts';
import { decodeKey, KEY_FILE, KeyRing, loadKeyRing, newKeyText, readKeyFile } from './keyring.ts';
import { CREDENTIALS_FILE, CredentialVault } from './vault.ts';

export const CREDENTIAL_USAGE = `Usage:
  deputy credential set <id> [--tenant <tenant>] [--username <user>]   value read from stdin
  deputy credential list
  deputy credential rotate-key                                          new key in <dataDir>/secret.key, everything re-encrypted`;

export interface CredentialCliIo {
  out(line: string): void;
  err(line: string): void;
  /** The value for `set`; one trailing line break is dropped. */
  stdin: AsyncIterable<string | Buffer>;
}

/** `args` are the words after `deputy credential`; returns the exit code. */
export async function credentialCommand(args: string[], env: NodeJS.ProcessEnv, io: CredentialCliIo): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({ args, allowPositionals: true, options: { tenant: { type: 'string' }, username: { type: 'string' } } });
  } catch (error) {
    io.err(`deputy credential: ${(error as Error).message}\n${CREDENTIAL_USAGE}`);
    return 2;
  }
  const [verb, id, ...extra] = parsed.positionals;
  if (!verb || !['set', 'list', 'rotate-key'].includes(verb) || extra.length > 0 || (verb === 'set') !== (id !== undefined)) {
    io.err(CREDENTIAL_USAGE);
    return 2;
  }
  const config = loadExecutorConfig(env);
  mkdirSync(config.dataDir, { recursive: true, mode: 0o700 });
  const lock = acquireDataLock(config.dataDir);
  const logger = createLogger({ level: 'warn', name: 'credential' });
  const store = await createFileStore({ dataDir: config.dataDir, clock: systemClock, logger, auditCheckpoint: auditCheckpointOf(config) });
  try {
    const audit = (type: string, subject: string, detail: Record<string, unknown>) =>
      store.audit.append({ type, outcome: 'info', correlationId: newCorrelationId(), actor: 'cli', via: 'cli', subject, detail });
    const path = join(config.dataDir, CREDENTIALS_FILE);

    if (verb === 'rotate-key') {
      if (config.secretKeys) {
        io.err('deputy credential rotate-key: the keys come from DEPUTY_SECRET_KEY; set it to "<new>,<old>", start the executor once (it re-encrypts), then drop <old>.');
        return 1;
      }
      const keyFile = join(config.dataDir, KEY_FILE);
      const old = loadKeyRing({ dataDir: config.dataDir, keys: undefined });
      const fresh = newKeyText();
      const oldLines = [...old.all()].map((key) => key.toString('base64'));
      // Both keys first, so a crash half-way leaves every record readable; then the new key alone.
      writeFileSync(keyFile, `${[fresh, ...oldLines].join('\n')}\n`, { mode: 0o600 });
      const moved = await new CredentialVault(path, readKeyFile(keyFile), systemClock).reencrypt();
      writeFileSync(keyFile, `${fresh}\n`, { mode: 0o600 });
      await audit('credential.rotate-key', 'secret.key', { moved, keyId: new KeyRing([decodeKey(fresh, keyFile)]).current.id });
      io.out(`New key in ${keyFile}; ${moved} credential(s) re-encrypted.`);
      return 0;
    }

    const vault = new CredentialVault(path, loadKeyRing({ dataDir: config.dataDir, keys: config.secretKeys }), systemClock);
    if (verb === 'list') {
      for (const item of await vault.list()) io.out(`${item.id}\t${item.tenant}\t${item.kind}\tversion ${item.version}\t${item.rotatedAt}${item.username ? `\tuser ${item.username}` : ''}`);
      return 0;
    }

    const credentialId = IdSchema.safeParse(id);
    if (!credentialId.success) {
      io.err(`deputy credential set: "${id}" is not a valid id`);
      return 2;
    }
    const declared = store.catalog.snapshot().credentials?.find((candidate) => candidate.id === credentialId.data);
    const tenant = parsed.values.tenant ?? declared?.tenant;
    if (!tenant || (declared && declared.tenant !== tenant)) {
      io.err(declared ? `deputy credential set: ${declared.id} is declared for tenant ${declared.tenant}` : `deputy credential set: ${credentialId.data} is not in the catalog; name its --tenant`);
      return 2;
    }
    const kind = declared?.kind ?? (parsed.values.username !== undefined ? 'pscredential' : 'secret');
    if (kind === 'pscredential' && parsed.values.username === undefined) {
      io.err(`deputy credential set: ${credentialId.data} is a PSCredential; give --username`);
      return 2;
    }
    const value = (await readAll(io.stdin)).replace(/\r?\n$/, '');
    const saved = await vault.set({ id: credentialId.data, tenant, kind, value, ...(parsed.values.username !== undefined ? { username: parsed.values.username } : {}) });
    await audit('credential.set', saved.id, { tenant: saved.tenant, kind: saved.kind, version: saved.version, keyId: saved.keyId });
    io.out(`Credential ${saved.id} (${saved.tenant}) set: version ${saved.version}.`);
    return 0;
  } catch (error) {
    io.err(`deputy credential: ${isDeputyError(error) ? error.message : (error as Error).message}`);
    return 1;
  } finally {
    await store.close();
    lock.release();
  }
}

async function readAll(stream: AsyncIterable<string | Buffer>): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
  return Buffer.concat(chunks).toString('utf8');
}
