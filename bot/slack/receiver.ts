/**
 * A Bolt `Receiver` that lives on the bot's restify server at `POST /slack/events`.
 *
 * Order of work for every request: check the headers (uncompressed JSON or form body within
 * the limit, a signature, and a timestamp within 5 minutes of "now" on the injected clock,
 * either way, as Slack's own SDKs do), only then read the raw body (bounded), verify Slack's
 * signature with Bolt's own `verifySlackRequest` (HMAC-SHA256, constant-time compare), refuse
 * an exact replay (a signature already accepted in its window), and only then parse and hand
 * the event to Bolt. Anything that fails verification gets 401 and reaches nothing. The ack is the HTTP response: Bolt's
 * listeners call it first and work after; if a listener has not acked in time, the receiver
 * answers on its own so Slack never sees a timeout (Slack gives up after 3 s and retries).
 *
 * Bolt's `HTTPModuleFunctions` parse the body, read the retry headers and write the answers.
 * Its `parseAndVerifyHTTPRequest` is not used: in Bolt 5.1 it reads the body before anything
 * is checked, verifies against the system clock (not the injected one) and lets an
 * `ssl_check` body through unsigned; the steps above do that part.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { BodyRefused, closeAfterAnswer, headerRefusal, readBody, type BodyRules } from '../../lib/http-body.ts';
import { HTTPModuleFunctions, verifySlackRequest, type App, type Receiver, type ReceiverEvent } from '@slack/bolt';
import { z } from 'zod';
import type { LRUCache } from 'lru-cache';
import type { Clock } from '../../lib/clock.ts';
import { ttlCache } from '../../lib/ttl-cache.ts';
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
/** Slack's window for a request's timestamp, in both directions (its SDKs use the same). */
export const SLACK_WINDOW_SECONDS = 300;
/** Events API bodies are JSON; slash commands and interactivity are form-encoded. */
const SLACK_MEDIA_TYPES = ['application/json', 'application/x-www-form-urlencoded'];
/** Slack retries an event three times within about five minutes. */
const EVENT_MEMORY_MS = 15 * 60_000;
const MAX_REMEMBERED_EVENTS = 10_000;
/**
 * Signatures remembered at once. Only requests signed with the secret get here, so this is
 * Slack's own traffic of ten minutes; a bound keeps memory finite whatever happens.
 */
const MAX_REMEMBERED_SIGNATURES = 200_000;

const UrlVerificationSchema = z.object({ type: z.literal('url_verification'), challenge: z.string() });
const SIGNATURE_PATTERN = /^v0=[0-9a-f]{64}$/;
const TIMESTAMP_PATTERN = /^\d{1,12}$/;

export class SlackHttpReceiver implements Receiver {
  private app: App | undefined;
  private readonly ackTimeoutMs: number;
  private readonly bodyLimitBytes: number;
  /** Work still running after its ack, so `stop()` can wait for it. */
  private readonly inFlight = new Set<Promise<void>>();
  /** Signatures accepted, each kept until its timestamp leaves the window: a repeat is a replay. */
  private readonly accepted: LRUCache<string, true>;
  /** event_ids handled; Slack retries for a few minutes, so this window is ample and bounded. */
  private readonly events: LRUCache<string, true>;

  constructor(private readonly options: SlackHttpReceiverOptions) {
    this.ackTimeoutMs = options.ackTimeoutMs ?? DEFAULT_ACK_TIMEOUT_MS;
    this.bodyLimitBytes = options.bodyLimitBytes ?? DEFAULT_BODY_LIMIT_BYTES;
    this.accepted = ttlCache(options.clock, { ttlMs: 2 * SLACK_WINDOW_SECONDS * 1000, max: MAX_REMEMBERED_SIGNATURES });
    this.events = ttlCache(options.clock, { ttlMs: EVENT_MEMORY_MS, max: MAX_REMEMBERED_EVENTS });
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
    const rules: BodyRules = { limitBytes: this.bodyLimitBytes, mediaTypes: SLACK_MEDIA_TYPES };
    const refused = headerRefusal(req.headers, rules);
    if (refused) return refuse(req, res, refused.reason === 'too-large' ? 413 : 415);
    const signed = this.signedHeaders(req);
    if (!signed) return refuse(req, res, 401);

    let rawBody: Buffer;
    try {
      rawBody = await readBody(req, res, rules);
    } catch (error) {
      if (error instanceof BodyRefused) return respond(res, 413);
      throw error;
    }

    if (!this.isAuthentic(signed, rawBody.toString('utf8'))) return respond(res, 401);

    const body = parseBody(Object.assign(req, { rawBody }));
    if (body === undefined) return respond(res, 400);
    if (body['ssl_check'] !== undefined) return HTTPModuleFunctions.buildSSLCheckResponse(res);

    if (UrlVerificationSchema.safeParse(body).success) return HTTPModuleFunctions.buildUrlVerificationResponse(res, body);

    if (!this.app) throw new Error('SlackHttpReceiver used before Bolt called init()');
    // Slack re-sends an event it thinks was not answered (same event_id, X-Slack-Retry-Num);
    // it was handled the first time, so the retry is acked and goes no further.
    const eventId = typeof body['event_id'] === 'string' ? body['event_id'] : undefined;
    if (eventId !== undefined && this.seenEvent(eventId)) {
      this.options.logger.info({ eventId, retry: HTTPModuleFunctions.extractRetryNumFromHTTPRequest(req) }, 'slack: event already handled, retry acknowledged');
      return respond(res, 200);
    }
    await this.dispatch(this.app, req, res, body);
  }

