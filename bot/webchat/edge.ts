/**
 * The local web chat edge (demo mode only): serves the page, a Direct Line 3.0 subset for
 * botframework-webchat, translates its activities into `Inbound`, and renders screens as
 * Adaptive Cards with Action.Submit.
 *
 * Who speaks is the persona the page's token was issued for, never the activity's `from`.
 * An update in place re-delivers the card under its own activity id (see directline.ts).
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { gzip } from 'node:zlib';
import restify, { type Request, type Response, type Server } from 'restify';
import { z } from 'zod';
import { renderCard } from '../../cards/render.ts';
import { SUBMIT_VERBS } from '../../cards/screens.ts';
import { DeputyError, isDeputyError, type PersonaList } from '../../executor/contract/index.ts';
import type { Clock } from '../../lib/clock.ts';
import type { Logger } from '../../lib/logger.ts';
import type { ChannelEdge, ConversationHandler, ConversationPort, ConversationRef, FileAttachment, Inbound, Screen } from '../core/model.ts';
import { MAX_SENT_FILE_BYTES, sentFileFromBytes } from '../core/files.ts';
import { BodyRefused, closeAfterAnswer, readBody } from '../../lib/http-body.ts';
import { hostnameOf, isLoopbackHost } from '../../lib/http-host.ts';
import { DEFAULT_LIMITS, DirectLineState, type Activity, type Conversation, type DirectLineLimits } from './directline.ts';
import { FAVICON_PATH, FAVICON_SVG, renderPage, WEBCHAT_BUNDLE_PATH } from './page.ts';

export const ADAPTIVE_CARD = 'application/vnd.microsoft.card.adaptive';
/** The key under which each card's Action.Submit data names the card's own activity id. */
export const MESSAGE_ID_KEY = '_messageId';

const PersonaIdSchema = z.string().regex(/^[\w.@-]{1,64}$/, 'a persona id: 1–64 letters, digits, ".", "@", "_" or "-"');
const TokenRequestSchema = z.object({ user: z.object({ id: PersonaIdSchema }) });
const IncomingActivitySchema = z.looseObject({
  type: z.string().max(64),
  text: z.string().max(4000).optional(),
  value: z.unknown().optional(),
  channelData: z.record(z.string(), z.unknown()).optional(),
  /** The browser's language, which Web Chat sends with each activity. */
  locale: z.string().max(35).optional(),
});

/** An upload's whole body: the file, a little JSON and the multipart framing. */
const UPLOAD_FRAMING_BYTES = 64 * 1024;

export interface WebChatEdgeOptions {
  handler: ConversationHandler;
  /** The personas for the picker and how runs are isolated (the executor's `GET /v1/personas`). */
  listPersonas: () => Promise<PersonaList>;
  logger: Logger;
  clock: Clock;
  maxBodyBytes: number;
  limits?: Partial<DirectLineLimits>;
  /** How often the page's Web Chat polls for activities. */
  pollingIntervalMs?: number;
  /**
   * What a persona token costs (`x-deputy-webchat-key`): the key in the address `deputy start`
   * prints (`#key=…`), which the page reads. Anything else on the machine that can reach the
   * port (a script that runs, another account) does not have it, so it cannot pick a persona.
   */
  accessKey: string;
}

/** The header the page sends the web chat's key in. */
export const WEBCHAT_KEY_HEADER = 'x-deputy-webchat-key';

export class WebChatEdge implements ChannelEdge {
  readonly channel = 'webchat' as const;
  readonly port: ConversationPort;
  readonly state: DirectLineState;
  private readonly log: Logger;
  private readonly maxUploadBytes = MAX_SENT_FILE_BYTES + UPLOAD_FRAMING_BYTES;
  private bundle: Promise<Bundle> | undefined;
  private readonly bundleVersion = webChatVersion();

