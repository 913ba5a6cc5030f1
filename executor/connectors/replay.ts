/**
 * A signed hook is accepted once. The signature's 5-minute window alone let a captured request
 * start a new run on every replay within it (with no `Idempotency-Key`, or a fresh one each
 * time: the key is not signed). So every accepted signature is remembered until its window
 * closes, in an expiring JSON-lines file in the data folder, so that a restart forgets none.
 *
 * A repeat is a replay, and refused, unless it carries the same `Idempotency-Key` as the first:
 * that is a sender retrying, and the idempotency store answers it with the first run.
 *
 * Signatures whose window closed count as absent; `prune` (the executor's prune duty,
 * executor/store/prune-job.ts) forgets them and compacts the file.
 */
import { z } from 'zod';
import type { Clock } from '../../lib/clock.ts';
import { ExpiringLog } from '../store/expiring-log.ts';

const EntrySchema = z.object({
  connector: z.string(),
  /** The HMAC this executor computed for the request. */
  digest: z.string(),
  idempotencyKey: z.string().optional(),
  /** When the signature's window closes (ms). */
  expiresAt: z.number(),
});
type Entry = z.infer<typeof EntrySchema>;

/** `first`: never seen; `retry`: seen with the same Idempotency-Key; `replay`: refuse it. */
export type SignatureClaim = 'first' | 'retry' | 'replay';

export class SignatureLedger {
  private readonly seen = new Map<string, { entry: Entry; durable: Promise<void> }>();

  private constructor(
    private readonly log: ExpiringLog<Entry>,
    private readonly clock: Clock,
  ) {}

  static async open(path: string, clock: Clock): Promise<SignatureLedger> {
    const { log, entries } = await ExpiringLog.open(path, EntrySchema, (entry) => entry.expiresAt >= clock.now());
    const ledger = new SignatureLedger(log, clock);
    for (const entry of entries) ledger.seen.set(keyOf(entry.connector, entry.digest), { entry, durable: Promise.resolve() });
    return ledger;
  }

  /**
   * Records an accepted signature. Decided at once (two copies racing cannot both be `first`);
   * resolves once the record is in the file.
   */
  async claim(connector: string, digest: string, idempotencyKey: string | undefined, expiresAt: number): Promise<SignatureClaim> {
    const key = keyOf(connector, digest);
    const known = this.seen.get(key);
    if (known && known.entry.expiresAt >= this.clock.now()) {
      if (idempotencyKey === undefined || known.entry.idempotencyKey !== idempotencyKey) return 'replay';
      await known.durable;
      return 'retry';
    }
    const entry: Entry = { connector, digest, ...(idempotencyKey === undefined ? {} : { idempotencyKey }), expiresAt };
    const durable = this.log.append(entry);
    this.seen.set(key, { entry, durable: durable.catch(() => undefined) });
    await durable;
    return 'first';
  }

  settled(): Promise<void> {
    return this.log.settled();
  }

  /** Forgets the signatures whose window closed and compacts the file to the rest; returns how many it forgot. */
  async prune(): Promise<number> {
    const now = this.clock.now();
    let dropped = 0;
    for (const [key, { entry }] of this.seen) {
      if (entry.expiresAt >= now) continue;
      this.seen.delete(key);
      dropped += 1;
    }
    await this.log.compact([...this.seen.values()].map(({ entry }) => entry));
    return dropped;
  }
}

function keyOf(connector: string, digest: string): string {
  return `${connector}\u0000${digest}`;
}
