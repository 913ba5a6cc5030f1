/**
 * A ConversationPort that keeps what the core sent, for tests of the core on its own (the
 * edges' real ports are tested with their edges). Messages are kept per conversation with
 * updates applied in place, as a chat client would show them.
 */
import type { ConversationPort, ConversationRef, FileAttachment, Screen } from '../../../bot/core/model.ts';

export interface Shown {
  id: string;
  conversationId: string;
  threadId: string | undefined;
  screen: Screen;
  updates: number;
}

export class RecordingPort implements ConversationPort {
  readonly messages: Shown[] = [];
  readonly files: Array<{ conversationId: string; threadId: string | undefined; file: FileAttachment }> = [];
  private next = 1;

  async post(conversation: ConversationRef, screen: Screen): Promise<string> {
    const id = `m${this.next++}`;
    this.messages.push({ id, conversationId: conversation.conversationId, threadId: conversation.threadId, screen, updates: 0 });
    return id;
  }

  async update(conversation: ConversationRef, messageId: string, screen: Screen): Promise<void> {
    const shown = this.messages.find((message) => message.id === messageId && message.conversationId === conversation.conversationId);
    if (!shown) throw new Error(`no message ${messageId} in ${conversation.conversationId}`);
    shown.screen = screen;
    shown.updates += 1;
  }

  async postFile(conversation: ConversationRef, file: FileAttachment): Promise<void> {
    this.files.push({ conversationId: conversation.conversationId, threadId: conversation.threadId, file });
  }

  in(conversationId: string): Shown[] {
    return this.messages.filter((message) => message.conversationId === conversationId);
  }
}