  constructor(private readonly options: WebChatEdgeOptions) {
    this.log = options.logger.child({ edge: 'webchat' });
    this.state = new DirectLineState(options.clock, { ...DEFAULT_LIMITS, ...options.limits });
    this.port = {
      post: async (conversation, screen) => this.post(conversation, screen),
      update: async (conversation, messageId, screen) => this.update(conversation, messageId, screen),
      postFile: async (conversation, file) => this.postFile(conversation, file),
    };
  }

  mount(server: unknown): void {
    const app = server as Server;
    const query = restify.plugins.queryParser({ mapParams: false });
    const guarded = (handler: (req: Request, res: Response) => Promise<void>) => async (req: Request, res: Response) => {
      // The persona picker is an impersonation switch: only this machine may reach it, also
      // through a browser tricked by DNS rebinding (whose Host header names the attacker's domain).
      // Bodies are read by the handlers, after this and after their token check.
      if (!isLoopbackHost(hostnameOf(req.headers.host))) {
        closeAfterAnswer(req, res);
        res.send(403, { error: { code: 'Forbidden', message: 'The demo web chat answers only on a loopback address.' } });
        return;
      }
      try {
        await handler(req, res);
      } catch (error) {
        this.log.error({ err: error, path: req.path() }, 'web chat request failed');
        if (!res.headersSent) res.send(500, { error: { code: 'ServiceError', message: 'The request failed.' } });
      }
    };

    app.get('/', guarded(async (_req, res) => this.servePage(res)));
    app.get(WEBCHAT_BUNDLE_PATH, guarded(async (req, res) => this.serveBundle(req, res)));
    app.get(FAVICON_PATH, guarded(async (_req, res) => this.serveFavicon(res)));
    app.get('/webchat/files/:conversationId/:fileId', guarded(async (req, res) => this.serveFile(req, res)));
    app.post('/v3/directline/tokens/generate', guarded(async (req, res) => this.generateToken(req, res)));
    app.post('/v3/directline/tokens/refresh', guarded(async (req, res) => this.refreshToken(req, res)));
    app.post('/v3/directline/conversations', guarded(async (req, res) => this.startConversation(req, res)));
    app.get('/v3/directline/conversations/:conversationId', query, guarded(async (req, res) => this.reconnect(req, res)));
    app.post('/v3/directline/conversations/:conversationId/activities', guarded(async (req, res) => this.receive(req, res)));
    // Multipart, read by the handler itself once the token is checked (never by a body parser before).
    app.post('/v3/directline/conversations/:conversationId/upload', query, guarded(async (req, res) => this.upload(req, res)));
    app.get('/v3/directline/conversations/:conversationId/activities', query, guarded(async (req, res) => this.activities(req, res)));
  }

  async close(): Promise<void> {
    // Nothing to release: conversations live in memory and go with the process.
  }

  // ------------------------------------------------------------------ page

  private async servePage(res: Response): Promise<void> {
    let personas: PersonaList | undefined;
    try {
      personas = await this.options.listPersonas();
    } catch (error) {
      this.log.warn({ code: isDeputyError(error) ? error.code : undefined, detail: isDeputyError(error) ? error.detail : String(error) }, 'personas unavailable');
    }
    sendText(res, 200, 'text/html; charset=utf-8', renderPage(personas?.personas, this.options.pollingIntervalMs ?? 300, this.bundleVersion, personas?.runIsolation));
  }

  /**
   * The 3.9 MB Web Chat bundle, gzipped once (about 1 MB) and cached by the browser: the page
   * asks for it under its version, so it never changes under that URL.
   */
  private async serveBundle(req: Request, res: Response): Promise<void> {
    const bundle = await (this.bundle ??= loadBundle());
    const headers = { 'content-type': 'text/javascript; charset=utf-8', 'cache-control': 'public, max-age=31536000, immutable', etag: bundle.etag, vary: 'accept-encoding' };
    if (req.headers['if-none-match'] === bundle.etag) {
      res.writeHead(304, headers);
      res.end();
      return;
    }
    const gzip = /\bgzip\b/.test(String(req.headers['accept-encoding'] ?? ''));
    const body = gzip ? bundle.gzipped : bundle.plain;
    res.writeHead(200, { ...headers, 'content-length': body.length, ...(gzip ? { 'content-encoding': 'gzip' } : {}) });
    res.end(body);
  }

