/**
 * `Idempotency-Key` for hooks: a repeat within 24 hours returns the first run and starts
 * nothing. Remembered in an append-only JSON-lines file in the data folder so a restart
 * forgets nothing; on opening, expired lines are dropped and the file rewritten. Concurrent
 * repeats wait for the first request's answer instead of racing it.
 */
import { createHash } from 'node:crypto';
import { z } from 'zod';
import type { Clock } from '../../lib/clock.ts';
import { DeputyError } from '../contract/index.ts';
import { ExpiringLog } from '../store/expiring-log.ts';

export const IDEMPOTENCY_TTL_MS = 24 * 60 * 60_000;
export const IDEMPOTENCY_KEY_PATTERN = /^[\x21-\x7e]{1,200}$/;

const EntrySchema = z.object({
  connector: z.string(),
  key: z.string(),
  /** SHA-256 of the raw body: the same key with another body is a client error, not a repeat. */
  bodyHash: z.string(),
  runId: z.string(),
  state: z.string(),
  correlationId: z.string(),
  at: z.number(),
});
export type IdempotentAnswer = Pick<z.infer<typeof EntrySchema>, 'runId' | 'state' | 'correlationId'>;
type Entry = z.infer<typeof EntrySchema>;

export class IdempotencyStore {
  private readonly entries = new Map<string, Entry>();
  private readonly inFlight = new Map<string, { bodyHash: string; answer: Promise<IdempotentAnswer> }>();

  private constructor(
    private readonly log: ExpiringLog<Entry>,
    private readonly clock: Clock,
  ) {}

  static async open(path: string, clock: Clock): Promise<IdempotencyStore> {
    const { log, entries } = await ExpiringLog.open(path, EntrySchema, (entry) => isLiveAt(entry, clock.now()));
    const store = new IdempotencyStore(log, clock);
    for (const entry of entries) store.entries.set(keyOf(entry.connector, entry.key), entry);
    return store;
  }

  /**
   * The first answer for this key, or `start()`'s answer when the key is new. `start` runs at
   * most once per key at a time; its failure is not remembered (the client may retry).
   */
  async once(connector: string, key: string, body: string, start: () => Promise<IdempotentAnswer>): Promise<{ answer: IdempotentAnswer; replay: boolean }> {
    const id = keyOf(connector, key);
    const bodyHash = createHash('sha256').update(body).digest('hex');
    const known = this.entries.get(id);
    if (known && this.isLive(known)) {
      assertSameBody(known.bodyHash, bodyHash);
      return { answer: pick(known), replay: true };
    }
    const running = this.inFlight.get(id);
    if (running) {
      assertSameBody(running.bodyHash, bodyHash);
      return { answer: await running.answer, replay: true };
    }
    const answer = (async () => {
      const result = await start();
      const entry: Entry = { connector, key, bodyHash, ...result, at: this.clock.now() };
      this.entries.set(id, entry);
      await this.log.append(entry);
      return result;
    })();
    this.inFlight.set(id, { bodyHash, answer });
    try {
      return { answer: await answer, replay: false };
    } finally {
      this.inFlight.delete(id);
    }
  }

  settled(): Promise<void> {
    return this.log.settled();
  }

  private isLive(entry: Entry): boolean {
    return isLiveAt(entry, this.clock.now());
  }

}

function isLiveAt(entry: Entry, now: number): boolean {
  return now - entry.at < IDEMPOTENCY_TTL_MS;
}

function keyOf(connector: string, key: string): string {
  return `${connector}\u0000${key}`;
}

function pick(entry: Entry): IdempotentAnswer {
  return { runId: entry.runId, state: entry.state, correlationId: entry.correlationId };
}

export function assertSameBody(first: string, now: string): void {
  if (first !== now) {
    throw new DeputyError('DEPUTY_E_CONFLICT', { message: 'This Idempotency-Key was already used with a different payload.', detail: 'idempotency key reused with another body' });
  }
}
