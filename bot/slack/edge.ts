/**
 * The Slack edge: Bolt 5 listeners that translate Slack's events into the neutral `Inbound`
 * once, hand them to the core, and render what comes back (modals, thread messages,
 * ephemeral sentences, the App Home).
 *
 * Timing rules Slack imposes, and how they are met here:
 * - every request is acked within 3 s: listeners ack first; a form submission waits for the
 *   core's validation only up to `submitBudgetMs`, and the receiver answers on its own later;
 * - a `trigger_id` is good for 3 s: when the core has not answered within `modalDeadlineMs`,
 *   a loading modal is opened with the trigger and updated (views.update) when it does.
 */
import {
  App,
  SocketModeReceiver,
  type BlockAction,
  type BlockSuggestion,
  type ButtonAction,
  type StaticSelectAction,
  type ViewOutput,
  type ViewResponseAction,
  type ViewSubmitAction,
  type types as slack,
} from '@slack/bolt';
import { z } from 'zod';
import { ChannelSchema, DeputyError, ERRORS } from '../../executor/contract/index.ts';
import { SUBMIT_VERBS } from '../../cards/screens.ts';
import type { ChannelEdge, ChatUser, ConversationHandler, ConversationRef, HandleResult, HomeOverview, Inbound, Screen, SentFile } from '../core/model.ts';
import type { Clock } from '../../lib/clock.ts';
import { systemClock } from '../../lib/clock.ts';
import { ttlCache } from '../../lib/ttl-cache.ts';
import type { LRUCache } from 'lru-cache';
import type { Logger } from '../../lib/logger.ts';
import { ACTION_ID_PREFIX, loadingModal, renderHome, renderSentence, screenModal } from './blocks.ts';
import {
  AUTHORING_FORM_CALLBACK_ID,
  CHOICES_ACTION_ID,
  FORM_CALLBACK_ID,
  SET_ACTION_ID,
  ViewStateSchema,
  choiceOptions,
  chosenSet,
  readSubmittedState,
  renderAuthoringFormModal,
  renderFormModal,
  shownFields,
  shownSet,
  toSlackErrors,
} from './form.ts';
import { downloadSentFile } from '../core/files.ts';
import { SlackPort, directMessageRef } from './port.ts';
import { SlackHttpReceiver, type RouteMounter } from './receiver.ts';
import { boltLogger } from './bolt-logger.ts';

export interface SlackEdgeOptions {
  handler: ConversationHandler;
  botToken: string;
  /** Verifies HTTP requests; not used in Socket Mode. */
  signingSecret?: string;
  /** Socket Mode instead of HTTP when set (an `xapp-` app-level token). */
  appToken?: string;
  /** Slack's Web API base URL; tests point it at a fake on loopback. */
  apiUrl?: string;
  commandName?: string;
  logger: Logger;
  clock?: Clock;
  /** How long a trigger waits for the core before a loading modal opens instead. */
  modalDeadlineMs?: number;
  /** How long a form submission waits for the core's validation before it is acked without it. */
  submitBudgetMs?: number;
  /** The receiver's own ack when a listener has not acked. */
  ackTimeoutMs?: number;
  /** Web API retries (Bolt's default retries for minutes; tests want failures fast). */
  apiRetries?: number;
}

/** Slack buttons carry every verb a screen can (the script lifecycle's too). */
const VerbSchema = z.enum(SUBMIT_VERBS);
const ButtonDataSchema = z.record(z.string(), z.unknown());

const ConversationRefSchema = z.object({
  channel: ChannelSchema,
  conversationId: z.string().min(1),
  threadId: z.string().optional(),
  platform: z.record(z.string(), z.unknown()).optional(),
});