  private serveFavicon(res: Response): void {
    res.writeHead(200, { 'content-type': 'image/svg+xml', 'content-length': Buffer.byteLength(FAVICON_SVG), 'cache-control': 'public, max-age=86400' });
    res.end(FAVICON_SVG);
  }

  private hasKey(given: string | string[] | undefined): boolean {
    if (typeof given !== 'string') return false;
    const [a, b] = [createHash('sha256').update(given).digest(), createHash('sha256').update(this.options.accessKey).digest()];
    return timingSafeEqual(a, b);
  }

  private async serveFile(req: Request, res: Response): Promise<void> {
    const conversation = this.state.conversation(String(req.params.conversationId));
    const file = conversation?.files.get(String(req.params.fileId));
    if (!file) {
      res.send(404, { error: { code: 'NotFound', message: 'No such file.' } });
      return;
    }
    res.header('content-disposition', `attachment; filename="${file.name.replace(/[^\w.-]/g, '_')}"`);
    // Files come from scripts (an HTML report among them): a download, never a page with this origin's rights.
    res.header('content-security-policy', 'sandbox');
    res.header('x-content-type-options', 'nosniff');
    sendText(res, 200, `${file.contentType}; charset=utf-8`, file.content);
  }

  // ------------------------------------------------------------------ Direct Line

  /**
   * The JSON body, read now that the caller is known: uncompressed, within the limit. Undefined
   * when it is refused, and the refusal is already answered.
   */
  private async jsonBody(req: Request, res: Response): Promise<{ value: unknown } | undefined> {
    let text: string;
    try {
      text = (await readBody(req, res, { limitBytes: this.options.maxBodyBytes, mediaTypes: ['application/json'] })).toString('utf8');
    } catch (error) {
      if (!(error instanceof BodyRefused)) throw error;
      const [status, code] = error.reason === 'too-large' ? [413, 'MessageSizeTooBig'] : [415, 'BadArgument'];
      res.send(status, { error: { code, message: error.message } });
      return undefined;
    }
    try {
      return { value: text === '' ? undefined : (JSON.parse(text) as unknown) };
    } catch {
      res.send(400, { error: { code: 'BadArgument', message: 'The body is not valid JSON.' } });
      return undefined;
    }
  }

  private async generateToken(req: Request, res: Response): Promise<void> {
    if (!this.hasKey(req.headers[WEBCHAT_KEY_HEADER])) {
      closeAfterAnswer(req, res);
      res.send(403, { error: { code: 'Forbidden', message: 'Open the web chat at the address deputy start printed: it carries the key.' } });
      return;
    }
    const body = await this.jsonBody(req, res);
    if (!body) return;
    const parsed = TokenRequestSchema.safeParse(body.value ?? {});
    if (!parsed.success) {
      res.send(400, { error: { code: 'BadArgument', message: 'A persona id is required: { "user": { "id": "<persona>" } }.' } });
      return;
    }
    // Whether the persona is enrolled is the executor's question, asked on every message: an
    // unknown one gets the "not enrolled" sentence like any unknown chat user.
    const token = this.state.issueToken(parsed.data.user.id);
    res.send(200, { token, expires_in: this.state.tokenTtlSeconds });
  }

  private async refreshToken(req: Request, res: Response): Promise<void> {
    const current = bearer(req);
    const token = current === undefined ? undefined : this.state.refresh(current);
    if (!token) return void res.send(403, { error: { code: 'TokenExpired', message: 'The token is not valid.' } });
    const conversationId = this.state.grant(token)?.conversationId;
    res.send(200, { token, expires_in: this.state.tokenTtlSeconds, conversationId });
  }

