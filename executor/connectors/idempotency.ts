/**
 * `Idempotency-Key` rules shared by hooks and `POST /v1/runs`: a repeat within 24 hours returns
 * the first run and starts nothing. The records live behind the IdempotencyRecords port (files or
 * PostgreSQL) and `IdempotencyOnce` (executor/runs/idempotency.ts) applies them.
 */
import { DeputyError } from '../contract/index.ts';

export type { IdempotentAnswer } from '../store/state-port.ts';

export const IDEMPOTENCY_TTL_MS = 24 * 60 * 60_000;
export const IDEMPOTENCY_KEY_PATTERN = /^[\x21-\x7e]{1,200}$/;

/** The same key with another body (its SHA-256) is a client error, not a repeat. */
export function assertSameBody(first: string, now: string): void {
  if (first !== now) {
    throw new DeputyError('DEPUTY_E_CONFLICT', { message: 'This Idempotency-Key was already used with a different payload.', detail: 'idempotency key reused with another body' });
  }
}
