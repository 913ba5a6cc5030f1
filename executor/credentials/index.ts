/** Stored credentials: the vault, its key ring, and the runner decorator that fills bound parameters. */
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { Clock } from '../../lib/clock.ts';
import type { CredentialRecords } from '../store/state-port.ts';
import { loadKeyRing, type KeyRing } from './keyring.ts';
import { CREDENTIALS_FILE, CredentialVault } from './vault.ts';

export { withStoredCredentials } from './runner.ts';
export { CredentialVault, CREDENTIALS_FILE } from './vault.ts';
export { KEY_FILE, loadKeyRing } from './keyring.ts';

/**
 * Opens the vault with the configured key ring and moves every credential onto the current
 * key, so that after a key rotation one start-up is all it takes before the old key can go.
 */
export async function openCredentialVault(options: {
  dataDir: string;
  keys: readonly string[] | KeyRing | undefined;
  /** Where the sealed records live (PostgreSQL); absent: the credentials file in the data folder. */
  records?: CredentialRecords | undefined;
  clock: Clock;
  logger: Logger;
}): Promise<CredentialVault> {
  const keys = options.keys === undefined || Array.isArray(options.keys) ? loadKeyRing({ keys: options.keys as readonly string[] | undefined, dataDir: options.dataDir }) : (options.keys as KeyRing);
  const vault = new CredentialVault(options.records ?? join(options.dataDir, CREDENTIALS_FILE), keys, options.clock);
  const moved = await vault.reencrypt();
  if (moved > 0) options.logger.info({ moved }, 'stored credentials re-encrypted under the current key');
  return vault;
}
