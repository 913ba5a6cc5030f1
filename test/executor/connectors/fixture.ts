/** The automation test catalog, copied to a temp folder with a fresh connector key (0600) and the callback URL filled in. */
import { randomBytes } from 'node:crypto';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PROJECT_ROOT } from '../../../executor/pwsh/locate.ts';
import { signPayload } from '../../../executor/connectors/signature.ts';
import type { Clock } from '../../../lib/clock.ts';
import type { TestExecutor } from '../../helpers/executor.ts';

export const AUTOMATION_CATALOG = join(PROJECT_ROOT, 'test', 'fixtures', 'automation');

export interface AutomationCatalog {
  folder: string;
  hookKey: string;
  cleanup(): void;
}

export function prepareAutomationCatalog(options: { callbackUrl?: string } = {}): AutomationCatalog {
  const folder = mkdtempSync(join(tmpdir(), 'deputy-automation-'));
  cpSync(AUTOMATION_CATALOG, folder, { recursive: true });
  const hookKey = randomBytes(32).toString('hex');
  writeFileSync(join(folder, 'hook.key'), `${hookKey}\n`, { mode: 0o600 });
  const catalog = join(folder, 'catalog.yaml');
  writeFileSync(catalog, readFileSync(catalog, 'utf8').replaceAll('{{CALLBACK_URL}}', options.callbackUrl ?? 'http://127.0.0.1:9/unused'));
  return { folder, hookKey, cleanup: () => rmSync(folder, { recursive: true, force: true }) };
}

export interface HookCall {
  body?: string;
  key?: string;
  /** The signature's time; defaults to the clock's now. */
  signedAt?: number;
  /** Sign these bytes instead of the body (a tampered request). */
  signedBody?: string;
  idempotencyKey?: string;
  signature?: string | null;
}

/** POSTs a hook the way a sender would: signature over `<t>.<raw body>`. */
export function postHook(executor: TestExecutor, clock: Clock, key: string, connectorId: string, payload: unknown, call: HookCall = {}): Promise<Response> {
  const body = call.body ?? JSON.stringify(payload);
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (call.signature !== null) headers['x-deputy-signature'] = call.signature ?? signPayload(call.key ?? key, call.signedBody ?? body, call.signedAt ?? clock.now());
  if (call.idempotencyKey !== undefined) headers['idempotency-key'] = call.idempotencyKey;
  return fetch(`${executor.url}/v1/hooks/${connectorId}`, { method: 'POST', headers, body });
}
