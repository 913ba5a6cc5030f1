/**
 * A fake Slack Web API on loopback: a real HTTP server that answers the methods Deputy calls,
 * in Slack's wire format (form-encoded requests, `{ ok: ... }` JSON answers), and records
 * every call. Bolt's real WebClient talks to it through `clientOptions.slackApiUrl`.
 *
 * `FakeSocketModeEndpoint` is Slack's Socket Mode side: a real WebSocket server on loopback
 * that the fake Web API's `apps.connections.open` points at, speaking Slack's envelope protocol.
 */
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { parse as parseQueryString } from 'node:querystring';
import WebSocket from 'ws';
import { z } from 'zod';

export interface RecordedCall {
  method: string;
  args: Record<string, unknown>;
  /** What the fake answered. */
  response: Record<string, unknown>;
  at: number;
}

export interface RecordedUpload {
  fileId: string;
  body: string;
}

/** The id of the DM channel between the bot and `userId`, as this fake's conversations.open names it. */
export function directMessageChannel(userId: string): string {
  return `D${userId.slice(1)}`;
}

type Answer = (args: Record<string, unknown>) => Record<string, unknown>;

/** Arguments that Slack's clients send as JSON text inside the form. */
const JSON_ARGUMENTS = new Set(['blocks', 'view', 'files', 'attachments']);

/** A file a user shared, as Slack hosts it: only a request with a bot token may download it. */
export interface HostedFile {
  id: string;
  name: string;
  url: string;
  size: number;
}

export class FakeSlackApi {
  readonly calls: RecordedCall[] = [];
  readonly uploads: RecordedUpload[] = [];
  /** Downloads of hosted files: the path and the Authorization header that came with it. */
  readonly downloads: { path: string; authorization: string | undefined }[] = [];
  private readonly files = new Map<string, string>();
  private server: Server | undefined;
  private baseUrl = '';
  private sequence = 0;
  private readonly overrides = new Map<string, Answer>();
  private readonly waiters: Array<() => void> = [];

  async start(): Promise<string> {
    this.server = createServer((req, res) => void this.serve(req, res));
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    const { port } = this.server.address() as AddressInfo;
    this.baseUrl = `http://127.0.0.1:${port}`;
    return `${this.baseUrl}/api/`;
  }