/** What a modal carries between Slack round trips (`private_metadata`, ≤ 3000 characters). */
const ModalMetadataSchema = z.object({
  conversation: ConversationRefSchema,
  actionId: z.string().optional(),
  /** The form's own id: sent with the submission as the run's idempotency key. */
  formId: z.string().max(100).optional(),
  /** Field name → kind, to read the submitted state back without asking the core again. */
  fields: z.record(z.string(), z.enum(['text', 'choice', 'toggle', 'number', 'date', 'multi', 'secret'])).optional(),
  /** An authoring form's submit: the verb and data it sends with the values. */
  submit: z.object({ verb: z.enum(SUBMIT_VERBS), data: z.record(z.string(), z.string()) }).optional(),
  /** The parameter set whose fields the modal shows, on a form with several. */
  parameterSet: z.string().optional(),
});
type ModalMetadata = z.infer<typeof ModalMetadataSchema>;

/** The fields a modal's metadata names, to read its state back. */
function fieldKinds(metadata: ModalMetadata): { name: string; kind: NonNullable<ModalMetadata['fields']>[string] }[] {
  return Object.entries(metadata.fields ?? {}).map(([name, kind]) => ({ name, kind }));
}

/** Screens shown in a modal when they answer a trigger; everything else is a message or a sentence. */
function belongsInModal(screen: Screen): boolean {
  return screen.screen === 'action-form' || screen.screen === 'action-list' || screen.screen === 'authoring-form';
}

/** Buttons whose answer may be a form: they come with a trigger_id, which opens a modal only within 3 s. */
const MODAL_VERBS: ReadonlySet<string> = new Set(['open-form', 'show-actions', 'new-plan']);

/** Where a shared file may be downloaded from with the bot token: Slack's file host, or the Slack API the edge is pointed at. */
function fileOrigins(apiUrl: string): Set<string> {
  return new Set(['https://files.slack.com', new URL(apiUrl).origin]);
}

function isSentence(screen: Screen): boolean {
  return screen.screen === 'notice' || screen.screen === 'error';
}

type Raced<T> = { done: true; value: T } | { done: false };

/** Waits for `work` at most `ms`; the work itself goes on either way. */
async function within<T>(work: Promise<T>, ms: number): Promise<Raced<T>> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<Raced<T>>((resolve) => {
    timer = setTimeout(() => resolve({ done: false }), ms);
  });
  try {
    return await Promise.race([work.then((value): Raced<T> => ({ done: true, value })), deadline]);
  } finally {
    clearTimeout(timer);
  }
}

function slackUser(teamId: string, userId: string): ChatUser {
  return { identity: { channel: 'slack', teamId, userId } };
}

function channelRef(teamId: string, userId: string, channelId: string, threadTs?: string): ConversationRef {
  return {
    channel: 'slack',
    conversationId: channelId,
    ...(threadTs ? { threadId: threadTs } : {}),
    platform: { teamId, userId, channelId },
  };
}

/** `<@U123> run the thing` → `run the thing`. */
function withoutMentions(text: string): string {
  return text.replace(/<@[A-Z0-9]+(\|[^>]*)?>/g, ' ').replace(/\s+/g, ' ').trim();
}

export class SlackEdge implements ChannelEdge {
  readonly channel = 'slack' as const;
  readonly port: SlackPort;
  readonly app: App;
  private readonly httpReceiver: SlackHttpReceiver | undefined;
  private readonly handler: ConversationHandler;
  private readonly logger: Logger;
  private readonly modalDeadlineMs: number;
  private readonly submitBudgetMs: number;
  private readonly botToken: string;
  private readonly fileOrigins: Set<string>;
  /** Users' locales from users.info (`de-DE`), kept for an hour; `''` when Slack would not say. */
  private readonly locales: LRUCache<string, string>;
  private readonly clock: Clock;

