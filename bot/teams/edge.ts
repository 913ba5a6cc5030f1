/**
 * The Microsoft Teams edge: botbuilder's CloudAdapter at `POST /api/messages`.
 *
 * - Every activity's JWT is verified by botbuilder (ConfigurationBotFrameworkAuthentication)
 *   before any of our code sees it; a forged, expired, mis-addressed or missing token gets 401.
 *   The token alone is checked before the body is read at all, and the body is read only as
 *   uncompressed JSON within the limit.
 * - Each activity is translated once into the neutral `Inbound` and handed to the core.
 * - `Action.Execute` invokes are answered within Teams' limit (five seconds, then the client
 *   retries): the core gets `invokeDeadlineMs`; if it is slower, Teams gets a "working on it"
 *   card at once and the card is updated in place when the core's answer arrives.
 * - Conversation references go into `ConversationRef.platform`, so the core can store them and
 *   post proactively after a restart (`continueConversationAsync`).
 */
import { STATUS_CODES } from 'node:http';
import {
  ActivityTypes,
  CloudAdapter,
  type ConfigurationBotFrameworkAuthentication,
  TeamsInfo,
  type Activity,
  type ConversationReference,
  type Request as BotRequest,
  type Response as BotResponse,
  type TurnContext,
} from 'botbuilder';
import type { Server, Request, Response } from 'restify';
import { isDeputyError, ERRORS, type Choice } from '../../executor/contract/index.ts';
import { renderCard } from '../../cards/render.ts';
import { BodyRefused, closeAfterAnswer, headerRefusal, readBody } from '../../lib/http-body.ts';
import { newCorrelationId } from '../../lib/ids.ts';
import { systemClock, type Clock } from '../../lib/clock.ts';
import { ttlCache } from '../../lib/ttl-cache.ts';
import type { LRUCache } from 'lru-cache';
import type { Logger } from '../../lib/logger.ts';
import type {
  ChannelEdge,
  ConversationHandler,
  ConversationPort,
  ConversationRef,
  FileAttachment,
  HandleResult,
  Inbound,
  Screen,
  SentFile,
} from '../core/model.ts';
import { FileShelf } from '../core/file-shelf.ts';
import { botFrameworkAuthOptions, type TeamsCloudEndpoints, type TeamsCredentials } from './config.ts';
import { ReusedClientsAuthentication } from './reused-clients.ts';
import {
  cardAttachment,
  cardInvokeResponse,
  errorInvokeResponse,
  MAX_REFRESH_USERS,
  isPerUserScreen,
  teamsCard,
  type CardRenderer,
} from './cards.ts';
import { downloadSentFile } from '../core/files.ts';
import {
  attachedFile,
  conversationRefOf,
  ExecuteInvokeValueSchema,
  fileInbound,
  messageInbound,
  MissingIdentityError,
  SearchInvokeValueSchema,
  searchUser,
  openedInbound,
  storedReference,
  submitInbound,
} from './translate.ts';
import { parseChoicesDataset, valuesByFieldName } from '../../cards/form.ts';

export const TEAMS_MESSAGES_PATH = '/api/messages';

/** Teams gives an invoke five seconds; answering by three leaves room for the network. */
const DEFAULT_INVOKE_DEADLINE_MS = 3000;
/** Member lists change slowly; a refresh audience is reused for this long per conversation. */
const AUDIENCE_TTL_MS = 5 * 60_000;
/** Conversations whose member list is remembered at once (a cache: the oldest is dropped first). */
const DEFAULT_MAX_AUDIENCES = 2000;
const DEFAULT_MAX_BODY_BYTES = 256 * 1024;
/** The Bot Framework's channel id for Teams: the signing key must endorse it. */
const TEAMS_CHANNEL_ID = 'msteams';

const WORKING: Screen = { screen: 'notice', text: 'Working on it… this card updates when Deputy has the answer.' };
const UNIDENTIFIED: Screen = {
  screen: 'notice',
  text: 'Deputy could not read your Microsoft Entra identity from Teams, so it cannot tell who you are.',
};

type CredentialsFactory = ConstructorParameters<typeof ConfigurationBotFrameworkAuthentication>[1];

