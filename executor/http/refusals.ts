/**
 * Refused HTTP requests in the audit: every refusal the API decides before a route's own code
 * runs (wrong host, no or wrong token, a body it will not read, a principal the caller may not
 * act for) is an `http.refused` entry. Every field is bounded, and one source can write at
 * most `perMinute` of them a minute: beyond that, refusals are only counted, and the count
 * goes into that source's next entry. Anyone who can reach the port can be refused, so the
 * audit must not grow at their pace.
 */
import type { Clock } from '../../lib/clock.ts';
import type { ErrorCode } from '../contract/index.ts';
import type { AuditLog } from '../store/port.ts';

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

interface SourceWindow {
  startedAt: number;
  written: number;
  suppressed: number;
}

const WINDOW_MS = 60_000;
/** Sources remembered at most; beyond, the oldest windows are dropped (their counts were only a courtesy). */
const MAX_SOURCES = 10_000;
const FIELD_LIMIT = 200;

export const bounded = (value: string, limit = FIELD_LIMIT): string => (value.length > limit ? `${value.slice(0, limit)}…` : value);

export class RefusalAudit {
  private readonly windows = new Map<string, SourceWindow>();

  constructor(
    private readonly audit: AuditLog,
    private readonly clock: Clock,
    private readonly perMinute = 60,
  ) {}

  async record(refusal: Refusal): Promise<void> {
    const source = refusal.source ?? 'unknown';
    const window = this.windowFor(source);
    if (window.written >= this.perMinute) {
      window.suppressed += 1;
      return;
    }
    window.written += 1;
    const suppressed = window.suppressed;
    window.suppressed = 0;
    await this.audit.append({
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
        ...(suppressed > 0 ? { notAuditedBefore: suppressed } : {}),
      },
    });
  }

  private windowFor(source: string): SourceWindow {
    const now = this.clock.now();
    const current = this.windows.get(source);
    if (current && now - current.startedAt < WINDOW_MS) return current;
    // A new window keeps the count of what the last one could not write.
    const fresh = { startedAt: now, written: 0, suppressed: current?.suppressed ?? 0 };
    this.windows.delete(source);
    this.windows.set(source, fresh);
    if (this.windows.size > MAX_SOURCES) {
      const oldest = this.windows.keys().next().value;
      if (oldest !== undefined) this.windows.delete(oldest);
    }
    return fresh;
  }
}