  /** True when this event id was handled within the window; remembers it otherwise. */
  private seenEvent(eventId: string): boolean {
    if (this.events.has(eventId)) return true;
    this.events.set(eventId, true);
    return false;
  }

  /** The signature and its timestamp, when both are well-formed and the timestamp is within the window of now (past or future). */
  private signedHeaders(req: IncomingMessage): { signature: string; timestamp: number } | undefined {
    const signature = req.headers['x-slack-signature'];
    const timestamp = req.headers['x-slack-request-timestamp'];
    if (typeof signature !== 'string' || !SIGNATURE_PATTERN.test(signature) || typeof timestamp !== 'string' || !TIMESTAMP_PATTERN.test(timestamp)) {
      this.options.logger.warn('slack: request refused, signature headers missing or malformed');
      return undefined;
    }
    const skewSeconds = Math.abs(this.options.clock.now() / 1000 - Number(timestamp));
    if (skewSeconds > SLACK_WINDOW_SECONDS) {
      this.options.logger.warn({ skewSeconds: Math.round(skewSeconds) }, 'slack: request refused, timestamp outside the 5-minute window');
      return undefined;
    }
    return { signature, timestamp: Number(timestamp) };
  }

  /** The HMAC over the exact bytes, then: never the same signature twice within its window. */
  private isAuthentic(signed: { signature: string; timestamp: number }, rawBody: string): boolean {
    const now = this.options.clock.now();
    try {
      verifySlackRequest({
        signingSecret: this.options.signingSecret,
        body: rawBody,
        headers: { 'x-slack-signature': signed.signature, 'x-slack-request-timestamp': signed.timestamp },
        nowMilliseconds: now,
      });
    } catch (error) {
      this.options.logger.warn({ reason: (error as Error).message }, 'slack: request refused, signature not valid');
      return false;
    }
    if (this.accepted.has(signed.signature)) {
      this.options.logger.warn('slack: request refused, a replay of a request already accepted');
      return false;
    }
    // Until the timestamp leaves the window; after that the window check refuses the repeat.
    this.accepted.set(signed.signature, true, { ttl: Math.max(1, (signed.timestamp + SLACK_WINDOW_SECONDS) * 1000 - now + 1) });
    return true;
  }

  private dispatch(app: App, req: IncomingMessage, res: ServerResponse, body: Record<string, unknown>): Promise<void> {
    return new Promise<void>((acked) => {
      let isAcked = false;
      const answer = (status: 200 | 500, payload?: unknown): void => {
        if (isAcked) return;
        isAcked = true;
        clearTimeout(fallback);
        if (!res.headersSent) {
          if (status === 200) HTTPModuleFunctions.buildContentResponse(res, payload);
          else HTTPModuleFunctions.buildNoBodyResponse(res, status);
        }
        acked();
      };
      // Slack retries an unanswered request after 3 s; an empty 200 is better than a duplicate.
      const fallback = setTimeout(() => {
        this.options.logger.warn({ type: body['type'] }, 'slack: no ack from the listener in time, answered 200 for it');
        answer(200);
      }, this.ackTimeoutMs);

      const retryNum = HTTPModuleFunctions.extractRetryNumFromHTTPRequest(req);
      const retryReason = HTTPModuleFunctions.extractRetryReasonFromHTTPRequest(req);
      const event: ReceiverEvent = {
        body,
        ack: async (response?: unknown) => answer(200, response),
        ...(retryNum !== undefined ? { retryNum } : {}),
        ...(retryReason !== undefined ? { retryReason } : {}),
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

/** An answer given before the body was read: the connection ends with it. */
function refuse(req: IncomingMessage, res: ServerResponse, status: number): void {
  closeAfterAnswer(req, res);
  respond(res, status);
}

/** An answer with no body (refusals); nothing when an answer is already out. */
function respond(res: ServerResponse, status: number): void {
  if (!res.headersSent) HTTPModuleFunctions.buildNoBodyResponse(res, status);
}

/** JSON (Events API) or form-encoded (slash commands; interactivity as `payload=<json>`), as Bolt reads them. */
function parseBody(req: IncomingMessage & { rawBody: Buffer }): Record<string, unknown> | undefined {
  try {
    return asRecord(HTTPModuleFunctions.parseHTTPRequestBody(req));
  } catch {
    return undefined;
  }
}

function asRecord(value: unknown): Record<string, unknown> | undefined {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
}