export interface TeamsEdgeOptions {
  credentials: TeamsCredentials;
  handler: ConversationHandler;
  logger: Logger;
  clock?: Clock;
  render?: CardRenderer;
  /** How long the core may take before an invoke or message is answered with "working on it". */
  invokeDeadlineMs?: number;
  maxBodyBytes?: number;
  /** Sovereign or private cloud endpoints (and the tests' loopback cloud). Public cloud when absent. */
  endpoints?: TeamsCloudEndpoints;
  /** How the bot obtains its outbound token; botbuilder's default, built from `credentials`, when absent. */
  credentialsFactory?: CredentialsFactory;
  /**
   * Tests only (the loopback cloud speaks plain http): download files users attach from http://
   * addresses too. Off, only https addresses are fetched.
   */
  insecureFileDownloads?: boolean;
  /**
   * The hosts an attached file is downloaded from (`*.example.com`: that domain's hosts), so an
   * activity cannot make the bot fetch an address inside its network and show what came back in
   * the preview. Default TEAMS_FILE_HOSTS; a private cloud or the tests' loopback cloud name theirs.
   */
  fileHosts?: readonly string[];
  /** Conversations whose member list is cached for per-user refresh. */
  maxAudiences?: number;
  /**
   * `DEPUTY_PUBLIC_URL`: where Teams clients reach the bot. With it, long output is a link to
   * `<publicUrl>/api/files/<id>` (128-bit id, 24 hours); without it, the file rides in the message.
   */
  publicUrl?: string;
}

export const TEAMS_FILES_PATH = '/api/files';

/** Where Teams keeps the files people attach in a personal chat: SharePoint and OneDrive, in Microsoft's public and government clouds and in China. */
export const TEAMS_FILE_HOSTS: readonly string[] = ['*.sharepoint.com', '*.sharepoint.us', '*.sharepoint-mil.us', '*.sharepoint.cn'];

/** Whether `host` is one `patterns` name (`*.domain` for the hosts below a domain); case does not matter. */
export function isAllowedFileHost(host: string, patterns: readonly string[]): boolean {
  const name = host.toLowerCase().replace(/\.$/, '');
  return patterns.some((pattern) => {
    const wanted = pattern.toLowerCase();
    return wanted.startsWith('*.') ? name.endsWith(wanted.slice(1)) && name.length > wanted.length - 1 : name === wanted;
  });
}

type Outcome = { kind: 'answered'; result: HandleResult } | { kind: 'late'; later: Promise<HandleResult | undefined> };

export class TeamsEdge implements ChannelEdge {
  readonly channel = 'teams' as const;
  readonly port: ConversationPort;
  readonly adapter: CloudAdapter;
  private readonly auth: ReusedClientsAuthentication;

  private readonly appId: string;
  private readonly handler: ConversationHandler;
  private readonly logger: Logger;
  private readonly clock: Clock;
  private readonly render: CardRenderer;
  private readonly deadlineMs: number;
  private readonly maxBodyBytes: number;
  private readonly insecureFileDownloads: boolean;
  private readonly fileHosts: readonly string[];
  private readonly files: FileShelf;
  private readonly publicUrl: string | undefined;
  /** Member lists per conversation (none: too many members, or unreadable), for per-user refresh. */
  private readonly audiences: LRUCache<string, { userIds: string[] | undefined }>;
  private readonly background = new Set<Promise<void>>();

  constructor(options: TeamsEdgeOptions) {
    this.auth = new ReusedClientsAuthentication(
      botFrameworkAuthOptions(options.credentials, options.endpoints),
      options.credentialsFactory,
    );
    this.adapter = new CloudAdapter(this.auth);
    this.appId = options.credentials.appId;
    this.handler = options.handler;
    this.logger = options.logger.child({ edge: 'teams' });
    this.clock = options.clock ?? systemClock;
    this.render = options.render ?? renderCard;
    this.deadlineMs = options.invokeDeadlineMs ?? DEFAULT_INVOKE_DEADLINE_MS;
    this.maxBodyBytes = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
    this.insecureFileDownloads = options.insecureFileDownloads ?? false;
    this.fileHosts = options.fileHosts ?? TEAMS_FILE_HOSTS;
    this.audiences = ttlCache(this.clock, { ttlMs: AUDIENCE_TTL_MS, max: options.maxAudiences ?? DEFAULT_MAX_AUDIENCES });
    this.files = new FileShelf(this.clock);
    this.publicUrl = options.publicUrl?.replace(/\/+$/, '');
    this.adapter.onTurnError = async (_context, error) => {
      this.logger.error({ err: error }, 'teams turn failed');
    };
    this.port = {
      post: (conversation, screen) => this.post(conversation, screen),
      update: (conversation, messageId, screen) => this.update(conversation, messageId, screen),
      postFile: (conversation, file) => this.postFile(conversation, file),
    };
  }