  async stop(): Promise<void> {
    if (!this.server) return;
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server!.close(() => resolve()));
  }

  /** Hosts a shared file at a `url_private_download`-like address on this server. */
  hostFile(name: string, content: string): HostedFile {
    this.sequence += 1;
    const id = `F${this.sequence}`;
    const path = `/files-pri/T1-${id}/download/${encodeURIComponent(name)}`;
    this.files.set(path, content);
    return { id, name, url: `${this.baseUrl}${path}`, size: Buffer.byteLength(content) };
  }

  /** Replaces the answer of one method (e.g. to make chat.postMessage fail with not_in_channel). */
  answer(method: string, answer: Answer): void {
    this.overrides.set(method, answer);
  }

  callsTo(method: string): RecordedCall[] {
    return this.calls.filter((call) => call.method === method);
  }

  /** Calls other than the bot's start-up token check. */
  workCalls(): RecordedCall[] {
    return this.calls.filter((call) => call.method !== 'auth.test');
  }

  async waitFor(method: string, count = 1, timeoutMs = 5000): Promise<RecordedCall[]> {
    const deadline = Date.now() + timeoutMs;
    while (this.callsTo(method).length < count) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${count} × ${method}; saw ${this.calls.map((call) => call.method).join(', ')}`);
      await new Promise<void>((resolve) => {
        this.waiters.push(resolve);
        setTimeout(resolve, 50);
      });
    }
    return this.callsTo(method);
  }

  private async serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const raw = Buffer.concat(chunks).toString('utf8');
    const url = new URL(req.url ?? '/', this.baseUrl);

    const hosted = req.method === 'GET' ? this.files.get(url.pathname) : undefined;
    if (hosted !== undefined) {
      const authorization = req.headers.authorization;
      this.downloads.push({ path: url.pathname, authorization });
      // Slack answers a download without a bot token with its sign-in page, not the file.
      if (!authorization?.startsWith('Bearer xoxb-')) {
        res.writeHead(302, { location: 'https://slack.com/signin' });
        res.end();
        return;
      }
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      res.end(hosted);
      return;
    }

    if (url.pathname.startsWith('/upload/')) {
      this.uploads.push({ fileId: url.pathname.slice('/upload/'.length), body: raw });
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end(`OK - ${raw.length}`);
      return this.wake();
    }

    const method = url.pathname.replace(/^\/api\//, '');
    const args = parseArguments(req.headers['content-type'], raw);
    if (req.headers.authorization) args['token'] = req.headers.authorization.replace(/^Bearer /, '');
    const body = (this.overrides.get(method) ?? ((a) => this.defaultAnswer(method, a)))(args);
    this.calls.push({ method, args, response: body, at: Date.now() });
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
    this.wake();
  }

  private wake(): void {
    for (const resolve of this.waiters.splice(0)) resolve();
  }

  private nextTs(): string {
    this.sequence += 1;
    return `1767225600.${String(this.sequence).padStart(6, '0')}`;
  }

  private defaultAnswer(method: string, args: Record<string, unknown>): Record<string, unknown> {
    switch (method) {
      case 'auth.test':
        return { ok: true, url: 'https://contoso.slack.com/', team: 'Contoso', user: 'deputy', team_id: 'T1', user_id: 'UBOT', bot_id: 'BBOT' };
      case 'chat.postMessage':
        return { ok: true, channel: args['channel'], ts: this.nextTs(), message: { text: args['text'] } };
      case 'chat.update':
        return { ok: true, channel: args['channel'], ts: args['ts'], text: args['text'] };
      case 'chat.postEphemeral':
        return { ok: true, message_ts: this.nextTs() };
      case 'views.open':
      case 'views.update':
      case 'views.publish': {
        this.sequence += 1;
        const viewId = typeof args['view_id'] === 'string' ? args['view_id'] : `V${this.sequence}`;
        return { ok: true, view: { ...(args['view'] as object), id: viewId, hash: `hash-${this.sequence}` } };
      }
      case 'conversations.open':
        return { ok: true, channel: { id: directMessageChannel(String(args['users'])) } };
      case 'users.info':
        // Slack gives the locale only when asked for it (include_locale), which Deputy does.
        return { ok: true, user: { id: args['user'], team_id: 'T1', ...(String(args['include_locale']) === 'true' ? { locale: 'en-US' } : {}) } };
      case 'files.getUploadURLExternal': {
        this.sequence += 1;
        const fileId = `F${this.sequence}`;
        return { ok: true, upload_url: `${this.baseUrl}/upload/${fileId}`, file_id: fileId };
      }
      case 'files.completeUploadExternal':
        return { ok: true, files: (args['files'] as Array<{ id: string; title?: string }>).map((file) => ({ id: file.id, title: file.title })) };
      default:
        return { ok: false, error: 'unknown_method' };
    }
  }
}

function parseArguments(contentType: string | undefined, raw: string): Record<string, unknown> {
  if (contentType?.startsWith('application/json')) return JSON.parse(raw || '{}') as Record<string, unknown>;
  const form = parseQueryString(raw);
  const args: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(form)) {
    const text = Array.isArray(value) ? value[0] : value;
    args[key] = typeof text === 'string' && JSON_ARGUMENTS.has(key) ? JSON.parse(text) : text;
  }
  return args;
}

/** What a Socket Mode client sends back for an envelope: `{ envelope_id, payload? }`. */
const AckSchema = z.object({ envelope_id: z.string(), payload: z.record(z.string(), z.unknown()).optional() });

export interface RecordedAck {
  envelopeId: string;
  /** The response payload (`response_action` …); Bolt sends `{}` for a bare `ack()`. */
  payload: Record<string, unknown> | undefined;
  /** Milliseconds from sending the envelope to receiving its ack. */
  ms: number;
}

export type EnvelopeType = 'slash_commands' | 'interactive' | 'events_api';

/**
 * Slack's Socket Mode endpoint on loopback. `apps.connections.open` on the fake Web API answers
 * only an app-level token (`xapp-…`, as Slack does: a bot token gets `not_allowed_token_type`)
 * with a one-time `ws://` URL; the client that connects with it gets Slack's `hello`, then the
 * envelopes a test sends, and each envelope's ack is recorded.
 */
export class FakeSocketModeEndpoint {
  readonly acks: RecordedAck[] = [];
  /** The close code of each connection that ended, in order. */
  readonly closeCodes: number[] = [];
  /** Upgrade requests refused for an unknown or reused ticket. */
  refusedUpgrades = 0;
  private server: WebSocket.Server | undefined;
  private connection: WebSocket | undefined;
  private readonly tickets = new Set<string>();
  private readonly pendingAcks = new Map<string, (ack: Omit<RecordedAck, 'ms'>) => void>();
  private readonly connectionWaiters: Array<() => void> = [];
  private sequence = 0;

  async start(slack: FakeSlackApi): Promise<void> {
    const server = new WebSocket.Server({
      host: '127.0.0.1',
      port: 0,
      // Slack's URLs carry a single-use ticket; a client must use the URL it was just given.
      verifyClient: ({ req }: { req: IncomingMessage }) => {
        const ticket = new URL(req.url ?? '/', 'ws://127.0.0.1').searchParams.get('ticket') ?? '';
        if (this.tickets.delete(ticket)) return true;
        this.refusedUpgrades += 1;
        return false;
      },
    });
    this.server = server;
    await once(server, 'listening');
    const { port } = server.address() as AddressInfo;
    server.on('connection', (socket: WebSocket) => this.accept(socket));

    slack.answer('apps.connections.open', (args) => {
      if (!String(args['token'] ?? '').startsWith('xapp-')) return { ok: false, error: 'not_allowed_token_type' };
      const ticket = randomUUID();
      this.tickets.add(ticket);
      return { ok: true, url: `ws://127.0.0.1:${port}/link/?ticket=${ticket}&app_id=A1` };
    });
  }

  /** Connections the server still holds open. */
  openConnections(): number {
    return this.server?.clients.size ?? 0;
  }

  /** Resolves once a client is connected and has been sent `hello`. */
  async waitForConnection(timeoutMs = 5000): Promise<void> {
    if (this.connection?.readyState === WebSocket.OPEN) return;
    await deadline(new Promise<void>((resolve) => this.connectionWaiters.push(resolve)), timeoutMs, 'a Socket Mode connection');
  }

  /** Sends one envelope as Slack does and resolves with its ack (rejects if none comes within `timeoutMs`). */
  async send(type: EnvelopeType, payload: Record<string, unknown>, timeoutMs = 5000): Promise<RecordedAck> {
    const socket = this.connection;
    if (socket?.readyState !== WebSocket.OPEN) throw new Error('no open Socket Mode connection');
    this.sequence += 1;
    const envelopeId = `${randomUUID()}-${this.sequence}`;
    const envelope = {
      envelope_id: envelopeId,
      type,
      payload,
      // Slack accepts a response payload for commands and modal submissions, not for events or buttons.
      accepts_response_payload: type === 'slash_commands' || (type === 'interactive' && payload['type'] === 'view_submission'),
      ...(type === 'events_api' ? { retry_attempt: 0, retry_reason: '' } : {}),
    };
    const started = performance.now();
    const acked = new Promise<Omit<RecordedAck, 'ms'>>((resolve) => this.pendingAcks.set(envelopeId, resolve));
    socket.send(JSON.stringify(envelope));
    try {
      const ack = await deadline(acked, timeoutMs, `the ack of ${type} envelope ${envelopeId}`);
      const recorded = { ...ack, ms: performance.now() - started };
      this.acks.push(recorded);
      return recorded;
    } finally {
      this.pendingAcks.delete(envelopeId);
    }
  }

  slashCommand(fields: Record<string, string>): Promise<RecordedAck> {
    return this.send('slash_commands', fields);
  }

  interactive(payload: Record<string, unknown>): Promise<RecordedAck> {
    return this.send('interactive', payload);
  }

  event(event: Record<string, unknown>, teamId = 'T1'): Promise<RecordedAck> {
    return this.send('events_api', {
      token: 'legacy-verification-token',
      team_id: teamId,
      api_app_id: 'A1',
      event,
      type: 'event_callback',
      event_id: `Ev${randomUUID().replace(/-/g, '').slice(0, 10)}`,
      event_time: 1767268800,
    });
  }

  async stop(): Promise<void> {
    const server = this.server;
    if (!server) return;
    for (const client of server.clients) client.terminate();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private accept(socket: WebSocket): void {
    this.connection = socket;
    socket.on('message', (data: WebSocket.Data) => {
      const ack = AckSchema.safeParse(parseJsonText(String(data)));
      if (ack.success) this.pendingAcks.get(ack.data.envelope_id)?.({ envelopeId: ack.data.envelope_id, payload: ack.data.payload });
    });
    socket.on('close', (code: number) => this.closeCodes.push(code));
    socket.send(JSON.stringify({
      type: 'hello',
      num_connections: 1,
      debug_info: { host: 'applink-fake-loopback', build_number: 1, approximate_connection_time: 18060 },
      connection_info: { app_id: 'A1' },
    }));
    for (const resolve of this.connectionWaiters.splice(0)) resolve();
  }
}

function parseJsonText(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

async function deadline<T>(work: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  try {
    return await Promise.race([work, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
