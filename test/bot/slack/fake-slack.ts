/**
 * A fake Slack Web API on loopback: a real HTTP server that answers the methods Deputy calls,
 * in Slack's wire format (form-encoded requests, `{ ok: ... }` JSON answers), and records
 * every call. Bolt's real WebClient talks to it through `clientOptions.slackApiUrl`.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { parse as parseQueryString } from 'node:querystring';

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

export class FakeSlackApi {
  readonly calls: RecordedCall[] = [];
  readonly uploads: RecordedUpload[] = [];
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