  mount(server: unknown): void {
    // restify tells async handlers from callback ones by their kind, so this one is `async`.
    (server as Server).post(TEAMS_MESSAGES_PATH, async (req: Request, res: Response) => this.receive(req, res));
    if (this.publicUrl) (server as Server).get(`${TEAMS_FILES_PATH}/:fileId`, async (req: Request, res: Response) => this.serveFile(req, res));
  }

  /** Waits for work the edge carries on after answering (late answers), so shutdown loses nothing. */
  async close(): Promise<void> {
    while (this.background.size > 0) await Promise.allSettled([...this.background]);
  }

  // ------------------------------------------------------------------ inbound

  private async receive(req: Request, res: Response): Promise<void> {
    const refuse = (status: number) => {
      closeAfterAnswer(req, res);
      res.status(status);
      res.send({ error: STATUS_CODES[status] });
    };
    const rules = { limitBytes: this.maxBodyBytes, mediaTypes: ['application/json'] };
    const refused = headerRefusal(req.headers, rules);
    if (refused) return refuse(refused.reason === 'too-large' ? 413 : 415);
    if (!(await this.tokenIsAuthentic(req))) return refuse(401);
    let body: unknown;
    try {
      body = JSON.parse((await readBody(req, res, rules)).toString('utf8'));
    } catch (error) {
      return refuse(error instanceof BodyRefused && error.reason === 'too-large' ? 413 : 400);
    }
    (req as unknown as { body: unknown }).body = body;
    let turnStarted = false;
    const answer = new BufferedAnswer();
    await this.adapter.process(req as unknown as BotRequest, answer, (context) => {
      turnStarted = true;
      return this.onTurn(context);
    });
    if (!turnStarted && (answer.statusCode === 401 || answer.statusCode === 500)) {
      // botbuilder refused the request before our turn ran. A bad signature surfaces from it
      // as a plain error (500 with the verifier's message); either way the request was not
      // authenticated, and the caller learns nothing more than that.
      this.logger.warn({ status: answer.statusCode, reason: answer.body }, 'teams request refused: not authenticated');
      res.status(401);
      res.send({ error: 'Unauthorized' });
      return;
    }
    res.status(answer.statusCode);
    if (answer.body === undefined) res.end();
    else res.send(answer.body);
  }

  /**
   * The Bot Framework token on its own, before a byte of the body is read: its signature,
   * issuer, audience and lifetime. botbuilder checks it again with the activity (its service
   * URL, and the channel the signing key endorses).
   */
  private async tokenIsAuthentic(req: Request): Promise<boolean> {
    try {
      await this.auth.authenticateStreamingRequest(req.header('authorization') ?? '', TEAMS_CHANNEL_ID);
      return true;
    } catch (error) {
      this.logger.warn({ reason: error instanceof Error ? error.message : String(error) }, 'teams request refused before its body was read: not authenticated');
      return false;
    }
  }

  private async onTurn(context: TurnContext): Promise<void> {
    const activity = context.activity;
    if (activity.type === ActivityTypes.Message) return this.onMessage(context);
    if (activity.type === ActivityTypes.Invoke && activity.name === 'adaptiveCard/action') return this.onExecute(context);
    if (activity.type === ActivityTypes.Invoke && activity.name === 'application/search') return this.onSearch(context);
    if (activity.type === ActivityTypes.ConversationUpdate) return this.onConversationUpdate(context);
    // Other activities (installation, typing, reactions...) need no answer from Deputy; an
    // unknown invoke gets botbuilder's 501.
  }

  private async onMessage(context: TurnContext): Promise<void> {
    let inbound: Inbound;
    try {
      const attached = attachedFile(context.activity);
      inbound = attached ? await fileInbound(context.activity, () => this.download(attached)) : messageInbound(context.activity);
    } catch (error) {
      if (!(error instanceof MissingIdentityError)) throw error;
      await context.sendActivity(this.cardMessage(UNIDENTIFIED, undefined));
      return;
    }
    const outcome = await this.handleWithin(inbound);
    if (outcome.kind === 'answered') {
      if (outcome.result.immediate) await context.sendActivity(await this.cardFor(context, outcome.result.immediate));
      return;
    }
    this.carryOn(outcome.later, (result) => (result.immediate ? this.post(inbound.conversation, result.immediate).then(() => undefined) : undefined));
  }