  private constructor(options: SlackEdgeOptions) {
    this.handler = options.handler;
    this.logger = options.logger;
    this.modalDeadlineMs = options.modalDeadlineMs ?? 1200;
    this.clock = options.clock ?? systemClock;
    this.locales = ttlCache(this.clock, { ttlMs: 3_600_000, max: 10_000 });
    this.submitBudgetMs = options.submitBudgetMs ?? 2000;
    this.botToken = options.botToken;
    this.fileOrigins = fileOrigins(options.apiUrl ?? 'https://slack.com/api/');
    const clientOptions = {
      slackApiUrl: options.apiUrl ?? 'https://slack.com/api/',
      ...(options.apiRetries !== undefined ? { retryConfig: { retries: options.apiRetries } } : {}),
    };
    const logger = boltLogger(options.logger);

    this.httpReceiver = options.appToken
      ? undefined
      : new SlackHttpReceiver({
          signingSecret: requireSigningSecret(options.signingSecret),
          clock: options.clock ?? systemClock,
          logger: options.logger,
          ...(options.ackTimeoutMs !== undefined ? { ackTimeoutMs: options.ackTimeoutMs } : {}),
        });
    // The Socket Mode client writes its own retry policy (100 retries, for apps.connections.open)
    // into the options it is given; a copy keeps that policy off the bot's WebClient.
    const receiver =
      this.httpReceiver ??
      new SocketModeReceiver({ appToken: options.appToken ?? '', logger, installerOptions: { clientOptions: { ...clientOptions } } });

    this.app = new App({
      receiver,
      token: options.botToken,
      clientOptions,
      logger,
      // auth.test runs once in create(), not in the constructor where its failure would go unhandled.
      deferInitialization: true,
    });
    this.port = new SlackPort(this.app.client, options.logger);
    this.registerListeners(options.commandName ?? '/deputy');
  }

  /** Builds the edge, checks the bot token (auth.test) and, in Socket Mode, connects. */
  static async create(options: SlackEdgeOptions): Promise<SlackEdge> {
    const edge = new SlackEdge(options);
    await edge.app.init();
    if (!edge.httpReceiver) await edge.app.start();
    return edge;
  }

  get mode(): 'http' | 'socket' {
    return this.httpReceiver ? 'http' : 'socket';
  }

  mount(server: unknown): void {
    this.httpReceiver?.mount(server as RouteMounter);
  }

  async close(): Promise<void> {
    await this.app.stop();
  }

  // ---------------------------------------------------------------- listeners

  private registerListeners(commandName: string): void {
    this.app.command(commandName, async ({ ack, command }) => {
      await ack();
      const conversation = channelRef(command.team_id, command.user_id, command.channel_id);
      const user = slackUser(command.team_id, command.user_id);
      const work = this.handle({ kind: 'message', user, conversation, text: command.text.trim() || 'help' });
      await this.answerTrigger(command.trigger_id, work, conversation, command.user_id);
    });

    this.app.event('app_mention', async ({ event, body }) => {
      const teamId = event.team ?? body.team_id;
      if (!event.user) return;
      const conversation = channelRef(teamId, event.user, event.channel, event.thread_ts ?? event.ts);
      await this.answerMessage(conversation, event.user, withoutMentions(event.text));
    });

    this.app.event('message', async ({ event, body }) => {
      if (event.channel_type === 'im' && event.subtype === 'file_share') return this.onFileShare(body.team_id, event);
      if (event.channel_type !== 'im' || event.subtype !== undefined) return;
      if ('bot_id' in event && event.bot_id) return;
      const conversation = channelRef(body.team_id, event.user, event.channel, event.thread_ts);
      await this.answerMessage(conversation, event.user, withoutMentions(event.text ?? ''));
    });

    this.app.event('app_home_opened', async ({ event, body }) => {
      if (event.tab === 'messages') {
        // The person opened their DM with the bot: the core greets a conversation it has not seen.
        const conversation = event.channel ? channelRef(body.team_id, event.user, event.channel) : directMessageRef(body.team_id, event.user);
        const { immediate } = await this.handle({ kind: 'opened', user: slackUser(body.team_id, event.user), conversation });
        if (immediate) await this.port.post(conversation, immediate);
        return;
      }
      if (event.tab !== 'home') return;
      await this.publishHome(body.team_id, event.user);
    });

    this.app.action<BlockAction<ButtonAction>>({ type: 'block_actions', action_id: new RegExp(`^${ACTION_ID_PREFIX}`) }, async ({ ack, body, action }) => {
      await ack();
      await this.onButton(body, action);
    });

    this.app.view<ViewSubmitAction>(FORM_CALLBACK_ID, async ({ ack, body, view }) => {
      await this.onSubmit(body, view, ack);
    });

    this.app.view<ViewSubmitAction>(AUTHORING_FORM_CALLBACK_ID, async ({ ack, body, view }) => {
      await this.onAuthoringSubmit(body, view, ack);
    });

    // The parameter-set chooser of a form: the modal shows the chosen set's fields.
    this.app.action<BlockAction<StaticSelectAction>>({ type: 'block_actions', action_id: SET_ACTION_ID }, async ({ ack, body }) => {
      await ack();
      await this.onSetChosen(body);
    });

    // A query-bound field's options as the user types (its external select).
    this.app.options<'block_suggestion'>({ type: 'block_suggestion', action_id: CHOICES_ACTION_ID }, async ({ ack, body }) => {
      await ack({ options: await this.suggestions(body) });
    });
  }

