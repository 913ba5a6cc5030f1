/**
 * Teams activity → neutral `Inbound`, once, here. After this nothing in Deputy knows Teams.
 * The identity comes from an activity whose JWT botbuilder has already verified.
 */
import { TurnContext, type Activity, type ConversationReference } from 'botbuilder';
import { z } from 'zod';
import { SUBMIT_VERBS } from '../../cards/screens.ts';
import type { ConversationRef, Inbound, SentFile } from '../core/model.ts';

/**
 * The verbs the core's model accepts today. cards/screens.ts already names script-review verbs
 * (decide-script, refresh-script); they are refused here until bot/core/model.ts takes them.
 */
/** Teams carries every verb a card can: the list is the screens' own. */
export const TEAMS_VERBS = SUBMIT_VERBS;

/** The `value` of an `adaptiveCard/action` invoke (Universal Actions). */
export const ExecuteInvokeValueSchema = z.object({
  action: z.object({
    type: z.literal('Action.Execute'),
    verb: z.enum(TEAMS_VERBS),
    data: z.record(z.string(), z.unknown()).default({}),
    id: z.string().optional(),
  }),
  /** `automatic` when the client refreshes the card on its own, `manual` for a button. */
  trigger: z.enum(['automatic', 'manual']).optional(),
});
export type ExecuteInvokeValue = z.infer<typeof ExecuteInvokeValueSchema>;

/** What a stored Teams reference must hold for a proactive message (checked when read back). */
export const TeamsReferenceSchema = z
  .object({
    channelId: z.string().min(1),
    serviceUrl: z.url(),
    conversation: z.looseObject({ id: z.string().min(1), conversationType: z.string().optional(), tenantId: z.string().optional() }),
    bot: z.looseObject({ id: z.string().min(1) }).optional(),
    user: z.looseObject({ id: z.string().min(1), aadObjectId: z.string().optional() }).optional(),
    activityId: z.string().optional(),
  })
  .loose();

const THREAD_SUFFIX = /;messageid=(\d+)$/;

/** A channel conversation id names its reply chain with `;messageid=<root>`. */
export function baseConversationId(conversationId: string): string {
  return conversationId.replace(THREAD_SUFFIX, '');
}

export function threadConversationId(conversationId: string, threadId: string | undefined): string {
  return threadId ? `${baseConversationId(conversationId)};messageid=${threadId}` : conversationId;
}

export class MissingIdentityError extends Error {}

function tenantOf(activity: Activity): string | undefined {
  const channelData = activity.channelData as { tenant?: { id?: unknown } } | undefined;
  const fromChannelData = typeof channelData?.tenant?.id === 'string' ? channelData.tenant.id : undefined;
  return activity.conversation?.tenantId ?? fromChannelData;
}

/** Where this activity lives, with the full reference stored for proactive messages after a restart. */
export function conversationRefOf(activity: Activity): ConversationRef {
  const reference = TurnContext.getConversationReference(activity);
  const conversationId = activity.conversation.id;
  const inThread = THREAD_SUFFIX.exec(conversationId)?.[1];
  // A top-level channel post starts its own reply chain: results go under it.
  const threadId = inThread ?? (activity.conversation.conversationType === 'channel' ? activity.id : undefined);
  const ref: ConversationRef = {
    channel: 'teams',
    conversationId: baseConversationId(conversationId),
    platform: JSON.parse(JSON.stringify(reference)) as Record<string, unknown>,
  };
  if (threadId) ref.threadId = threadId;
  return ref;
}

function userOf(activity: Activity): Inbound['user'] {
  const tenantId = tenantOf(activity);
  const aadObjectId = activity.from?.aadObjectId;
  if (!tenantId || !aadObjectId) {
    throw new MissingIdentityError('The activity carries no tenant id or AAD object id.');
  }
  const user: Inbound['user'] = { identity: { channel: 'teams', tenantId, aadObjectId } };
  if (activity.from.name) user.displayName = activity.from.name;
  // The Teams client's language (`de-DE`): forms show help in it when the script has it.
  if (typeof activity.locale === 'string' && activity.locale) user.locale = activity.locale;
  return user;
}