  /** The bot was added to a personal chat (installed): the core may greet, once per conversation. */
  private async onConversationUpdate(context: TurnContext): Promise<void> {
    const { activity } = context;
    const botAdded = (activity.membersAdded ?? []).some((member) => member.id === activity.recipient?.id);
    if (!botAdded || activity.conversation?.conversationType !== 'personal') return;
    let inbound: Inbound;
    try {
      inbound = openedInbound(activity);
    } catch (error) {
      if (error instanceof MissingIdentityError) return;
      throw error;
    }
    const outcome = await this.handleWithin(inbound);
    const later = outcome.kind === 'answered' ? Promise.resolve(outcome.result) : outcome.later;
    this.carryOn(later, (result) => (result.immediate ? this.post(inbound.conversation, result.immediate).then(() => undefined) : undefined));
  }

  private async onExecute(context: TurnContext): Promise<void> {
    const parsed = ExecuteInvokeValueSchema.safeParse(context.activity.value);
    if (!parsed.success) {
      this.logger.warn({ issues: parsed.error.issues }, 'teams invoke with an unknown verb or shape');
      return this.answerInvoke(context, errorInvokeResponse(400, ERRORS.DEPUTY_E_BAD_REQUEST.message));
    }
    let inbound: Inbound;
    try {
      inbound = submitInbound(context.activity, parsed.data);
    } catch (error) {
      if (!(error instanceof MissingIdentityError)) throw error;
      return this.answerInvoke(context, cardInvokeResponse(teamsCard(this.render, UNIDENTIFIED, undefined)));
    }
    const outcome = await this.handleWithin(inbound);
    if (outcome.kind === 'answered') {
      const screen = outcome.result.immediate;
      if (!screen) {
        // The core shows its answer elsewhere (an update it posts itself): Teams only needs an ack.
        return this.answerInvoke(context, { status: 200, body: { statusCode: 200, type: 'application/vnd.microsoft.activity.message', value: 'OK' } });
      }
      return this.answerInvoke(context, cardInvokeResponse(teamsCard(this.render, screen, await this.audienceFor(context, screen))));
    }
    await this.answerInvoke(context, cardInvokeResponse(teamsCard(this.render, WORKING, undefined)));
    const messageId = inbound.kind === 'submit' ? inbound.messageId : undefined;
    this.carryOn(outcome.later, (result) => {
      if (!result.immediate) return undefined;
      return messageId
        ? this.update(inbound.conversation, messageId, result.immediate)
        : this.post(inbound.conversation, result.immediate).then(() => undefined);
    });
  }

  /** The file behind a Teams attachment: its pre-authorized address (https, unless a test says otherwise, on a file host), no token of ours sent. */
  private async download(attached: { name: string; downloadUrl: string }): Promise<SentFile> {
    const url = URL.parse(attached.downloadUrl);
    const secure = url !== null && (url.protocol === 'https:' || (this.insecureFileDownloads && url.protocol === 'http:'));
    if (!secure || !isAllowedFileHost(url.hostname, this.fileHosts)) {
      this.logger.warn({ protocol: url?.protocol, host: url?.hostname }, 'teams: an attached file outside the file hosts (or not https) was not downloaded');
      return { name: attached.name, problem: 'unreadable' };
    }
    const { file, detail } = await downloadSentFile(attached.name, url, {});
    if (detail) this.logger.warn({ detail }, 'teams: an attached file could not be downloaded');
    return file;
  }

  /**
   * Teams' typeahead on a query-bound field (`choices.data`): the dataset names the action and
   * the field, `data` holds the card's other values (for choices that depend on them). The
   * core asks the executor, which checks the policy again; a failure is an empty list.
   */
  private async onSearch(context: TurnContext): Promise<void> {
    const parsed = SearchInvokeValueSchema.safeParse(context.activity.value);
    const target = parsed.success ? parseChoicesDataset(parsed.data.dataset) : undefined;
    if (!parsed.success || !target || !this.handler.choices) {
      return this.answerInvoke(context, { status: 200, body: searchResponse([]) });
    }
    let user;
    try {
      user = searchUser(context.activity);
    } catch (error) {
      if (!(error instanceof MissingIdentityError)) throw error;
      return this.answerInvoke(context, { status: 200, body: searchResponse([]) });
    }
    const { queryText, queryOptions, data } = parsed.data;
    const choices = await this.handler.choices(user, {
      actionId: target.actionId,
      parameter: target.fieldName,
      ...(queryText ? { search: queryText } : {}),
      values: valuesByFieldName(data ?? {}, target.setIndex),
    });
    const page = choices.slice(queryOptions.skip, queryOptions.skip + queryOptions.top);
    return this.answerInvoke(context, { status: 200, body: searchResponse(page) });
  }