  private async startConversation(req: Request, res: Response): Promise<void> {
    const token = bearer(req);
    const started = token ? this.state.startConversation(token) : undefined;
    if (!token || !started) return void res.send(403, { error: { code: 'TokenExpired', message: 'The token is not valid.' } });
    const { conversation, created } = started;
    this.noteOrigin(conversation, req);
    res.send(created ? 201 : 200, { conversationId: conversation.id, token, expires_in: this.state.tokenTtlSeconds });
    // A new conversation is greeted (the core decides what, or nothing for a stranger).
    if (created) this.greet(conversation);
  }

  private greet(conversation: Conversation): void {
    const user = { identity: { channel: 'webchat' as const, persona: conversation.persona } };
    this.dispatch({ kind: 'opened', user, conversation: { channel: 'webchat', conversationId: conversation.id } }).catch((error: unknown) =>
      this.log.warn({ err: error, conversationId: conversation.id }, 'web chat welcome not posted'),
    );
  }

  /** The page's own origin, as its requests name it (the Host header is checked to be loopback first). */
  private noteOrigin(conversation: Conversation, req: Request): void {
    const host = req.headers.host;
    if (host) conversation.origin = `http://${host}`;
  }

  private async reconnect(req: Request, res: Response): Promise<void> {
    const token = bearer(req);
    const conversation = this.state.conversationFor(token, String(req.params.conversationId));
    if (!token || !conversation) return void res.send(403, { error: { code: 'TokenExpired', message: 'The token is not valid for this conversation.' } });
    res.send(200, { conversationId: conversation.id, token, expires_in: this.state.tokenTtlSeconds });
  }

  private async activities(req: Request, res: Response): Promise<void> {
    const conversation = this.state.conversationFor(bearer(req), String(req.params.conversationId));
    if (!conversation) return void res.send(403, { error: { code: 'TokenExpired', message: 'The token is not valid for this conversation.' } });
    this.noteOrigin(conversation, req);
    const watermark = Number.parseInt(String(req.query?.watermark ?? '0'), 10);
    const page = this.state.activitiesAfter(conversation, Number.isFinite(watermark) && watermark > 0 ? watermark : 0);
    res.send(200, { activities: page.activities, watermark: String(page.watermark) });
  }

  private async receive(req: Request, res: Response): Promise<void> {
    const conversation = this.state.conversationFor(bearer(req), String(req.params.conversationId));
    if (!conversation) {
      closeAfterAnswer(req, res);
      return void res.send(403, { error: { code: 'TokenExpired', message: 'The token is not valid for this conversation.' } });
    }
    const body = await this.jsonBody(req, res);
    if (!body) return;
    const parsed = IncomingActivitySchema.safeParse(body.value);
    if (!parsed.success) return void res.send(400, { error: { code: 'BadArgument', message: 'The activity is malformed.' } });
    const incoming = parsed.data;
    this.noteOrigin(conversation, req);
    // The echo Web Chat waits for carries no `value`: a card's inputs (a typed password among
    // them) would otherwise sit in the history and go out again on every poll.
    const echoed = this.state.appendFromUser(conversation, {
      type: incoming.type,
      text: incoming.text,
      channelData: incoming.channelData,
    });
    const inbound = this.toInbound(conversation, incoming);
    if (inbound) await this.dispatch(inbound);
    res.send(200, { id: echoed.id });
  }

