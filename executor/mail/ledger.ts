/**
 * Every message a mail connector handled, by Message-ID: a repeat (the sender's server retrying,
 * a forwarded copy) starts nothing, and a finished run finds whom to answer. Append-only JSON
 * lines in the data folder, the newest line per message wins; on opening and on `prune` (the
 * executor's prune duty), entries older than the retention are dropped and the file rewritten.
 * A message is recorded *before* its run is created, so even a crash in between never runs it
 * twice (at most once, like plans).
 */
import { z } from 'zod';
import type { Clock } from '../../lib/clock.ts';
import { ExpiringLog } from '../store/expiring-log.ts';

export const MESSAGE_RETENTION_MS = 30 * 24 * 60 * 60_000;

export const MessageEntrySchema = z.object({
  connector: z.string(),
  messageId: z.string(),
  /** Who gets the answer, and the address the message was sent to (the answer's From). */
  replyTo: z.string(),
  mailbox: z.string(),
  subject: z.string(),
  at: z.number(),
  runId: z.string().optional(),
});
export type MessageEntry = z.infer<typeof MessageEntrySchema>;

export class MessageLedger {
  private readonly entries = new Map<string, MessageEntry>();
  private readonly byRun = new Map<string, MessageEntry>();

  private constructor(
    private readonly log: ExpiringLog<MessageEntry>,
    private readonly clock: Clock,
  ) {}

  static async open(path: string, clock: Clock): Promise<MessageLedger> {
    const { log, entries } = await ExpiringLog.open(path, MessageEntrySchema, (entry) => clock.now() - entry.at < MESSAGE_RETENTION_MS);
    const ledger = new MessageLedger(log, clock);
    for (const entry of entries) ledger.remember(entry);
    return ledger;
  }

  /**
   * Records a new message and answers true, or answers false when this connector has seen the
   * Message-ID before. Synchronous check-and-set, so two deliveries racing cannot both win.
   */
  claim(entry: Omit<MessageEntry, 'at' | 'runId'>): { first: boolean; written: Promise<void> } {
    if (this.entries.has(keyOf(entry.connector, entry.messageId))) return { first: false, written: Promise.resolve() };
    const recorded = { ...entry, at: this.clock.now() };
    this.remember(recorded);
    return { first: true, written: this.log.append(recorded) };
  }

  async attachRun(connector: string, messageId: string, runId: string): Promise<void> {
    const entry = this.entries.get(keyOf(connector, messageId));
    if (!entry) return;
    const updated = { ...entry, runId };
    this.remember(updated);
    await this.log.append(updated);
  }

  forRun(runId: string): MessageEntry | undefined {
    return this.byRun.get(runId);
  }

  /** Forgets messages handled before `before` and compacts the file to the rest; returns how many it forgot. */
  async prune(before: number): Promise<number> {
    let dropped = 0;
    for (const [key, entry] of this.entries) {
      if (entry.at >= before) continue;
      this.entries.delete(key);
      if (entry.runId !== undefined) this.byRun.delete(entry.runId);
      dropped += 1;
    }
    await this.log.compact([...this.entries.values()]);
    return dropped;
  }

  settled(): Promise<void> {
    return this.log.settled();
  }

  private remember(entry: MessageEntry): void {
    this.entries.set(keyOf(entry.connector, entry.messageId), entry);
    if (entry.runId !== undefined) this.byRun.set(entry.runId, entry);
  }
}

function keyOf(connector: string, messageId: string): string {
  return `${connector}\u0000${messageId}`;
}
