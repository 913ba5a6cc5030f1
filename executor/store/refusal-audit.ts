/**
 * Refusals of requests whose sender is not known yet (no token, no valid signature, a host or
 * body the executor will not take) are audited, but a client must not be able to grow the
 * audit log at will by sending them. One throttle per executor serves every kind of refusal
 * (`http.refused`, `hook.request`), so a source has one budget whatever it sends: a token
 * bucket per source lets a burst through, then one entry every `refillMs`; refusals held back
 * are counted and written as one `audit.suppressed` entry ("N refusals suppressed") when the
 * source is audited again or on `flush()` (a timer and shutdown call it), so none goes
 * unrecorded. Time comes from the injected clock.
 */
import { isIP } from 'node:net';
import type { Clock } from '../../lib/clock.ts';
import { newCorrelationId } from '../../lib/ids.ts';
import type { AuditInput } from '../domain.ts';
import type { AuditLog } from './port.ts';

export interface RefusalThrottleOptions {
  audit: Pick<AuditLog, 'append'>;
  clock: Clock;
  /** Entries a source may write at once. */
  burst?: number;
  /** One more entry per this many milliseconds. */
  refillMs?: number;
  /** Sources tracked at once; past it, new sources share one bucket. */
  maxSources?: number;
}

interface Bucket {
  tokens: number;
  updatedAt: number;
  suppressed: number;
  firstSuppressedAt: number;
  lastSuppressedAt: number;
  /** The entry type held back (for the summary). */
  type: string;
}

const SHARED_BUCKET = 'other sources';

export class RefusalThrottle {
  private readonly buckets = new Map<string, Bucket>();
  private readonly burst: number;
  private readonly refillMs: number;
  private readonly maxSources: number;

  constructor(private readonly options: RefusalThrottleOptions) {
    this.burst = options.burst ?? 30;
    this.refillMs = options.refillMs ?? 2_000;
    this.maxSources = options.maxSources ?? 10_000;
  }

  /** Appends `entry` unless `source` has used up its bucket; true when it was written. */
  async refuse(remoteAddress: string | undefined, entry: AuditInput): Promise<boolean> {
    const source = this.sourceOf(remoteAddress);
    const bucket = this.refill(source);
    if (bucket.tokens < 1) {
      const now = this.options.clock.now();
      if (bucket.suppressed === 0) bucket.firstSuppressedAt = now;
      bucket.suppressed += 1;
      bucket.lastSuppressedAt = now;
      bucket.type = entry.type;
      return false;
    }
    bucket.tokens -= 1;
    await this.summarize(source, bucket);
    await this.options.audit.append(entry);
    return true;
  }

  /** Writes a summary for every source with suppressed refusals, and forgets idle sources. */
  async flush(): Promise<void> {
    for (const [source, bucket] of [...this.buckets]) {
      await this.summarize(source, bucket);
      if (this.refill(source).tokens >= this.burst) this.buckets.delete(source);
    }
  }

  private async summarize(source: string, bucket: Bucket): Promise<void> {
    if (bucket.suppressed === 0) return;
    const { suppressed, firstSuppressedAt, lastSuppressedAt, type } = bucket;
    bucket.suppressed = 0;
    await this.options.audit.append({
      type: 'audit.suppressed',
      outcome: 'denied',
      correlationId: newCorrelationId(),
      subject: source,
      detail: {
        source,
        of: type,
        refusals: suppressed,
        summary: `${suppressed} refusal(s) from ${source} suppressed`,
        from: new Date(firstSuppressedAt).toISOString(),
        to: new Date(lastSuppressedAt).toISOString(),
      },
    });
  }

  private refill(source: string): Bucket {
    const now = this.options.clock.now();
    let bucket = this.buckets.get(source);
    if (!bucket) {
      bucket = { tokens: this.burst, updatedAt: now, suppressed: 0, firstSuppressedAt: now, lastSuppressedAt: now, type: '' };
      this.buckets.set(source, bucket);
      return bucket;
    }
    const earned = Math.floor((now - bucket.updatedAt) / this.refillMs);
    if (earned > 0) {
      bucket.tokens = Math.min(this.burst, bucket.tokens + earned);
      bucket.updatedAt = bucket.tokens === this.burst ? now : bucket.updatedAt + earned * this.refillMs;
    }
    return bucket;
  }

  /** IPv4 peers by address; IPv6 peers by their /64, which one client usually has whole. */
  private sourceOf(remoteAddress: string | undefined): string {
    const source = sourceKey(remoteAddress);
    if (this.buckets.has(source) || this.buckets.size < this.maxSources) return source;
    return SHARED_BUCKET;
  }
}

export function sourceKey(remoteAddress: string | undefined): string {
  if (!remoteAddress) return 'unknown';
  const plain = remoteAddress.startsWith('::ffff:') && isIP(remoteAddress.slice(7)) === 4 ? remoteAddress.slice(7) : remoteAddress;
  if (isIP(plain) !== 6) return plain;
  const [head = '', tail] = (plain.split('%')[0] ?? '').split('::');
  const left = head === '' ? [] : head.split(':');
  const right = tail === undefined || tail === '' ? [] : tail.split(':');
  const groups = [...left, ...Array<string>(Math.max(0, 8 - left.length - right.length)).fill('0'), ...right];
  return `${groups.slice(0, 4).map((group) => Number.parseInt(group, 16).toString(16)).join(':')}::/64`;
}
