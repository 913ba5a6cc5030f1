/** A connector's HMAC key: from its environment variable, or from a file only its owner can read. */
import { readFileSync, statSync } from 'node:fs';
import type { Connector } from '../domain.ts';

export type KeyLookup = { ok: true; key: Buffer } | { ok: false; reason: string };

const MIN_KEY_BYTES = 16;

export function connectorKey(connector: Connector, env: NodeJS.ProcessEnv): KeyLookup {
  let text: string | undefined;
  if (connector.secretEnv !== undefined) {
    text = env[connector.secretEnv];
    if (!text) return { ok: false, reason: `environment variable ${connector.secretEnv} is not set` };
  } else if (connector.secretFile !== undefined) {
    try {
      const { mode } = statSync(connector.secretFile);
      if ((mode & 0o077) !== 0) return { ok: false, reason: `${connector.secretFile} is readable by others (mode ${(mode & 0o777).toString(8)}); chmod 600 it` };
      text = readFileSync(connector.secretFile, 'utf8');
    } catch (error) {
      return { ok: false, reason: `${connector.secretFile} cannot be read (${(error as NodeJS.ErrnoException).code ?? 'error'})` };
    }
  }
  const key = Buffer.from((text ?? '').trim(), 'utf8');
  if (key.length < MIN_KEY_BYTES) return { ok: false, reason: `the key is shorter than ${MIN_KEY_BYTES} bytes` };
  return { ok: true, key };
}
