/**
 * What the bot must remember to post again later, also after a restart: each principal's last
 * conversation with the bot (for proactive notifications), each conversation's reference
 * (for updating the card a run started from), and which message shows each run. A small
 * lowdb file under the data folder; bounded so it never grows without limit.
 */
import { mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import { Low } from 'lowdb';
import { PRIVATE_DIR_MODE, PrivateJsonFile } from '../../lib/private-files.ts';
import { z } from 'zod';
import { ChannelSchema } from '../../executor/contract/index.ts';
import type { ConversationRef } from './model.ts';

const ConversationRefSchema = z.object({
  channel: ChannelSchema,
  conversationId: z.string(),
  threadId: z.string().optional(),
  platform: z.record(z.string(), z.unknown()).optional(),
});

const RunMessageSchema = z.object({
  channel: ChannelSchema,
  conversationId: z.string(),
  messageId: z.string(),
  /** The principal whose card it is: they see the update there and need no notification. */
  viewer: z.string(),
});
export type RunMessage = z.infer<typeof RunMessageSchema>;

const StoreDataSchema = z.object({
  principals: z.record(z.string(), ConversationRefSchema).default({}),
  conversations: z.record(z.string(), ConversationRefSchema).default({}),
  runs: z.record(z.string(), RunMessageSchema).default({}),
  /** Who was asked to approve a four-eyes run, so their cards show the outcome even after a restart. */
  approvers: z.record(z.string(), z.array(z.string())).default({}),
});
type StoreData = z.infer<typeof StoreDataSchema>;

export interface ConversationStore {
  rememberPrincipal(principalId: string, conversation: ConversationRef): Promise<void>;
  lastConversationOf(principalId: string): ConversationRef | undefined;
  conversation(channel: ConversationRef['channel'], conversationId: string): ConversationRef | undefined;
  rememberRunMessage(runId: string, message: RunMessage): Promise<void>;
  runMessage(runId: string): RunMessage | undefined;
  rememberApprovers(runId: string, principalIds: string[]): Promise<void>;
  approversOf(runId: string): string[] | undefined;
  forgetApprovers(runId: string): Promise<void>;
}

/** Oldest entries are dropped beyond these counts (insertion order is kept by the JSON object). */
const LIMITS = { principals: 10_000, conversations: 10_000, runs: 5_000 } as const;

function conversationKey(channel: string, conversationId: string): string {
  return `${channel}:${conversationId}`;
}

/**
 * Puts `key` last (re-inserting moves it, so "oldest" means least recently written) and drops
 * the oldest entries beyond `limit`, in place: copying a record of thousands on every
 * submission cost more than the submission.
 */
function remember<T>(record: Record<string, T>, key: string, value: T, limit: number): void {
  delete record[key];
  record[key] = value;
  let excess = Object.keys(record).length - limit;
  for (const oldest in record) {
    if (excess-- <= 0) break;
    delete record[oldest];
  }
}

export class LowdbConversationStore implements ConversationStore {
  /** The write of the file under way, if any. */
  private writing: Promise<void> | undefined;
  /** The next write, which every change made since `writing` began waits for. */
  private nextWrite: Promise<void> | undefined;

  private constructor(private readonly db: Low<StoreData>) {}

  /**
   * One write of the file at a time, and every change made meanwhile shares the next one:
   * under a burst of submissions, a durable rewrite per change would cost the bot more than
   * the changes themselves. A change is on disk when the promise it gets resolves.
   */
  private persist(): Promise<void> {
    this.nextWrite ??= (this.writing ?? Promise.resolve())
      .catch(() => undefined)
      .then(() => new Promise<void>((resolve) => setImmediate(resolve)))
      .then(() => {
        this.nextWrite = undefined;
        const writing = this.db.write();
        this.writing = writing;
        return writing.finally(() => {
          if (this.writing === writing) this.writing = undefined;
        });
      });
    return this.nextWrite;
  }

  /** Opens (or creates) the file; a file that does not parse is an error, not silently reset. */
  static async open(file: string): Promise<LowdbConversationStore> {
    await mkdir(dirname(file), { recursive: true, mode: PRIVATE_DIR_MODE });
    // Private (0600): it holds who talks to the bot where.
    const db = new Low<StoreData>(new PrivateJsonFile(file), { principals: {}, conversations: {}, runs: {}, approvers: {} });
    await db.read();
    db.data = StoreDataSchema.parse(db.data);
    return new LowdbConversationStore(db);
  }

  async rememberPrincipal(principalId: string, conversation: ConversationRef): Promise<void> {
    const ref = ConversationRefSchema.parse(conversation);
    const data = this.db.data;
    // Most messages come from the conversation already on file: no write then.
    if (JSON.stringify(data.principals[principalId]) === JSON.stringify(ref)) return;
    remember(data.principals, principalId, ref, LIMITS.principals);
    remember(data.conversations, conversationKey(ref.channel, ref.conversationId), ref, LIMITS.conversations);
    await this.persist();
  }

  lastConversationOf(principalId: string): ConversationRef | undefined {
    return this.db.data.principals[principalId];
  }

  conversation(channel: ConversationRef['channel'], conversationId: string): ConversationRef | undefined {
    return this.db.data.conversations[conversationKey(channel, conversationId)];
  }

  async rememberRunMessage(runId: string, message: RunMessage): Promise<void> {
    remember(this.db.data.runs, runId, RunMessageSchema.parse(message), LIMITS.runs);
    await this.persist();
  }

  runMessage(runId: string): RunMessage | undefined {
    return this.db.data.runs[runId];
  }

  async rememberApprovers(runId: string, principalIds: string[]): Promise<void> {
    remember(this.db.data.approvers, runId, [...principalIds], LIMITS.runs);
    await this.persist();
  }

  approversOf(runId: string): string[] | undefined {
    return this.db.data.approvers[runId];
  }

  async forgetApprovers(runId: string): Promise<void> {
    if (!(runId in this.db.data.approvers)) return;
    delete this.db.data.approvers[runId];
    await this.persist();
  }
}