  // ---------------------------------------------------------------- entry points

  private handle(event: Inbound): Promise<HandleResult> {
    return this.handler.handle(event);
  }

  /** Mentions and DMs: the answer is a message in the thread, or one sentence only the user sees. */
  private async answerMessage(conversation: ConversationRef, userId: string, text: string): Promise<void> {
    const teamId = String(conversation.platform?.['teamId'] ?? '');
    const { immediate } = await this.handle({ kind: 'message', user: slackUser(teamId, userId), conversation, text: text || 'help' });
    if (!immediate) return;
    if (isSentence(immediate)) await this.port.postEphemeral(conversation, userId, renderSentence(immediate));
    else await this.port.post(conversation, immediate);
  }

  /**
   * Answers something that came with a trigger_id. A quick answer opens its modal directly (or
   * becomes an ephemeral sentence); a slow one gets a loading modal at once, updated later.
   */
  private async answerTrigger(triggerId: string, work: Promise<HandleResult>, conversation: ConversationRef, userId: string): Promise<void> {
    const quick = await within(work, this.modalDeadlineMs);
    if (quick.done) {
      const screen = quick.value.immediate;
      if (!screen) return;
      if (belongsInModal(screen)) await this.app.client.views.open({ trigger_id: triggerId, view: this.modalFor(screen, conversation) });
      else if (isSentence(screen)) await this.port.postEphemeral(conversation, userId, renderSentence(screen));
      else await this.port.post(conversation, screen);
      return;
    }
    const opened = await this.app.client.views.open({ trigger_id: triggerId, view: loadingModal() });
    const { immediate } = await work;
    const viewId = opened.view?.id;
    if (!viewId) throw new Error('views.open answered without a view id');
    const screen: Screen = immediate ?? { screen: 'notice', text: 'Done.' };
    await this.app.client.views.update({ view_id: viewId, view: this.modalFor(screen, conversation) });
  }

  private modalFor(screen: Screen, conversation: ConversationRef): slack.ModalView {
    if (screen.screen === 'authoring-form') {
      const { form } = screen;
      const metadata: ModalMetadata = { conversation, submit: { verb: form.submit.verb, data: form.submit.data }, fields: Object.fromEntries(form.fields.map((field) => [field.name, field.kind])) };
      const { formError } = toSlackErrors(form.fields, screen.errors ?? {});
      return renderAuthoringFormModal(form, JSON.stringify(metadata), { ...(screen.values ? { values: screen.values } : {}), ...(formError ? { formError } : {}) });
    }
    if (screen.screen !== 'action-form') return screenModal(screen, JSON.stringify({ conversation } satisfies ModalMetadata));
    const set = shownSet(screen.action, screen.parameterSet);
    const fields = shownFields(screen.action, set);
    const metadata: ModalMetadata = {
      conversation,
      actionId: screen.action.id,
      formId: screen.formId,
      fields: Object.fromEntries(fields.map((field) => [field.name, field.kind])),
      ...(set ? { parameterSet: set.name } : {}),
    };
    const { formError } = toSlackErrors(fields, screen.errors ?? {});
    return renderFormModal(screen.action, JSON.stringify(metadata), {
      ...(screen.values ? { values: screen.values } : {}),
      ...(formError ? { formError } : {}),
      ...(set ? { parameterSet: set.name } : {}),
      ...(screen.choices ? { choices: screen.choices } : {}),
      ...(screen.waitingFor ? { waitingFor: screen.waitingFor } : {}),
    });
  }