  private async answerInvoke(context: TurnContext, response: { status: number; body: unknown }): Promise<void> {
    await context.sendActivity({ type: ActivityTypes.InvokeResponse, value: response });
  }

  /**
   * Gives the core until the deadline. A failure becomes an error screen (registry message and
   * correlation id for the user, detail for the log); a late answer is carried on afterwards.
   */
  private async handleWithin(inbound: Inbound): Promise<Outcome> {
    const work = this.handler.handle(inbound).catch((error: unknown) => ({ immediate: this.errorScreen(error) }));
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<'late'>((resolve) => {
      timer = setTimeout(() => resolve('late'), this.deadlineMs);
    });
    try {
      const first = await Promise.race([work, deadline]);
      return first === 'late' ? { kind: 'late', later: work } : { kind: 'answered', result: first };
    } finally {
      clearTimeout(timer);
    }
  }

  private errorScreen(error: unknown): Screen {
    const correlationId = newCorrelationId();
    this.logger.error({ err: error, correlationId }, 'the core failed on a Teams activity');
    const message = isDeputyError(error) ? error.message : ERRORS.DEPUTY_E_INTERNAL.message;
    return { screen: 'error', message, correlationId };
  }

  /** Runs `then` on a late answer, after the turn has been answered; failures go to the log. */
  private carryOn(later: Promise<HandleResult | undefined>, then: (result: HandleResult) => Promise<void> | undefined): void {
    const task = later
      .then((result) => (result ? then(result) : undefined))
      .catch((error: unknown) => this.logger.error({ err: error }, 'a late Teams answer could not be delivered'))
      .finally(() => this.background.delete(task));
    this.background.add(task);
  }

  // ------------------------------------------------------------------ outbound (ConversationPort)

  private async post(conversation: ConversationRef, screen: Screen): Promise<string> {
    let id = '';
    await this.continueIn(conversation, async (context) => {
      const sent = await context.sendActivity(await this.cardFor(context, screen));
      id = sent?.id ?? '';
    });
    return id;
  }

  private async update(conversation: ConversationRef, messageId: string, screen: Screen): Promise<void> {
    await this.continueIn(conversation, async (context) => {
      const message = await this.cardFor(context, screen);
      await context.updateActivity({ ...message, id: messageId });
    });
  }

  /**
   * Long output as an attachment on a message in the thread. Teams shows the name and lets the
   * user open the text; a real file upload would need OneDrive consent cards, which Deputy
   * does not ask for.
   */
  private async postFile(conversation: ConversationRef, file: FileAttachment): Promise<void> {
    // An absolute link opens from any Teams client; a data: URL only rides along in the message.
    const contentUrl = this.publicUrl
      ? `${this.publicUrl}${TEAMS_FILES_PATH}/${this.files.put(file)}`
      : `data:${file.contentType};base64,${Buffer.from(file.content, 'utf8').toString('base64')}`;
    await this.continueIn(conversation, async (context) => {
      await context.sendActivity({
        type: ActivityTypes.Message,
        text: file.name,
        attachments: [{ name: file.name, contentType: file.contentType, contentUrl }],
      });
    });
  }

  /** A posted file by its link: the unguessable id is the capability, and it expires. */
  private async serveFile(req: Request, res: Response): Promise<void> {
    const file = this.files.get(String(req.params.fileId));
    if (!file) {
      res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' });
      res.end('No such file, or its link has expired.');
      return;
    }
    const body = Buffer.from(file.content, 'utf8');
    res.writeHead(200, {
      'content-type': `${file.contentType}; charset=utf-8`,
      'content-length': body.length,
      'content-disposition': `attachment; filename="${file.name.replace(/[^\w.-]/g, '_')}"`,
      'cache-control': 'private, no-store',
      // Files come from scripts (an HTML report among them): a download, never a page with the bot's origin.
      'content-security-policy': 'sandbox',
      'x-content-type-options': 'nosniff',
    });
    res.end(body);
  }