  /**
   * Direct Line's upload: Web Chat sends a multipart body with the message (`activity`, JSON)
   * and each file (`file`). The files are echoed as attachments of the user's message (so the
   * chat shows them) and the first one goes to the core.
   */
  private async upload(req: Request, res: Response): Promise<void> {
    const conversation = this.state.conversationFor(bearer(req), String(req.params.conversationId));
    if (!conversation) {
      closeAfterAnswer(req, res);
      return void res.send(403, { error: { code: 'TokenExpired', message: 'The token is not valid for this conversation.' } });
    }
    // The one route that takes multipart: read within its own limit, then parsed by the platform's FormData.
    let raw: Buffer;
    try {
      raw = await readBody(req, res, { limitBytes: this.maxUploadBytes, mediaTypes: ['multipart/form-data'] });
    } catch (error) {
      if (!(error instanceof BodyRefused)) throw error;
      const [status, code] = error.reason === 'too-large' ? [413, 'MessageSizeTooBig'] : [415, 'BadArgument'];
      return void res.send(status, { error: { code, message: error.message } });
    }
    let form: FormData;
    try {
      form = await new globalThis.Response(new Uint8Array(raw), { headers: { 'content-type': req.headers['content-type'] ?? '' } }).formData();
    } catch {
      return void res.send(400, { error: { code: 'BadArgument', message: 'The upload is malformed.' } });
    }
    const template = form.get('activity');
    const parsed = IncomingActivitySchema.safeParse(template instanceof Blob ? parseJsonText(await template.text()) : {});
    const files = form.getAll('file').filter((entry): entry is File => entry instanceof File);
    if (!parsed.success || files.length === 0) return void res.send(400, { error: { code: 'BadArgument', message: 'The upload names no file.' } });

    const sent = await Promise.all(files.map(async (file) => ({ file, read: sentFileFromBytes(file.name, new Uint8Array(await file.arrayBuffer())) })));
    const attachments = sent.map(({ file, read }) => {
      const contentType = file.type || 'application/octet-stream';
      if (!('text' in read)) return { contentType, name: file.name };
      const fileId = this.state.addFile(conversation, { name: file.name, contentType: 'text/plain', content: read.text });
      return { contentType, name: file.name, contentUrl: `/webchat/files/${encodeURIComponent(conversation.id)}/${fileId}` };
    });
    const echoed = this.state.appendFromUser(conversation, { type: 'message', text: parsed.data.text, attachments, channelData: parsed.data.channelData });
    const first = sent[0];
    if (first) {
      await this.dispatch({ kind: 'file', user: { identity: { channel: 'webchat', persona: conversation.persona } }, conversation: { channel: 'webchat', conversationId: conversation.id }, file: first.read });
    }
    res.send(200, { id: echoed.id });
  }