  /** The values a form modal holds now, by parameter name (fields named in its metadata). */
  private modalValues(metadata: ModalMetadata, state: unknown): Record<string, unknown> {
    const parsed = ViewStateSchema.safeParse(state);
    return parsed.success ? readSubmittedState(fieldKinds(metadata), parsed.data) : {};
  }

  private async onSetChosen(body: BlockAction<StaticSelectAction>): Promise<void> {
    const view = body.view;
    const metadata = view ? ModalMetadataSchema.safeParse(parseJson(view.private_metadata)) : undefined;
    const teamId = body.team?.id ?? body.user.team_id;
    const state = view ? ViewStateSchema.safeParse(view.state) : undefined;
    if (!view || !metadata?.success || !metadata.data.actionId || !teamId || !state?.success) {
      this.logger.warn('slack: a parameter set was chosen outside a readable form modal');
      return;
    }
    const parameterSet = chosenSet(state.data);
    const user = await this.withLocale(slackUser(teamId, body.user.id));
    const { immediate } = await this.handle({
      kind: 'submit',
      user,
      conversation: metadata.data.conversation,
      verb: 'update-form',
      data: {
        actionId: metadata.data.actionId,
        values: this.modalValues(metadata.data, view.state),
        ...(metadata.data.formId ? { formId: metadata.data.formId } : {}),
        ...(parameterSet ? { parameterSet } : {}),
      },
    });
    if (immediate) await this.app.client.views.update({ view_id: view.id, hash: view.hash, view: this.modalFor(immediate, metadata.data.conversation) });
  }

  /** Options of a query-bound field: the core asks the executor, as the person typing, with the form's other values. */
  private async suggestions(body: BlockSuggestion): Promise<slack.PlainTextOption[]> {
    const metadata = ModalMetadataSchema.safeParse(parseJson(body.view?.private_metadata));
    const teamId = body.team?.id ?? body.user.team_id;
    const parameter = body.block_id.startsWith('field:') ? body.block_id.slice('field:'.length) : undefined;
    if (!metadata.success || !metadata.data.actionId || !teamId || !parameter || !this.handler.choices) return [];
    const choices = await this.handler.choices(await this.withLocale(slackUser(teamId, body.user.id)), {
      actionId: metadata.data.actionId,
      parameter,
      ...(body.value ? { search: body.value } : {}),
      values: this.modalValues(metadata.data, body.view?.state),
    });
    return choiceOptions(choices);
  }

  private knownLocale(user: ChatUser): ChatUser {
    const known = user.identity.channel === 'slack' ? this.locales.get(user.identity.userId) : undefined;
    return known ? { ...user, locale: known } : user;
  }

  /**
   * The user with their Slack locale (users.info), for help in their language. Asked once an
   * hour per user and at most briefly: a slow or refused answer leaves the default language.
   */
  private async withLocale(user: ChatUser): Promise<ChatUser> {
    if (user.identity.channel !== 'slack') return user;
    const userId = user.identity.userId;
    const known = this.locales.get(userId);
    if (known !== undefined) return known ? { ...user, locale: known } : user;
    const asked = this.app.client.users
      .info({ user: userId, include_locale: true })
      .then((answer) => (typeof answer.user?.locale === 'string' ? answer.user.locale : null))
      .catch((error: unknown) => {
        this.logger.debug({ err: error instanceof Error ? error.message : String(error) }, 'slack: users.info gave no locale');
        return null;
      });
    const answered = await within(asked, 800);
    const locale = answered.done ? answered.value : null;
    this.locales.set(userId, locale ?? '');
    return locale ? { ...user, locale } : user;
  }

