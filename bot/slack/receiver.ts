/**
 * A Bolt `Receiver` that lives on the bot's restify server at `POST /slack/events`.
 *
 * Order of work for every request: read the raw body (bounded), verify Slack's signature with
 * Bolt's own `verifySlackRequest` (HMAC-SHA256, constant-time compare, 5-minute window, "now"
 * from the injected clock), and only then parse and hand the event to Bolt. Anything that
 * fails verification gets 401 and reaches nothing. The ack is the HTTP response: Bolt's
 * listeners call it first and work after; if a listener has not acked in time, the receiver
 * answers on its own so Slack never sees a timeout (Slack gives up after 3 s and retries).
 */
import { parse as parseQueryString } from 'node:querystring';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { verifySlackRequest, type App, type Receiver, type ReceiverEvent } from '@slack/bolt';
import { z } from 'zod';
import type { Clock } from '../../lib/clock.ts';
import type { Logger } from '../../lib/logger.ts';

export const SLACK_EVENTS_PATH = '/slack/events';

export interface SlackHttpReceiverOptions {
  signingSecret: string;
  clock: Clock;
  logger: Logger;
  /** The receiver answers 200 on its own when no listener acked by then. Below Slack's 3 s. */
  ackTimeoutMs?: number;
  /** Slack's payloads are small; anything bigger is refused before it is read in full. */
  bodyLimitBytes?: number;
}

/** The part of restify's server this receiver needs; kept narrow so tests and the real server both fit. */
export interface RouteMounter {
  post(path: string, handler: (req: IncomingMessage, res: ServerResponse, next: (err?: unknown) => void) => void): unknown;
}

const DEFAULT_ACK_TIMEOUT_MS = 2500;
const DEFAULT_BODY_LIMIT_BYTES = 1024 * 1024;
/** Slack retries an event three times within about five minutes. */
const EVENT_MEMORY_MS = 15 * 60_000;
const MAX_REMEMBERED_EVENTS = 10_000;

const UrlVerificationSchema = z.object({ type: z.literal('url_verification'), challenge: z.string() });

class BodyTooLargeError extends Error {}

export class SlackHttpReceiver implements Receiver {
  private app: App | undefined;
  private readonly ackTimeoutMs: number;
  private readonly bodyLimitBytes: number;
  /** Work still running after its ack, so `stop()` can wait for it. */
  private readonly inFlight = new Set<Promise<void>>();
  /** event_id → when it arrived; Slack retries for a few minutes, so this window is ample and bounded. */
  private readonly events = new Map<string, number>();

  constructor(private readonly options: SlackHttpReceiverOptions) {
    this.ackTimeoutMs = options.ackTimeoutMs ?? DEFAULT_ACK_TIMEOUT_MS;
    this.bodyLimitBytes = options.bodyLimitBytes ?? DEFAULT_BODY_LIMIT_BYTES;
  }

  init(app: App): void {
    this.app = app;
  }

  /** The routes live on the bot's server, which the bot starts; nothing to start here. */
  async start(): Promise<void> {}

  /** Waits for work that was acked but has not finished. */
  async stop(): Promise<void> {
    await Promise.allSettled([...this.inFlight]);
  }

  mount(server: RouteMounter): void {
    server.post(SLACK_EVENTS_PATH, (req, res, next) => {
      this.handle(req, res).then(
        () => next(),
        (error: unknown) => {
          this.options.logger.error({ err: error }, 'slack: request handling failed');
          if (!res.headersSent) respond(res, 500);
          next();
        },
      );
    });
  }

  /** Resolves once the HTTP answer (the ack) is sent; the listener's work may go on after. */
  async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    let rawBody: string;
    try {
      rawBody = await readRawBody(req, this.bodyLimitBytes);
    } catch (error) {
      if (error instanceof BodyTooLargeError) return respond(res, 413);
      throw error;
    }

    if (!this.isAuthentic(req, rawBody)) return respond(res, 401);

    const body = parseBody(req.headers['content-type'], rawBody);
    if (body === undefined) return respond(res, 400);
    if (body['ssl_check'] !== undefined) return respond(res, 200);

    const verification = UrlVerificationSchema.safeParse(body);
    if (verification.success) {
      return respond(res, 200, { challenge: verification.data.challenge });
    }

