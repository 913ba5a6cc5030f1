/**
 * LISTEN/NOTIFY on one dedicated connection (a pooled one would lose its LISTENs when handed
 * back). A lost connection is reopened with a growing pause; since notifications sent in the
 * meantime are gone, every handler's `resync` runs after each reconnect so it can catch up
 * from the tables (the outbox reads everything after the last seq it saw, the catalog reloads).
 */
import pg from 'pg';
import type { Logger } from '../logger.ts';

const CHANNEL = /^[a-z_][a-z0-9_]{0,62}$/;

export interface Subscription {
  /** Called with each notification's payload. */
  notify(payload: string): void;
  /** Called after the connection was lost and opened again. */
  resync(): void;
}

export class Notifications {
  private client: pg.Client | undefined;
  private readonly channels = new Map<string, Set<Subscription>>();
  private closed = false;
  private connecting: Promise<void> | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private failures = 0;
  private reconnects = 0;

  private constructor(
    private readonly url: string,
    private readonly logger: Logger,
    private readonly applicationName: string,
  ) {}

  static async open(options: { url: string; logger: Logger; applicationName: string }): Promise<Notifications> {
    const notifications = new Notifications(options.url, options.logger, options.applicationName);
    await notifications.connect();
    return notifications;
  }

  /** How many times the connection was re-established (for tests and /readyz). */
  get reconnections(): number {
    return this.reconnects;
  }

  /** Starts delivering `channel`'s notifications to `subscription`; returns the way to stop. */
  async listen(channel: string, subscription: Subscription): Promise<() => void> {
    if (!CHANNEL.test(channel)) throw new Error(`invalid channel name ${JSON.stringify(channel)}`);
    let subscribers = this.channels.get(channel);
    if (!subscribers) {
      subscribers = new Set();
      this.channels.set(channel, subscribers);
      // When the connection is down, the next connect LISTENs on every channel anyway.
      await this.client?.query(`LISTEN ${channel}`).catch((error: unknown) => this.logger.warn({ err: error, channel }, 'LISTEN failed; retrying on reconnect'));
    }
    subscribers.add(subscription);
    return () => subscribers.delete(subscription);
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.retryTimer);
    await this.connecting?.catch(() => undefined);
    const client = this.client;
    this.client = undefined;
    await client?.end().catch(() => undefined);
  }

  private connect(): Promise<void> {
    this.connecting ??= this.openConnection().finally(() => {
      this.connecting = undefined;
    });
    return this.connecting;
  }

  private async openConnection(): Promise<void> {
    const client = new pg.Client({ connectionString: this.url, application_name: this.applicationName });
    client.on('notification', (message) => {
      for (const subscription of this.channels.get(message.channel) ?? []) subscription.notify(message.payload ?? '');
    });
    client.on('error', (error) => this.lost(client, error));
    client.on('end', () => this.lost(client, new Error('connection ended')));
    await client.connect();
    for (const channel of this.channels.keys()) await client.query(`LISTEN ${channel}`);
    if (this.closed) {
      await client.end();
      return;
    }
    this.client = client;
    this.failures = 0;
  }

  private lost(client: pg.Client, error: Error): void {
    if (this.closed || this.client !== client) return;
    this.client = undefined;
    this.logger.warn({ err: error }, 'the PostgreSQL notification connection was lost; reconnecting');
    client.end().catch(() => undefined);
    this.scheduleReconnect();
  }

  private scheduleReconnect(): void {
    if (this.closed) return;
    const pause = Math.min(5_000, 50 * 2 ** this.failures);
    this.retryTimer = setTimeout(() => {
      this.connect().then(
        () => {
          if (this.closed || !this.client) return;
          this.reconnects += 1;
          for (const subscribers of this.channels.values()) for (const subscription of subscribers) subscription.resync();
        },
        (error: unknown) => {
          this.failures += 1;
          this.logger.warn({ err: error, attempt: this.failures }, 'reconnecting the PostgreSQL notification connection failed');
          this.scheduleReconnect();
        },
      );
    }, pause);
    this.retryTimer.unref();
  }
}