  private async onButton(body: BlockAction<ButtonAction>, action: ButtonAction): Promise<void> {
    const verb = VerbSchema.safeParse(action.action_id.slice(ACTION_ID_PREFIX.length));
    const data = ButtonDataSchema.safeParse(parseJson(action.value ?? '{}'));
    const teamId = body.team?.id ?? body.user.team_id;
    if (!verb.success || !data.success || !teamId) {
      this.logger.warn({ actionId: action.action_id }, 'slack: button with an unknown verb or malformed value ignored');
      return;
    }
    const userId = body.user.id;
    const user = verb.data === 'open-form' || verb.data === 'update-form' ? await this.withLocale(slackUser(teamId, userId)) : slackUser(teamId, userId);
    const view = body.view;
    const message = body.message as { ts?: string; thread_ts?: string } | undefined;
    const metadata = view?.type === 'modal' ? ModalMetadataSchema.safeParse(parseJson(view.private_metadata)) : undefined;

    let conversation: ConversationRef;
    if (metadata?.success) conversation = metadata.data.conversation;
    else if (body.channel?.id && message?.ts) conversation = channelRef(teamId, userId, body.channel.id, message.thread_ts ?? message.ts);
    else conversation = directMessageRef(teamId, userId);

    const inbound: Inbound = {
      kind: 'submit',
      user,
      conversation,
      verb: verb.data,
      data: data.data,
      ...(message?.ts && !view ? { messageId: message.ts } : {}),
    };
    const work = this.handle(inbound);

    if (view?.type === 'modal') {
      const { immediate } = await work;
      if (immediate) await this.app.client.views.update({ view_id: view.id, hash: view.hash, view: this.modalFor(immediate, conversation) });
      return;
    }
    if (MODAL_VERBS.has(verb.data)) {
      await this.answerTrigger(body.trigger_id, work, conversation, userId);
      return;
    }

    const { immediate } = await work;
    if (immediate) {
      if (isSentence(immediate)) await this.port.postEphemeral(conversation, userId, renderSentence(immediate));
      else if (message?.ts && !view) await this.port.update(conversation, message.ts, immediate);
      else await this.port.post(conversation, immediate);
    }
    // A decision or cancel from the Home tab changes what it shows.
    if (view?.type === 'home') await this.publishHome(teamId, userId);
  }

  private async onSubmit(body: ViewSubmitAction, view: ViewOutput, ack: (response?: ViewResponseAction) => Promise<void>): Promise<void> {
    const submission = await this.readSubmission(body, view, ack, (metadata) => metadata.actionId !== undefined);
    if (!submission) return;
    const { conversation, actionId, parameterSet, formId } = submission.metadata;
    const work = this.handle({
      kind: 'submit',
      user: submission.user,
      conversation,
      verb: 'submit-form',
      data: { actionId, values: submission.values, ...(formId ? { formId } : {}), ...(parameterSet ? { parameterSet } : {}) },
    });
    const answered = await this.answerWithin(work, ack, submission, 'Submitted. The result will appear in the conversation.');
    if (!answered.done) return;
    const screen = answered.value.immediate;
    if (screen?.screen === 'action-form') {
      const { blockErrors, formError } = toSlackErrors(shownFields(screen.action, shownSet(screen.action, screen.parameterSet)), screen.errors ?? {});
      if (Object.keys(blockErrors).length > 0) {
        // Slack keeps every value the user typed; only the messages are new.
        const errors = formError ? appendToFirst(blockErrors, formError) : blockErrors;
        await ack({ response_action: 'errors', errors });
      } else {
        await ack({ response_action: 'update', view: this.modalFor(screen, conversation) });
      }
      return;
    }
    await this.closeWith(screen, ack, conversation);
  }

