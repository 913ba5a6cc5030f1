/**
 * The Slack edge as a bot-server plugin: on when bot/config.ts found SLACK_BOT_TOKEN and
 * SLACK_SIGNING_SECRET (Socket Mode when SLACK_APP_TOKEN is set too), off with one line otherwise.
 *
 * Slack's outage never takes the bot down: the edge is built by a `StartingSlackEdge` that
 * tries once while the bot starts (a few seconds at most) and then keeps trying in the
 * background with a growing back-off. Until Slack answers, `POST /slack/events` answers 503
 * (Slack retries), the port refuses to post, and `/readyz` reports Slack as not connected; the
 * web chat and Teams work all along.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { webApi } from '@slack/bolt';
import type { Logger } from '../../lib/logger.ts';
import type { ChannelEdge, ConversationPort, EdgeHealth } from '../core/model.ts';
import type { EdgePlugin } from '../server.ts';
import { createSlackEdge, type SlackEdge, type SlackEdgeOptions } from './edge.ts';
import { SLACK_EVENTS_PATH, type RouteMounter } from './receiver.ts';

/** Settings beyond the environment: another Web API URL (a proxy), deadlines, the retry back-off. */
export type SlackPluginOptions = Pick<SlackEdgeOptions, 'apiUrl' | 'commandName' | 'modalDeadlineMs' | 'submitBudgetMs' | 'ackTimeoutMs'> & {
  /** First wait between start attempts, doubled up to `maxBackoffMs`. */
  initialBackoffMs?: number;
  maxBackoffMs?: number;
  /** How long one attempt may wait for Slack's answer. */
  attemptTimeoutMs?: number;
};

export function slackEdgePlugin(options: SlackPluginOptions = {}): EdgePlugin {
  return {
    channel: 'slack',
    offReason: (config) =>
      config.slack ? undefined : (config.platformNotices.find((notice) => notice.startsWith('Slack')) ?? 'Slack is off: SLACK_BOT_TOKEN is not set.'),
    async create({ config, handler, logger, clock }) {
      if (!config.slack) throw new Error('slackEdgePlugin.create called while Slack is off');
      const { botToken, signingSecret, appToken } = config.slack;
      const { initialBackoffMs, maxBackoffMs, attemptTimeoutMs, ...edgeSettings } = options;
      const apiUrl = edgeSettings.apiUrl ?? config.slackApiUrl;
      const edge = new StartingSlackEdge(
        {
          ...edgeSettings,
          ...(apiUrl ? { apiUrl } : {}),
          handler,
          logger,
          clock,
          botToken,
          ...(signingSecret ? { signingSecret } : {}),
          ...(appToken ? { appToken } : {}),
        },
        { initialBackoffMs: initialBackoffMs ?? 1000, maxBackoffMs: maxBackoffMs ?? 60_000, attemptTimeoutMs: attemptTimeoutMs ?? 3000 },
      );
      await edge.firstAttempt();
      return edge;
    },
  };
}

type RouteHandler = Parameters<RouteMounter['post']>[1];

export class StartingSlackEdge implements ChannelEdge {
  readonly channel = 'slack' as const;
  readonly port: ConversationPort;
  private edge: SlackEdge | undefined;
  private route: RouteHandler | undefined;
  private lastError = 'not connected yet';
  private attempts = 0;
  private timer: NodeJS.Timeout | undefined;
  private closed = false;
  private readonly log: Logger;

  constructor(
    private readonly options: SlackEdgeOptions,
    private readonly retry: { initialBackoffMs: number; maxBackoffMs: number; attemptTimeoutMs: number },
  ) {
    this.log = options.logger.child({ edge: 'slack' });
    this.port = {
      post: (conversation, screen, postOptions) => this.connected().port.post(conversation, screen, postOptions),
      update: (conversation, messageId, screen) => this.connected().port.update(conversation, messageId, screen),
      postFile: (conversation, file) => this.connected().port.postFile(conversation, file),
    };
  }

  get slackEdge(): SlackEdge | undefined {
    return this.edge;
  }

  /** One attempt, bounded in time; on failure the next ones run in the background. */
  async firstAttempt(): Promise<void> {
    if (!(await this.attempt())) this.schedule();
  }

  health(): EdgeHealth {
    return this.edge ? { ok: true, detail: `connected (${this.edge.mode} mode)` } : { ok: false, detail: `Slack is not connected: ${this.lastError} (attempt ${this.attempts}, still retrying)` };
  }

  mount(server: unknown): void {
    if (this.options.appToken) return; // Socket Mode: no HTTP route.
    (server as RouteMounter).post(SLACK_EVENTS_PATH, (req: IncomingMessage, res: ServerResponse, next: (err?: unknown) => void) => {
      if (this.route) return this.route(req, res, next);
      // Slack retries a request answered with an error: nothing is lost while it connects.
      res.writeHead(503, { 'content-type': 'application/json', 'retry-after': '10' });
      res.end(JSON.stringify({ error: 'Slack is not connected yet.' }));
      next();
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.timer);
    await this.edge?.close();
  }

  private connected(): SlackEdge {
    if (!this.edge) throw new Error(`Slack is not connected: ${this.lastError}`);
    return this.edge;
  }

  /** Checks that Slack answers (without the client's long retries), then builds the real edge. */
  private async attempt(): Promise<boolean> {
    this.attempts += 1;
    try {
      const probe = new webApi.WebClient(this.options.botToken, {
        slackApiUrl: this.options.apiUrl ?? 'https://slack.com/api/',
        retryConfig: { retries: 0 },
        timeout: this.retry.attemptTimeoutMs,
        logLevel: webApi.LogLevel.ERROR,
      });
      await probe.auth.test();
      const edge = await createSlackEdge(this.options);
      if (this.closed) {
        await edge.close();
        return true;
      }
      const capture: RouteMounter = { post: (_path: string, handler: RouteHandler) => void (this.route = handler) };
      edge.mount(capture);
      this.edge = edge;
      if (this.attempts > 1) this.log.info({ attempts: this.attempts }, 'Slack is connected');
      return true;
    } catch (error) {
      this.lastError = error instanceof Error ? error.message : String(error);
      this.log.warn({ attempt: this.attempts, err: this.lastError }, 'Slack cannot be reached; the other chat platforms carry on, and Slack is tried again');
      return false;
    }
  }

  private schedule(): void {
    if (this.closed) return;
    const delay = Math.min(this.retry.maxBackoffMs, this.retry.initialBackoffMs * 2 ** Math.max(0, this.attempts - 1));
    this.timer = setTimeout(() => {
      void this.attempt().then((done) => {
        if (!done) this.schedule();
      });
    }, delay);
    this.timer.unref();
  }
}
