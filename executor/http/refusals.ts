/**
 * Refused HTTP requests in the audit: every refusal the API decides before a route's own code
 * runs (wrong host, no or wrong token, a body it will not read, a principal the caller may not
 * act for) is an `http.refused` entry. Every field is bounded, and the entries pass the
 * executor's one refusal throttle (store/refusal-audit.ts): a burst per source, then a slow
 * trickle, and a count of the rest. Anyone who can reach the port can be refused, so the
 * audit must not grow at their pace.
 */
import type { ErrorCode } from '../contract/index.ts';
import type { RefusalThrottle } from '../store/refusal-audit.ts';

export interface Refusal {
  code: ErrorCode;
  correlationId: string;
  method: string;
  /** The declared route (`/v1/runs/:id`) when the request was routed; else the path as sent. */
  route: string;
  source: string | undefined;
  reason: string | undefined;
  via?: string;
}

const FIELD_LIMIT = 200;

export const bounded = (value: string, limit = FIELD_LIMIT): string => (value.length > limit ? `${value.slice(0, limit)}…` : value);

export class RefusalAudit {
  constructor(private readonly throttle: Pick<RefusalThrottle, 'refuse'>) {}

  async record(refusal: Refusal): Promise<void> {
    const source = refusal.source ?? 'unknown';
    await this.throttle.refuse(refusal.source, {
      type: 'http.refused',
      outcome: 'denied',
      correlationId: refusal.correlationId,
      ...(refusal.via ? { via: refusal.via } : {}),
      subject: bounded(refusal.route),
      detail: {
        code: refusal.code,
        method: bounded(refusal.method, 16),
        source: bounded(source, 64),
        ...(refusal.reason ? { reason: bounded(refusal.reason) } : {}),
      },
    });
  }
}
