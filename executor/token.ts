/**
 * The executor's bearer tokens when configuration gives none: a file in the data folder
 * (mode 0600) made on first start. `executor-token` is the bot's; `operator-token` is the
 * operator's (reads across principals).
 */
import { randomBytes } from 'node:crypto';
import { chmodSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DeputyError } from './contract/index.ts';

export const TOKEN_FILE = 'executor-token';
export const OPERATOR_TOKEN_FILE = 'operator-token';

export function loadOrCreateToken(dataDir: string, file: string = TOKEN_FILE): string {
  const path = join(dataDir, file);
  try {
    const mode = statSync(path).mode & 0o777;
    if (mode & 0o077) chmodSync(path, 0o600);
    const token = readFileSync(path, 'utf8').trim();
    if (token.length < 32) throw new DeputyError('DEPUTY_E_CONFIG_INVALID', { message: `${path}: the token is too short` });
    return token;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  const token = randomBytes(32).toString('base64url');
  writeFileSync(path, `${token}\n`, { mode: 0o600, flag: 'wx' });
  return token;
}
