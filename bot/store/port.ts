/**
 * The bot's conversation store as an asynchronous port, so that several bot processes behind
 * one URL can share it: each principal's last conversation, conversation references, the
 * message that shows each run, and the approvers asked about a run. Two implementations: the
 * lowdb file of bot/core/conversation-store.ts (FileConversations, below) and PostgreSQL
 * (PgConversations, postgres.ts).
 *
 * The bot core uses this port only: with `DEPUTY_DATABASE_URL` several bot processes share it
 * (docs/bot.md, "Several bots behind one URL"). Beside what chat cards need, it decides which bot
 * follows the executor's events (one at a time, under a lease, resuming where the last one
 * stopped) and which status cards ask "Cancel this run?".
 */
import type { ConversationRef } from '../core/model.ts';
import { LowdbConversationStore, type RunMessage } from '../core/conversation-store.ts';

export interface SharedConversationStore {
  rememberPrincipal(principalId: string, conversation: ConversationRef): Promise<void>;
  lastConversationOf(principalId: string): Promise<ConversationRef | undefined>;
  conversation(channel: ConversationRef['channel'], conversationId: string): Promise<ConversationRef | undefined>;
  rememberRunMessage(runId: string, message: RunMessage): Promise<void>;
  runMessage(runId: string): Promise<RunMessage | undefined>;
  rememberApprovers(runId: string, principalIds: string[]): Promise<void>;
  approversOf(runId: string): Promise<string[] | undefined>;
  forgetApprovers(runId: string): Promise<void>;
  /** Marks a status card (a message key) as asking "Cancel this run?", or clears the mark. */
  setAskingToCancel(messageKey: string, asking: boolean): Promise<void>;
  isAskingToCancel(messageKey: string): Promise<boolean>;
  /**
   * Takes or renews the lease on following the executor's events for `ttlMs`: true while
   * `holder` has it. Only one bot applies events at a time (else every card would be updated, and
   * every notification sent, once per bot); another takes over once a holder stops renewing.
   */
  leadEvents(holder: string, ttlMs: number): Promise<boolean>;
  /** Gives the lease up (a bot shutting down), so another takes over at once. */
  releaseEvents(holder: string): Promise<void>;
  /** The id of the last executor event applied, where the next holder resumes (`Last-Event-ID`). */
  eventCursor(): Promise<string | undefined>;
  saveEventCursor(eventId: string): Promise<void>;
  /**
   * Drops what was last written before `before` (epoch ms), where entries are kept by age (the
   * lowdb file keeps a number of entries instead, and has no such method); answers how many.
   */
  prune?(before: number): Promise<number>;
  close(): Promise<void>;
}

/**
 * The lowdb file behind the port: one bot process per file, which therefore always follows the
 * events itself, from the moment it starts (as before there was a port). Its cancel questions
 * are in memory: they last as long as the card's question is on screen anyway.
 */
export class FileConversations implements SharedConversationStore {
  private readonly asking = new Set<string>();

  constructor(private readonly store: LowdbConversationStore) {}

  static async open(file: string): Promise<FileConversations> {
    return new FileConversations(await LowdbConversationStore.open(file));
  }

  rememberPrincipal(principalId: string, conversation: ConversationRef): Promise<void> {
    return this.store.rememberPrincipal(principalId, conversation);
  }
  async lastConversationOf(principalId: string): Promise<ConversationRef | undefined> {
    return this.store.lastConversationOf(principalId);
  }
  async conversation(channel: ConversationRef['channel'], conversationId: string): Promise<ConversationRef | undefined> {
    return this.store.conversation(channel, conversationId);
  }
  rememberRunMessage(runId: string, message: RunMessage): Promise<void> {
    return this.store.rememberRunMessage(runId, message);
  }
  async runMessage(runId: string): Promise<RunMessage | undefined> {
    return this.store.runMessage(runId);
  }
  rememberApprovers(runId: string, principalIds: string[]): Promise<void> {
    return this.store.rememberApprovers(runId, principalIds);
  }
  async approversOf(runId: string): Promise<string[] | undefined> {
    return this.store.approversOf(runId);
  }
  forgetApprovers(runId: string): Promise<void> {
    return this.store.forgetApprovers(runId);
  }
  async setAskingToCancel(messageKey: string, asking: boolean): Promise<void> {
    if (asking) this.asking.add(messageKey);
    else this.asking.delete(messageKey);
  }
  async isAskingToCancel(messageKey: string): Promise<boolean> {
    return this.asking.has(messageKey);
  }
  async leadEvents(): Promise<boolean> {
    return true;
  }
  async releaseEvents(): Promise<void> {}
  async eventCursor(): Promise<string | undefined> {
    return undefined;
  }
  async saveEventCursor(): Promise<void> {}
  async close(): Promise<void> {}
}