/** A message: the text without the bot's @mention (channels and group chats mention the bot). */
export function messageInbound(activity: Activity): Inbound {
  const withoutMention = TurnContext.removeRecipientMention(activity) ?? activity.text ?? '';
  return {
    kind: 'message',
    user: userOf(activity),
    conversation: conversationRefOf(activity),
    text: withoutMention.replace(/\s+/g, ' ').trim(),
  };
}

/** What Teams sends for a file a user attaches in a personal chat (the bot manifest's `supportsFiles`). */
export const TEAMS_FILE_DOWNLOAD_INFO = 'application/vnd.microsoft.teams.file.download.info';

const FileDownloadInfoSchema = z.object({
  contentType: z.literal(TEAMS_FILE_DOWNLOAD_INFO),
  name: z.string().min(1).max(255),
  content: z.looseObject({ downloadUrl: z.string().min(1) }),
});

/**
 * The first file attached to a message in a personal chat, with the pre-authorized address Teams
 * gives for it. Elsewhere a file is not read: the card it gets shows the text and the diff of a
 * script the sender may see to everyone in the chat or channel.
 */
export function attachedFile(activity: Activity): { name: string; downloadUrl: string } | undefined {
  if (activity.conversation?.conversationType !== 'personal') return undefined;
  for (const attachment of activity.attachments ?? []) {
    const file = FileDownloadInfoSchema.safeParse(attachment);
    if (file.success) return { name: file.data.name, downloadUrl: file.data.content.downloadUrl };
  }
  return undefined;
}

/**
 * A file message: who sent it and where, with the file as the edge reads it. The sender is
 * known first: a message without a Teams identity (another channel of the same bot) throws
 * MissingIdentityError before anything is fetched for it.
 */
export async function fileInbound(activity: Activity, read: () => Promise<SentFile>): Promise<Inbound> {
  const user = userOf(activity);
  return { kind: 'file', user, conversation: conversationRefOf(activity), file: await read() };
}

/** The bot was added to a conversation (a personal install): the core may greet. */
export function openedInbound(activity: Activity): Inbound {
  return { kind: 'opened', user: userOf(activity), conversation: conversationRefOf(activity) };
}

/** An `Action.Execute` button or card refresh. `replyToId` is the message the card is on. */
export function submitInbound(activity: Activity, value: ExecuteInvokeValue): Extract<Inbound, { kind: 'submit' }> {
  const inbound: Extract<Inbound, { kind: 'submit' }> = {
    kind: 'submit',
    user: userOf(activity),
    conversation: conversationRefOf(activity),
    verb: value.action.verb,
    data: value.action.data,
  };
  if (activity.replyToId) inbound.messageId = activity.replyToId;
  return inbound;
}

/** The `value` of an `application/search` invoke: Teams' typeahead on an Input.ChoiceSet with `choices.data`. */
export const SearchInvokeValueSchema = z.object({
  queryText: z.string().max(500).default(''),
  dataset: z.string().min(1).max(500),
  queryOptions: z.object({ skip: z.number().int().min(0).max(10_000).default(0), top: z.number().int().min(1).max(100).default(15) }).default({ skip: 0, top: 15 }),
  /** The card's inputs, by input id, when the Data.Query says `associatedInputs: auto`. */
  data: z.record(z.string(), z.unknown()).optional(),
});
export type SearchInvokeValue = z.infer<typeof SearchInvokeValueSchema>;

/** Who searches, from an activity whose JWT botbuilder has verified. */
export function searchUser(activity: Activity): Inbound['user'] {
  return userOf(activity);
}

export function storedReference(ref: ConversationRef): Partial<ConversationReference> {
  const reference = TeamsReferenceSchema.parse(ref.platform) as unknown as Partial<ConversationReference> & {
    conversation: ConversationReference['conversation'];
  };
  // Results go into the reply chain the ref names, whatever message the reference was taken from.
  const conversationId = threadConversationId(reference.conversation.id, ref.threadId);
  return { ...reference, conversation: { ...reference.conversation, id: conversationId } };
}