  /** Message text, or a card button's data (`verb` plus its payload and the form's inputs). */
  private toInbound(conversation: Conversation, activity: z.infer<typeof IncomingActivitySchema>): Inbound | undefined {
    if (activity.type !== 'message') return undefined;
    const user = { identity: { channel: 'webchat' as const, persona: conversation.persona }, ...(activity.locale ? { locale: activity.locale } : {}) };
    const ref: ConversationRef = { channel: 'webchat', conversationId: conversation.id };
    const value = activity.value;
    if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
      const { verb, [MESSAGE_ID_KEY]: messageId, ...data } = value as Record<string, unknown>;
      if (typeof verb !== 'string' || !(SUBMIT_VERBS as readonly string[]).includes(verb)) return undefined;
      // Only a card this bot posted in this very conversation can be replaced.
      const card = typeof messageId === 'string' ? conversation.latest.get(messageId) : undefined;
      return {
        kind: 'submit',
        user,
        conversation: ref,
        verb: verb as Extract<Inbound, { kind: 'submit' }>['verb'],
        data,
        ...(card?.from.role === 'bot' ? { messageId: card.id } : {}),
      };
    }
    if (typeof activity.text === 'string') return { kind: 'message', user, conversation: ref, text: activity.text };
    return undefined;
  }

  private async dispatch(inbound: Inbound): Promise<void> {
    const { immediate } = await this.options.handler.handle(inbound);
    if (!immediate) return;
    // An answer to a card's button takes that card's place; any other answer is a new message.
    if (inbound.kind === 'submit' && inbound.messageId !== undefined) await this.update(inbound.conversation, inbound.messageId, immediate);
    else await this.post(inbound.conversation, immediate);
  }

  // ------------------------------------------------------------------ port

  private conversationOf(ref: ConversationRef): Conversation {
    const conversation = this.state.conversation(ref.conversationId);
    // Web chat conversations live in memory: after a restart the browser starts a new one.
    if (!conversation) throw new DeputyError('DEPUTY_E_NOT_FOUND', { detail: `web chat conversation ${ref.conversationId} is gone` });
    return conversation;
  }

  private post(ref: ConversationRef, screen: Screen): string {
    const conversation = this.conversationOf(ref);
    const id = this.state.reserveId(conversation);
    this.state.appendFromBot(conversation, { attachments: [cardAttachment(screen, id)] }, id);
    return id;
  }

  private update(ref: ConversationRef, messageId: string, screen: Screen): void {
    const conversation = this.conversationOf(ref);
    const replaced = this.state.replace(conversation, messageId, { attachments: [cardAttachment(screen, messageId)] });
    if (!replaced) throw new DeputyError('DEPUTY_E_NOT_FOUND', { detail: `web chat message ${messageId} is not in ${ref.conversationId}` });
  }

  private postFile(ref: ConversationRef, file: FileAttachment): void {
    const conversation = this.conversationOf(ref);
    const fileId = this.state.addFile(conversation, file);
    // Absolute, so Web Chat shows a link that opens (a relative URL is not one).
    const contentUrl = `${conversation.origin ?? ''}/webchat/files/${encodeURIComponent(conversation.id)}/${fileId}`;
    this.state.appendFromBot(conversation, { attachments: [{ contentType: file.contentType, contentUrl, name: file.name }] });
  }
}

/** The screen as an Adaptive Card whose every button also names the card's activity id. */
function cardAttachment(screen: Screen, messageId: string): NonNullable<Activity['attachments']>[number] {
  const card = renderCard(screen, { actionStyle: 'submit' });
  return { contentType: ADAPTIVE_CARD, content: withMessageId(card, messageId) };
}

function withMessageId(node: unknown, messageId: string): unknown {
  if (Array.isArray(node)) return node.map((item) => withMessageId(item, messageId));
  if (node === null || typeof node !== 'object') return node;
  const result = Object.fromEntries(Object.entries(node).map(([key, value]) => [key, withMessageId(value, messageId)]));
  if (result.type === 'Action.Submit' && result.data !== null && typeof result.data === 'object' && !Array.isArray(result.data)) {
    result.data = { ...result.data, [MESSAGE_ID_KEY]: messageId };
  }
  return result;
}

function webChatBundleFile(): string {
  const main = createRequire(import.meta.url).resolve('botframework-webchat');
  return join(dirname(main), '..', 'dist', 'webchat.js');
}

function parseJsonText(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function webChatVersion(): string {
  const main = createRequire(import.meta.url).resolve('botframework-webchat');
  const manifest = JSON.parse(readFileSync(join(dirname(main), '..', 'package.json'), 'utf8')) as { version?: unknown };
  return typeof manifest.version === 'string' ? manifest.version : '';
}

interface Bundle {
  plain: Buffer;
  gzipped: Buffer;
  etag: string;
}

async function loadBundle(): Promise<Bundle> {
  const plain = await readFile(webChatBundleFile());
  const gzipped = await promisify(gzip)(plain, { level: 6 });
  return { plain, gzipped, etag: `"${createHash('sha256').update(plain).digest('base64url').slice(0, 27)}"` };
}

function bearer(req: Request): string | undefined {
  const header = req.headers.authorization;
  const match = typeof header === 'string' ? /^Bearer\s+(\S+)$/i.exec(header) : null;
  return match?.[1];
}

function sendText(res: Response, status: number, contentType: string, text: string): void {
  res.writeHead(status, { 'content-type': contentType, 'content-length': Buffer.byteLength(text), 'cache-control': 'no-store' });
  res.end(text);
}
