/**
 * `once` over the IdempotencyRecords port (files or PostgreSQL): a request with an
 * `Idempotency-Key` starts its work at most once per scope and key, on whichever executor it
 * arrives. A repeat gets the first answer; a repeat arriving while the first is still being
 * worked on (here or on another executor) waits for it; the same key with another body is 409.
 */
import { createHash } from 'node:crypto';
import { assertSameBody, IDEMPOTENCY_TTL_MS, type IdempotentAnswer } from '../connectors/idempotency.ts';
import type { IdempotencyRecords } from '../store/state-port.ts';
import type { IdempotentOnce } from './service.ts';

export interface ClaimTiming {
  /** A claim whose holder never completed nor released it (its executor died) lapses after this. */
  claimTtlMs: number;
  /** While its holder works, its claim is renewed this often, so it lapses only once the holder is gone. */
  renewEveryMs: number;
}

const CLAIM_TIMING: ClaimTiming = { claimTtlMs: 30_000, renewEveryMs: 10_000 };
const WAIT_MS = 25;

export class IdempotencyOnce implements IdempotentOnce {
  constructor(
    private readonly records: IdempotencyRecords,
    private readonly timing: ClaimTiming = CLAIM_TIMING,
  ) {}

  async once(scope: string, key: string, body: string, start: () => Promise<IdempotentAnswer>): Promise<{ answer: IdempotentAnswer; replay: boolean }> {
    const bodyHash = createHash('sha256').update(body).digest('hex');
    for (;;) {
      const { claimTtlMs, renewEveryMs } = this.timing;
      const claim = await this.records.claim({ scope, key, bodyHash, claimTtlMs });
      if (claim.kind === 'owner') {
        // A start can outlast a claim (a slow query checking the inputs): a lapsed claim would let a repeat start it twice.
        // A renewal that cannot be stored leaves the claim to lapse as it would have; the start goes on.
        const renewal = setInterval(() => void this.records.renew({ scope, key, claimTtlMs }).catch(() => undefined), renewEveryMs);
        renewal.unref();
        let answer: IdempotentAnswer;
        try {
          answer = await start();
        } catch (error) {
          // A refused request is not remembered: a corrected one may be sent under the same key.
          await this.records.release(scope, key);
          throw error;
        } finally {
          clearInterval(renewal);
        }
        await this.records.complete({ scope, key, answer, ttlMs: IDEMPOTENCY_TTL_MS });
        return { answer, replay: false };
      }
      assertSameBody(claim.bodyHash, bodyHash);
      if (claim.kind === 'answered') return { answer: claim.answer, replay: true };
      await new Promise((resolve) => setTimeout(resolve, WAIT_MS));
    }
  }
}
