/**
 * `ConversationPort` for Slack on Bolt's WebClient: messages in the request's thread, status
 * messages updated in place, long output as a file (files.uploadV2, which on the wire is
 * files.getUploadURLExternal → upload → files.completeUploadExternal), DMs through
 * conversations.open.
 */
import type { webApi } from '@slack/bolt';
import type { RunView } from '../../executor/contract/index.ts';
import type { ConversationPort, ConversationRef, FileAttachment, Screen } from '../core/model.ts';
import type { Logger } from '../../lib/logger.ts';
import { fitMessage, renderMessage, type RenderedMessage } from './blocks.ts';

/** A Slack user id (U…, W… for Enterprise Grid); a ref with one as conversation means "DM this person". */
const USER_ID = /^[UW][A-Z0-9]{2,}$/;

/** Failures of a channel post that a DM to the requester can still rescue. */
const UNREACHABLE_CHANNEL_ERRORS = new Set(['not_in_channel', 'channel_not_found', 'is_archived']);

/** How many run → status-message links are remembered (in memory, oldest forgotten first). */
const RUN_MESSAGE_MEMORY = 5000;

export function directMessageRef(teamId: string, userId: string): ConversationRef {
  return { channel: 'slack', conversationId: userId, platform: { teamId, userId, directMessage: true } };
}

function isDirectMessageRef(ref: ConversationRef): boolean {
  return ref.platform?.['directMessage'] === true || USER_ID.test(ref.conversationId);
}

function requesterOf(ref: ConversationRef): string | undefined {
  const userId = ref.platform?.['userId'];
  return typeof userId === 'string' ? userId : undefined;
}

function runOf(screen: Screen): RunView | undefined {
  return screen.screen === 'run-status' || screen.screen === 'run-summary' || screen.screen === 'approval-request' ? screen.run : undefined;
}

function runIdOf(screen: Screen): string | undefined {
  return runOf(screen)?.id;
}

/** A new top-level post about a run that did not start in this conversation is a notification. */
function isNotification(conversation: ConversationRef, run: RunView): boolean {
  if (conversation.threadId || isDirectMessageRef(conversation)) return false;
  return run.origin.kind !== 'slack' || run.origin.conversationId !== conversation.conversationId;
}

function slackErrorCode(error: unknown): string | undefined {
  const data = (error as { data?: { error?: unknown } }).data;
  return typeof data?.error === 'string' ? data.error : undefined;
}

export class SlackPort implements ConversationPort {
  /** user id → DM channel id, so a DM costs one conversations.open per person. */
  private readonly dmChannels = new Map<string, Promise<string>>();
  /**
   * `channel|runId` → ts of the run's status message. Whoever posts a run's screen first creates
   * the message; later posts of the same run update it, so the status never appears twice.
   */
  private readonly runMessages = new Map<string, Promise<string>>();
  /** runId → where its status message lives (thread root), for the run's output file. */
  private readonly runThreads = new Map<string, { channel: string; threadTs: string }>();
  /** channel → ts of the latest message started outside a thread: files for it go into its thread. */
  private readonly latestRoot = new Map<string, string>();

  constructor(
    private readonly client: webApi.WebClient,
    private readonly logger: Logger,
  ) {}

  async post(conversation: ConversationRef, screen: Screen, options: { reopen?: boolean } = {}): Promise<string> {
    const run = runOf(screen);
    if (run && isNotification(conversation, run)) {
      // A run that started elsewhere (another channel, Teams, a schedule) reaches the person privately.
      const requester = requesterOf(conversation);
      const teamId = conversation.platform?.['teamId'];
      if (requester && typeof teamId === 'string') conversation = directMessageRef(teamId, requester);
    }
    const channel = await this.channelOf(conversation);
    const runId = run?.id;
    if (runId === undefined) return this.postNew(conversation, channel, screen);

    const key = `${channel}|${runId}`;
    // Opened again from the history: a new message at the bottom, which later updates go to.
    const existing = options.reopen ? undefined : this.runMessages.get(key);
    if (existing) {
      const ts = await existing;
      await this.updateIn(conversation, channel, ts, screen);
      return ts;
    }
    const created = this.postNew(conversation, channel, screen);
    this.remember(key, created);
    const ts = await created;
    this.rememberThread(runId, channel, conversation.threadId ?? ts);
    return ts;
  }

  async update(conversation: ConversationRef, messageId: string, screen: Screen): Promise<void> {
    const channel = await this.channelOf(conversation);
    const runId = runIdOf(screen);
    if (runId !== undefined && !this.runMessages.has(`${channel}|${runId}`)) {
      this.remember(`${channel}|${runId}`, Promise.resolve(messageId));
      this.rememberThread(runId, channel, conversation.threadId ?? messageId);
    }
    await this.updateIn(conversation, channel, messageId, screen);
  }