  /**
   * An authoring form's submission: a form again (the next step, or the same with the
   * executor's reasons under its fields) stays in the modal; anything else closes it and goes
   * to the conversation.
   */
  private async onAuthoringSubmit(body: ViewSubmitAction, view: ViewOutput, ack: (response?: ViewResponseAction) => Promise<void>): Promise<void> {
    const submission = await this.readSubmission(body, view, ack, (metadata) => metadata.submit !== undefined);
    const submit = submission?.metadata.submit;
    if (!submission || !submit) return;
    const { conversation } = submission.metadata;
    const work = this.handle({ kind: 'submit', user: submission.user, conversation, verb: submit.verb, data: { ...submit.data, values: submission.values } });
    const answered = await this.answerWithin(work, ack, submission, 'Working on it; the answer will appear in the conversation.');
    if (!answered.done) return;
    const screen = answered.value.immediate;
    if (screen?.screen === 'authoring-form') {
      const { blockErrors, formError } = toSlackErrors(screen.form.fields, screen.errors ?? {});
      // Field messages under their fields (Slack keeps what was typed); a message for the whole form re-renders it.
      if (!formError && Object.keys(blockErrors).length > 0) await ack({ response_action: 'errors', errors: blockErrors });
      else await ack({ response_action: 'update', view: this.modalFor(screen, conversation) });
      return;
    }
    await this.closeWith(screen, ack, conversation);
  }

  /** A modal submission's who, where and values; `undefined` (after telling Slack) when it cannot be read. */
  private async readSubmission(
    body: ViewSubmitAction,
    view: ViewOutput,
    ack: (response?: ViewResponseAction) => Promise<void>,
    complete: (metadata: ModalMetadata) => boolean,
  ): Promise<{ metadata: ModalMetadata; user: ChatUser; userId: string; values: Record<string, string | string[] | boolean> } | undefined> {
    const metadata = ModalMetadataSchema.safeParse(parseJson(view.private_metadata));
    const state = ViewStateSchema.safeParse(view.state);
    const teamId = body.team?.id ?? body.user.team_id;
    if (!metadata.success || !complete(metadata.data) || !state.success || !teamId) {
      this.logger.warn('slack: form submission with unreadable metadata or state');
      await ack({ response_action: 'update', view: screenModal({ screen: 'notice', text: ERRORS.DEPUTY_E_BAD_REQUEST.message }) });
      return undefined;
    }
    // Slack's shape taken apart here; the core converts the values by the form's fields. The
    // locale is the one learned when the form opened: a submission answers within Slack's 3 s, no extra call.
    return { metadata: metadata.data, user: this.knownLocale(slackUser(teamId, body.user.id)), userId: body.user.id, values: readSubmittedState(fieldKinds(metadata.data), state.data) };
  }

  /** Waits for the core within the submission budget; when it is late, acks at once and posts its answer later. */
  private async answerWithin(
    work: Promise<HandleResult>,
    ack: (response?: ViewResponseAction) => Promise<void>,
    submission: { metadata: ModalMetadata; userId: string },
    lateText: string,
  ): Promise<Raced<HandleResult>> {
    const answered = await within(work, this.submitBudgetMs);
    if (answered.done) return answered;
    // Ack now, Slack will not wait; whatever the core says later goes to the conversation.
    await ack({ response_action: 'update', view: screenModal({ screen: 'notice', text: lateText }) });
    const { immediate } = await work;
    if (immediate) await this.afterSubmit(submission.metadata.conversation, submission.userId, immediate);
    return answered;
  }