    if (!this.app) throw new Error('SlackHttpReceiver used before Bolt called init()');
    // Slack re-sends an event it thinks was not answered (same event_id, X-Slack-Retry-Num);
    // it was handled the first time, so the retry is acked and goes no further.
    const eventId = typeof body['event_id'] === 'string' ? body['event_id'] : undefined;
    if (eventId !== undefined && this.seenEvent(eventId)) {
      this.options.logger.info({ eventId, retry: req.headers['x-slack-retry-num'] }, 'slack: event already handled, retry acknowledged');
      return respond(res, 200);
    }
    await this.dispatch(this.app, req, res, body);
  }

  /** True when this event id was handled within the window; remembers it otherwise. */
  private seenEvent(eventId: string): boolean {
    const now = this.options.clock.now();
    const at = this.events.get(eventId);
    if (at !== undefined && now - at < EVENT_MEMORY_MS) return true;
    this.events.set(eventId, now);
    for (const [id, seen] of this.events) {
      if (this.events.size <= MAX_REMEMBERED_EVENTS && now - seen < EVENT_MEMORY_MS) break;
      this.events.delete(id);
    }
    return false;
  }

  private isAuthentic(req: IncomingMessage, rawBody: string): boolean {
    const signature = req.headers['x-slack-signature'];
    const timestamp = req.headers['x-slack-request-timestamp'];
    if (typeof signature !== 'string' || typeof timestamp !== 'string') return false;
    try {
      verifySlackRequest({
        signingSecret: this.options.signingSecret,
        body: rawBody,
        headers: { 'x-slack-signature': signature, 'x-slack-request-timestamp': Number(timestamp) },
        nowMilliseconds: this.options.clock.now(),
      });
    } catch (error) {
      this.options.logger.warn({ reason: (error as Error).message }, 'slack: request refused, signature not valid');
      return false;
    }
    return true;
  }

  private dispatch(app: App, req: IncomingMessage, res: ServerResponse, body: Record<string, unknown>): Promise<void> {
    return new Promise<void>((acked) => {
      let isAcked = false;
      const answer = (status: number, payload?: unknown): void => {
        if (isAcked) return;
        isAcked = true;
        clearTimeout(fallback);
        respond(res, status, payload);
        acked();
      };
      // Slack retries an unanswered request after 3 s; an empty 200 is better than a duplicate.
      const fallback = setTimeout(() => {
        this.options.logger.warn({ type: body['type'] }, 'slack: no ack from the listener in time, answered 200 for it');
        answer(200);
      }, this.ackTimeoutMs);

      const retryNum = req.headers['x-slack-retry-num'];
      const retryReason = req.headers['x-slack-retry-reason'];
      const event: ReceiverEvent = {
        body,
        ack: async (response?: unknown) => answer(200, response),
        ...(typeof retryNum === 'string' ? { retryNum: Number(retryNum) } : {}),
        ...(typeof retryReason === 'string' ? { retryReason } : {}),
      };

      const work = app
        .processEvent(event)
        .catch((error: unknown) => {
          this.options.logger.error({ err: error }, 'slack: listener failed');
          answer(500);
        })
        .finally(() => {
          this.inFlight.delete(work);
          // Events Bolt has no listener for are never acked by anyone; answer now rather than at the timeout.
          answer(200);
        });
      this.inFlight.add(work);
    });
  }
}

function respond(res: ServerResponse, status: number, payload?: unknown): void {
  if (res.headersSent) return;
  if (payload === undefined || payload === '') {
    res.writeHead(status);
    res.end();
  } else if (typeof payload === 'string') {
    res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8' });
    res.end(payload);
  } else {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(payload));
  }
}

/** Reads the body as sent (the signature covers the exact bytes); a body parser that ran earlier left `rawBody`. */
async function readRawBody(req: IncomingMessage, limit: number): Promise<string> {
  const preRead = (req as IncomingMessage & { rawBody?: unknown }).rawBody;
  if (typeof preRead === 'string') return preRead;
  if (Buffer.isBuffer(preRead)) return preRead.toString('utf8');

  const declared = Number(req.headers['content-length'] ?? 0);
  if (declared > limit) throw new BodyTooLargeError();
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    const buffer = Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk));
    size += buffer.length;
    if (size > limit) throw new BodyTooLargeError();
    chunks.push(buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** JSON (Events API) or form-encoded (slash commands; interactivity as `payload=<json>`). */
function parseBody(contentType: string | undefined, rawBody: string): Record<string, unknown> | undefined {
  try {
    if (contentType?.startsWith('application/x-www-form-urlencoded')) {
      const form = parseQueryString(rawBody);
      const payload = form['payload'];
      if (typeof payload === 'string') return asRecord(JSON.parse(payload));
      return Object.fromEntries(Object.entries(form).map(([key, value]) => [key, Array.isArray(value) ? value[0] : value]));
    }
    return asRecord(JSON.parse(rawBody));
  } catch {
    return undefined;
  }
}

function asRecord(value: unknown): Record<string, unknown> | undefined {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
}
