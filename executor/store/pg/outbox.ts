/**
 * The event outbox in `deputy.outbox`: every executor's run, plan and script events under one
 * global sequence, delivered to every executor's subscribers through LISTEN/NOTIFY.
 *
 * Numbers are handed out by locking the one row of `deputy.outbox_head` in the publishing
 * transaction, so they are given in commit order: a reader that has seen seq N and reads
 * `seq > N` can never later find a smaller number committed behind it (with a plain sequence,
 * a slow transaction holding N+1 would commit after N+2 had been read, and N+1 would be lost).
 * A NOTIFY only says "read again"; each executor reads the rows after the last seq it delivered,
 * so a notification lost while its connection was down costs nothing (the reconnect reads too).
 */
import type { Logger } from '../../../lib/logger.ts';
import type { Notifications } from '../../../lib/postgres/notifications.ts';
import { inTransaction, type Pool } from '../../../lib/postgres/pool.ts';
import type { EventInput, EventStream } from '../../event-stream.ts';
import type { ExecutorEvent } from '../../events.ts';
import { storeFailure, TransactionBatches } from './batches.ts';

export const EVENTS_CHANNEL = 'deputy_events';
/** Rows read per query while catching up. */
const PAGE = 500;

interface Row {
  seq: string;
  event: Omit<ExecutorEvent, 'seq'>;
}

const toEvent = (row: Row) => ({ ...row.event, seq: Number(row.seq) }) as ExecutorEvent;

export class PgOutbox implements EventStream {
  private readonly batches: TransactionBatches<EventInput, ExecutorEvent>;
  private readonly listeners = new Set<(event: ExecutorEvent) => void>();
  /** The last seq delivered to this process's subscribers. */
  private delivered: number;
  private reading: Promise<void> | undefined;
  private readAgain = false;
  private stopListening: (() => void) | undefined;
  private closed = false;

  private constructor(
    private readonly pool: Pool,
    private readonly logger: Logger,
    head: number,
  ) {
    this.delivered = head;
    this.batches = new TransactionBatches((batch) => this.write(batch), 'publishing events');
  }

  /** Subscribers see what is published from now on; `since` reaches back as far as the kept rows. */
  static async open(pool: Pool, notifications: Notifications, logger: Logger): Promise<PgOutbox> {
    const { rows } = await pool.query<{ seq: string }>('SELECT seq FROM deputy.outbox_head');
    const outbox = new PgOutbox(pool, logger, Number(rows[0]?.seq ?? 0));
    outbox.stopListening = await notifications.listen(EVENTS_CHANNEL, { notify: () => outbox.catchUp(), resync: () => outbox.catchUp() });
    return outbox;
  }

  publish(input: EventInput): Promise<ExecutorEvent> {
    return this.batches.submit(input);
  }

  async since(afterSeq: number, limit = 1000): Promise<ExecutorEvent[]> {
    try {
      const { rows } = await this.pool.query<Row>('SELECT seq, event FROM deputy.outbox WHERE seq > $1 ORDER BY seq LIMIT $2', [afterSeq, limit]);
      return rows.map(toEvent);
    } catch (error) {
      throw storeFailure('reading events', error);
    }
  }

  subscribe(listener: (event: ExecutorEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Drops events older than `before` (epoch ms); returns how many. Clients resuming from before then miss them. */
  async prune(before: number): Promise<number> {
    const { rowCount } = await this.pool.query('DELETE FROM deputy.outbox WHERE created_at < $1', [new Date(before)]);
    return rowCount ?? 0;
  }

  async close(): Promise<void> {
    this.closed = true;
    this.stopListening?.();
    await this.batches.close();
    await this.reading;
  }

  private write(batch: EventInput[]): Promise<ExecutorEvent[]> {
    return inTransaction(this.pool, async (client) => {
      // The head row stays locked until commit: numbers are given in commit order.
      const { rows } = await client.query<{ seq: string }>('UPDATE deputy.outbox_head SET seq = seq + $1 RETURNING seq', [batch.length]);
      const last = Number(rows[0]?.seq);
      const first = last - batch.length + 1;
      const events = batch.map((input, index) => ({ ...input, seq: first + index }) as ExecutorEvent);
      await client.query('INSERT INTO deputy.outbox (seq, event) SELECT * FROM unnest($1::bigint[], $2::json[])', [
        events.map((event) => event.seq),
        batch.map((input) => JSON.stringify(input)),
      ]);
      await client.query('SELECT pg_notify($1, $2)', [EVENTS_CHANNEL, String(last)]);
      return events;
    });
  }

  /** Reads and delivers everything after the last delivered seq; one reader at a time, again if asked meanwhile. */
  private catchUp(): void {
    if (this.closed) return;
    if (this.reading) {
      this.readAgain = true;
      return;
    }
    this.reading = this.deliverNew()
      .catch((error: unknown) => this.logger.error({ err: error }, 'reading new events from the outbox failed; the next notification retries'))
      .finally(() => {
        this.reading = undefined;
        if (this.readAgain) {
          this.readAgain = false;
          this.catchUp();
        }
      });
  }

  private async deliverNew(): Promise<void> {
    for (;;) {
      const events = await this.since(this.delivered, PAGE);
      for (const event of events) {
        this.delivered = event.seq;
        for (const listener of this.listeners) {
          try {
            listener(event);
          } catch (error) {
            this.logger.error({ err: error, seq: event.seq }, 'an event subscriber failed');
          }
        }
      }
      if (events.length < PAGE) return;
    }
  }
}