  private async continueIn(conversation: ConversationRef, logic: (context: TurnContext) => Promise<void>): Promise<void> {
    if (conversation.channel !== 'teams') throw new Error(`The Teams edge cannot post to a ${conversation.channel} conversation.`);
    await this.adapter.continueConversationAsync(this.appId, storedReference(conversation), async (context) => {
      // botbuilder makes every proactive send a reply to its made-up continuation activity id;
      // Deputy's messages go into the reply chain the ref names, or to the conversation itself.
      context.onSendActivities(async (_context, activities, next) => {
        for (const activity of activities) {
          if (conversation.threadId) activity.replyToId = conversation.threadId;
          else delete activity.replyToId;
        }
        return next();
      });
      await logic(context);
    });
  }

  /**
   * Opens (or finds) the one-to-one chat with the user a reference names, e.g. to notify
   * someone seen only in a channel. Teams answers `POST /v3/conversations` with the existing
   * personal chat when there is one.
   */
  async personalConversationFor(conversation: ConversationRef): Promise<ConversationRef> {
    const reference = storedReference(conversation) as ConversationReference;
    if (!reference.user) throw new Error('The conversation reference names no user.');
    let personal: ConversationRef | undefined;
    await this.adapter.createConversationAsync(
      this.appId,
      reference.channelId,
      reference.serviceUrl,
      'https://api.botframework.com',
      {
        isGroup: false,
        bot: reference.bot,
        members: [reference.user],
        tenantId: reference.conversation.tenantId,
        channelData: { tenant: { id: reference.conversation.tenantId } },
      } as Parameters<CloudAdapter['createConversationAsync']>[4],
      async (context) => {
        personal = conversationRefOf(context.activity);
      },
    );
    if (!personal) throw new Error('Teams did not create the personal conversation.');
    return personal;
  }

  // ------------------------------------------------------------------ rendering

  private cardMessage(screen: Screen, audience: string[] | undefined): Partial<Activity> {
    return { type: ActivityTypes.Message, attachments: [cardAttachment(teamsCard(this.render, screen, audience))] };
  }

  private async cardFor(context: TurnContext, screen: Screen): Promise<Partial<Activity>> {
    return this.cardMessage(screen, await this.audienceFor(context, screen));
  }

  /**
   * Who the card refreshes for: in a personal chat the one user; elsewhere the members, if
   * there are at most 60 of them. `undefined` when the list is too long or cannot be read.
   */
  private async audienceFor(context: TurnContext, screen: Screen): Promise<string[] | undefined> {
    if (!isPerUserScreen(screen)) return undefined;
    const { conversation, from } = context.activity;
    if (conversation.conversationType === 'personal') return from?.id ? [from.id] : undefined;
    const key = conversation.id.replace(/;messageid=\d+$/, '');
    const cached = this.audiences.get(key);
    if (cached) return cached.userIds;
    let userIds: string[] | undefined;
    try {
      const page = await TeamsInfo.getPagedMembers(context, MAX_REFRESH_USERS);
      userIds = page.continuationToken ? undefined : page.members.map((member) => member.id);
    } catch (error) {
      this.logger.warn({ err: error }, 'could not list the conversation members for a per-user card refresh');
    }
    // Bounded: the least recently used conversation's list goes first (it is only a cache of member lists).
    this.audiences.set(key, { userIds });
    return userIds;
  }
}

/** The answer to an `application/search` invoke (Teams' dynamic typeahead). */
function searchResponse(choices: readonly Choice[]): unknown {
  return { type: 'application/vnd.microsoft.search.searchResponse', value: { results: choices.map((choice) => ({ value: choice.value, title: choice.title })) } };
}

/** Holds botbuilder's answer (status and body) so the edge can look at it before it is sent. */
class BufferedAnswer implements BotResponse {
  readonly socket = undefined;
  statusCode = 200;
  body: unknown;
  end(): unknown {
    return undefined;
  }
  header(): unknown {
    return undefined;
  }
  send(body?: unknown): unknown {
    this.body = body;
    return undefined;
  }
  status(code: number): unknown {
    this.statusCode = code;
    return undefined;
  }
}
