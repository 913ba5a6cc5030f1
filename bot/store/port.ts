/**
 * The bot's conversation store as an asynchronous port, so that several bot processes behind
 * one URL can share it: each principal's last conversation, conversation references, the
 * message that shows each run, and the approvers asked about a run. Two implementations: the
 * lowdb file of bot/core/conversation-store.ts (FileConversations, below) and PostgreSQL
 * (PgConversations, postgres.ts).
 *
 * Phase one of issue 13: the bot core still uses the synchronous ConversationStore; phase two
 * switches it to this port (docs/store.md).
 */
import type { ConversationRef } from '../core/model.ts';
import type { LowdbConversationStore, RunMessage } from '../core/conversation-store.ts';

export interface SharedConversationStore {
  rememberPrincipal(principalId: string, conversation: ConversationRef): Promise<void>;
  lastConversationOf(principalId: string): Promise<ConversationRef | undefined>;
  conversation(channel: ConversationRef['channel'], conversationId: string): Promise<ConversationRef | undefined>;
  rememberRunMessage(runId: string, message: RunMessage): Promise<void>;
  runMessage(runId: string): Promise<RunMessage | undefined>;
  rememberApprovers(runId: string, principalIds: string[]): Promise<void>;
  approversOf(runId: string): Promise<string[] | undefined>;
  forgetApprovers(runId: string): Promise<void>;
  close(): Promise<void>;
}

/** The lowdb file behind the port: one bot process per file. */
export class FileConversations implements SharedConversationStore {
  constructor(private readonly store: LowdbConversationStore) {}

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
  async close(): Promise<void> {}
}
