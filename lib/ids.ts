import { randomBytes, randomUUID } from 'node:crypto';

/** Sortable-enough unique id with a readable prefix, e.g. `run_m3k2x9_a1b2c3d4`. */
export function newId(prefix: string): string {
  return `${prefix}_${Date.now().toString(36)}_${randomBytes(5).toString('hex')}`;
}

/** Correlation ids tie a chat error card, the log line and the audit entry together. */
export function newCorrelationId(): string {
  return randomUUID();
}