  async postFile(conversation: ConversationRef, file: FileAttachment): Promise<void> {
    const channel = await this.channelOf(conversation);
    // A run's output belongs under the run's own status message, whatever thread the ref names.
    const runThread = [...this.runThreads.entries()].find(([runId]) => file.name.includes(runId))?.[1];
    if (runThread) return this.upload(runThread.channel, runThread.threadTs, file);
    await this.upload(channel, conversation.threadId ?? this.latestRoot.get(channel), file);
  }

  /** One sentence only the user sees. */
  async postEphemeral(conversation: ConversationRef, userId: string, text: string): Promise<void> {
    if (isDirectMessageRef(conversation)) {
      await this.postNew(conversation, await this.channelOf(conversation), { screen: 'notice', text });
      return;
    }
    await this.client.chat.postEphemeral({
      channel: conversation.conversationId,
      user: userId,
      text,
      ...(conversation.threadId ? { thread_ts: conversation.threadId } : {}),
    });
  }

  private async postNew(conversation: ConversationRef, channel: string, screen: Screen): Promise<string> {
    const message = fitMessage(renderMessage(screen));
    let ts: string;
    try {
      ts = await this.postMessage(channel, conversation.threadId, message);
    } catch (error) {
      const requester = requesterOf(conversation);
      if (!UNREACHABLE_CHANNEL_ERRORS.has(slackErrorCode(error) ?? '') || !requester || isDirectMessageRef(conversation)) throw error;
      // The bot was not invited where the command was typed: the requester still gets the result, by DM.
      this.logger.info({ channel, reason: slackErrorCode(error) }, 'slack: channel not reachable, answering by DM');
      const dm = await this.dmChannel(requester);
      ts = await this.postMessage(dm, undefined, message);
      channel = dm;
    }
    if (!conversation.threadId) this.latestRoot.set(channel, ts);
    if (message.overflow) await this.upload(channel, conversation.threadId ?? ts, message.overflow);
    return ts;
  }

  private async updateIn(conversation: ConversationRef, channel: string, ts: string, screen: Screen): Promise<void> {
    const message = fitMessage(renderMessage(screen));
    await this.client.chat.update({ channel, ts, text: message.text, blocks: message.blocks });
    if (message.overflow) await this.upload(channel, conversation.threadId ?? ts, message.overflow);
  }

  private async postMessage(channel: string, threadTs: string | undefined, message: RenderedMessage): Promise<string> {
    const result = await this.client.chat.postMessage({
      channel,
      text: message.text,
      blocks: message.blocks,
      ...(threadTs ? { thread_ts: threadTs } : {}),
    });
    if (!result.ts) throw new Error('chat.postMessage answered without a ts');
    return result.ts;
  }

  private async upload(channel: string, threadTs: string | undefined, file: FileAttachment): Promise<void> {
    const upload = { filename: file.name, title: file.name, content: file.content };
    await this.client.filesUploadV2(threadTs ? { ...upload, channel_id: channel, thread_ts: threadTs } : { ...upload, channel_id: channel });
  }

  private async channelOf(conversation: ConversationRef): Promise<string> {
    return isDirectMessageRef(conversation) ? this.dmChannel(conversation.conversationId) : conversation.conversationId;
  }

  private dmChannel(userId: string): Promise<string> {
    let channel = this.dmChannels.get(userId);
    if (!channel) {
      channel = this.client.conversations.open({ users: userId }).then((result) => {
        const id = result.channel?.id;
        if (!id) throw new Error('conversations.open answered without a channel id');
        return id;
      });
      channel.catch(() => this.dmChannels.delete(userId));
      this.dmChannels.set(userId, channel);
    }
    return channel;
  }

  private rememberThread(runId: string, channel: string, threadTs: string): void {
    this.runThreads.set(runId, { channel, threadTs });
    if (this.runThreads.size > RUN_MESSAGE_MEMORY) {
      const oldest = this.runThreads.keys().next().value;
      if (oldest !== undefined) this.runThreads.delete(oldest);
    }
  }

  private remember(key: string, ts: Promise<string>): void {
    this.runMessages.set(key, ts);
    ts.catch(() => this.runMessages.delete(key));
    if (this.runMessages.size > RUN_MESSAGE_MEMORY) {
      const oldest = this.runMessages.keys().next().value;
      if (oldest !== undefined) this.runMessages.delete(oldest);
    }
  }
}