  /** After a form: a sentence stays in the modal; anything else closes it and goes to the conversation. */
  private async closeWith(screen: Screen | undefined, ack: (response?: ViewResponseAction) => Promise<void>, conversation: ConversationRef): Promise<void> {
    if (screen && isSentence(screen)) {
      await ack({ response_action: 'update', view: screenModal(screen) });
      return;
    }
    await ack();
    if (screen) await this.port.post(conversation, screen);
  }

  /** A file shared in the person's DM with the bot: downloaded with the bot token (from Slack only), then handed to the core. */
  private async onFileShare(teamId: string, event: { channel: string; user?: string; thread_ts?: string; files?: { name?: string | null; url_private_download?: string; url_private?: string }[] }): Promise<void> {
    const userId = event.user;
    const shared = event.files?.[0];
    if (!userId || !shared) return;
    const conversation = channelRef(teamId, userId, event.channel, event.thread_ts);
    const name = shared.name ?? 'file';
    const address = shared.url_private_download ?? shared.url_private;
    const url = address ? URL.parse(address) : null;
    let file: SentFile;
    if (!url || !this.fileOrigins.has(url.origin)) {
      // The bot token goes to Slack's own hosts only, whatever an event names.
      this.logger.warn({ origin: url?.origin }, 'slack: a shared file outside Slack\'s file host was not downloaded');
      file = { name, problem: 'unreadable' };
    } else {
      const downloaded = await downloadSentFile(name, url, { authorization: `Bearer ${this.botToken}` });
      if (downloaded.detail) this.logger.warn({ detail: downloaded.detail }, 'slack: a shared file could not be downloaded');
      file = downloaded.file;
    }
    const { immediate } = await this.handle({ kind: 'file', user: slackUser(teamId, userId), conversation, file });
    if (!immediate) return;
    if (isSentence(immediate)) await this.port.postEphemeral(conversation, userId, renderSentence(immediate));
    else await this.port.post(conversation, immediate);
  }

  private async afterSubmit(conversation: ConversationRef, userId: string, screen: Screen): Promise<void> {
    if (screen.screen === 'action-form' || isSentence(screen)) {
      const text = screen.screen === 'action-form' ? ERRORS.DEPUTY_E_VALIDATION.message : renderSentence(screen);
      await this.port.postEphemeral(conversation, userId, text);
      return;
    }
    await this.port.post(conversation, screen);
  }

  // ---------------------------------------------------------------- App Home

  private async publishHome(teamId: string, userId: string): Promise<void> {
    const user = slackUser(teamId, userId);
    const overview = this.handler.home ? await this.handler.home(user) : await this.overviewFromActionList(user, teamId, userId);
    await this.app.client.views.publish({ user_id: userId, view: renderHome(overview, ERRORS.DEPUTY_E_NOT_ENROLLED.message) });
  }

  /** For a core without `home()`: the action list is the dashboard, with no runs or approvals. */
  private async overviewFromActionList(user: ChatUser, teamId: string, userId: string): Promise<HomeOverview | undefined> {
    const { immediate } = await this.handle({ kind: 'message', user, conversation: directMessageRef(teamId, userId), text: 'help' });
    if (immediate?.screen !== 'action-list') return undefined;
    return { principal: immediate.principal, actions: immediate.actions, recentRuns: [], pendingApprovals: [] };
  }
}

function appendToFirst(errors: Record<string, string>, extra: string): Record<string, string> {
  const [first] = Object.keys(errors);
  return first ? { ...errors, [first]: `${errors[first]} ${extra}` } : errors;
}

function parseJson(text: string | undefined): unknown {
  if (!text) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

export function createSlackEdge(options: SlackEdgeOptions): Promise<SlackEdge> {
  return SlackEdge.create(options);
}

/** HTTP mode verifies every request with the signing secret; without one it must not start. */
function requireSigningSecret(secret: string | undefined): string {
  if (!secret) throw new DeputyError('DEPUTY_E_CONFIG_INVALID', { message: 'SLACK_SIGNING_SECRET: needed to verify Slack requests in HTTP mode' });
  return secret;
}
