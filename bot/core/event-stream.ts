/**
 * A subscription to the executor's `GET /v1/events` (server-sent events). It reconnects with
 * a growing back-off and resumes with `Last-Event-ID`, so an executor restart or a dropped
 * connection loses no events still in the executor's history.
 */
import { ExecutorEventSchema, type ExecutorEventMessage } from '../../executor/contract/index.ts';
import { EventSourceParserStream, type EventSourceMessage } from 'eventsource-parser/stream';
import type { Logger } from '../../lib/logger.ts';
import { newCorrelationId } from '../../lib/ids.ts';
import type { ExecutorClient } from './executor-client.ts';

export interface EventStreamOptions {
  client: ExecutorClient;
  logger: Logger;
  /** Run, approval, plan and script events, each checked against the contract. */
  onEvent: (event: ExecutorEventMessage) => void;
  /** First reconnect delay; doubled on each failure up to `maxBackoffMs`. */
  initialBackoffMs?: number;
  maxBackoffMs?: number;
  /** Resume after this event from the first connection on. */
  lastEventId?: string;
  /** Each event's id, once it was handed to `onEvent`. */
  onEventId?: (eventId: string) => void;
  fetch?: typeof fetch;
}

/**
 * The most one event may hold before the stream is given up and reconnected: a run view with
 * its summary is a few kilobytes; this only keeps a broken stream from growing without end.
 */
const MAX_EVENT_CHARS = 8 * 1024 * 1024;

export class EventStream {
  private readonly abort = new AbortController();
  private lastEventId: string | undefined;
  private connectedOnce = false;
  private running: Promise<void> | undefined;
  private readonly connectedWaiters: Array<() => void> = [];

  constructor(private readonly options: EventStreamOptions) {
    this.lastEventId = options.lastEventId;
  }

  start(): void {
    this.running ??= this.loop();
  }

  /** Resolves once the stream has been connected (for start-up and tests). */
  connected(): Promise<void> {
    if (this.connectedOnce) return Promise.resolve();
    return new Promise((resolve) => this.connectedWaiters.push(resolve));
  }

  async close(): Promise<void> {
    this.abort.abort();
    await this.running;
  }

  private async loop(): Promise<void> {
    const initial = this.options.initialBackoffMs ?? 250;
    const max = this.options.maxBackoffMs ?? 10_000;
    let backoff = initial;
    while (!this.abort.signal.aborted) {
      const received = await this.connectOnce();
      if (this.abort.signal.aborted) return;
      // A connection that delivered events was healthy: start over with a short delay.
      backoff = received ? initial : Math.min(backoff * 2, max);
      await this.sleep(backoff);
    }
  }

  /** One connection, read until it ends. Returns whether it was established. */
  private async connectOnce(): Promise<boolean> {
    const { client, logger } = this.options;
    const headers = client.headers(newCorrelationId(), 'text/event-stream');
    if (this.lastEventId !== undefined) headers['last-event-id'] = this.lastEventId;
    let established = false;
    try {
      const response = await (this.options.fetch ?? fetch)(`${client.baseUrl}/v1/events`, { headers, signal: this.abort.signal });
      if (!response.ok || !response.body) {
        logger.warn({ status: response.status }, 'executor event stream refused; retrying');
        await response.body?.cancel();
        return false;
      }
      established = true;
      this.markConnected();
      logger.debug({ lastEventId: this.lastEventId }, 'executor event stream connected');
      const messages = response.body
        .pipeThrough(new TextDecoderStream())
        .pipeThrough(new EventSourceParserStream({ maxBufferSize: MAX_EVENT_CHARS }));
      const reader = messages.getReader();
      for (let next = await reader.read(); !next.done; next = await reader.read()) this.dispatch(next.value);
      logger.info('executor event stream ended; reconnecting');
    } catch (error) {
      if (!this.abort.signal.aborted) {
        logger.warn({ err: error instanceof Error ? error.message : String(error) }, 'executor event stream failed; reconnecting');
      }
    }
    return established;
  }

  private dispatch(message: EventSourceMessage): void {
    let json: unknown;
    try {
      json = JSON.parse(message.data);
    } catch {
      this.options.logger.warn({ id: message.id }, 'executor event with invalid JSON ignored');
      return;
    }
    const parsed = ExecutorEventSchema.safeParse(json);
    if (!parsed.success) {
      this.options.logger.warn({ id: message.id, issue: parsed.error.message }, 'executor event outside the contract ignored');
      return;
    }
    this.lastEventId = message.id ?? String(parsed.data.seq);
    try {
      this.options.onEvent(parsed.data);
    } catch (error) {
      this.options.logger.error({ err: error }, 'run event handler failed');
    }
    this.options.onEventId?.(this.lastEventId);
  }

  private markConnected(): void {
    this.connectedOnce = true;
    for (const resolve of this.connectedWaiters.splice(0)) resolve();
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, ms);
      this.abort.signal.addEventListener('abort', () => {
        clearTimeout(timer);
        resolve();
      }, { once: true });
    });
  }
}
