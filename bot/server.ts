/**
 * The bot process: a restify server with health routes, the bot core following the executor,
 * and one edge per enabled chat platform (plus the local web chat in demo mode).
 * `startBot` is what `deputy bot`, `deputy start` and the tests call.
 */
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import restify, { type Request, type Response, type Server } from 'restify';
import { DeputyError, ERRORS, type Channel, type ErrorCode } from '../executor/contract/index.ts';
import { closeAfterAnswer, encodingRefusal } from '../lib/http-body.ts';
import { systemClock, type Clock } from '../lib/clock.ts';
import { createLogger, type Logger } from '../lib/logger.ts';
import { isLoopbackHost } from '../lib/http-host.ts';
import type { BotConfig } from './config.ts';
import { BotCore } from './core/core.ts';
import { ExecutorClient } from './core/executor-client.ts';
import type { ChannelEdge, ConversationHandler } from './core/model.ts';
import { FileConversations, type SharedConversationStore } from './store/port.ts';
import { PgConversations } from './store/postgres.ts';
import { WebChatEdge } from './webchat/edge.ts';

export const CONVERSATIONS_FILE = 'bot-conversations.json';

/** What an edge needs to be built: the handler to call and the bot's settings. */
export interface EdgeContext {
  config: BotConfig;
  handler: ConversationHandler;
  logger: Logger;
  clock: Clock;
}

/**
 * A chat platform the bot can serve. `deputy bot` passes Teams and Slack plugins; a plugin
 * whose credentials are absent is skipped with one line in the start-up log.
 */
export interface EdgePlugin {
  channel: Channel;
  /** Undefined when the platform can start; otherwise the one line saying why it is off. */
  offReason(config: BotConfig): string | undefined;
  create(context: EdgeContext): Promise<ChannelEdge>;
}

export interface StartBotOptions {
  config: BotConfig;
  logger?: Logger;
  clock?: Clock;
  edges?: EdgePlugin[];
  /** Shorter reconnect back-off for the executor's event stream (tests). */
  eventBackoffMs?: { initial: number; max: number };
  /** Web chat polling interval for the page (tests shorten it). */
  webChatPollingMs?: number;
  /** The lease on following the executor's events (tests shorten it). */
  eventLease?: { ttlMs: number; renewMs: number };
}

export interface RunningBot {
  url: string;
  port: number;
  /** Demo mode: the web chat's key, and the address to open (it carries the key after `#`). */
  webChat?: { key: string; url: string };
  core: BotCore;
  edges: ChannelEdge[];
  close(): Promise<void>;
}

/** Refuses demo mode anywhere but loopback: the persona picker lets anyone act as anyone. */
export function assertDemoIsLocal(config: Pick<BotConfig, 'demo' | 'host'>): void {
  if (config.demo && !isLoopbackHost(config.host)) {
    throw new DeputyError('DEPUTY_E_CONFIG_INVALID', {
      message: `DEPUTY_DEMO: demo mode (the web chat persona picker) runs only on a loopback address, but DEPUTY_BOT_HOST is ${config.host}. Use 127.0.0.1, or turn demo mode off.`,
    });
  }
}

export async function startBot(options: StartBotOptions): Promise<RunningBot> {
  const { config } = options;
  assertDemoIsLocal(config);
  const clock = options.clock ?? systemClock;
  const logger = options.logger ?? createLogger({ level: config.logLevel, format: config.logFormat, name: 'bot' });

  const executor = new ExecutorClient({ baseUrl: config.executorUrl, token: config.executorToken });
  const conversations = await openConversations(config, clock, logger);
  const core = new BotCore({ executor, logger, clock, conversations, eventBackoffMs: options.eventBackoffMs, ...(options.eventLease ? { eventLease: options.eventLease } : {}) });

  const server = restify.createServer({ name: 'deputy-bot', handleUncaughtExceptions: false });
  server.pre((req, res, next) => {
    // Before routing, before any Host or token check, before a byte of the body: every route's
    // body is bounded, and none is ever inflated. Each edge reads its body only after it knows
    // the caller, and stays under this limit too.
    const refusal: ErrorCode | undefined = encodingRefusal(req.headers)
      ? 'DEPUTY_E_UNSUPPORTED_MEDIA_TYPE'
      : Number(req.headers['content-length'] ?? 0) > config.maxBodyBytes
        ? 'DEPUTY_E_PAYLOAD_TOO_LARGE'
        : undefined;
    if (refusal) {
      closeAfterAnswer(req, res);
      res.send(ERRORS[refusal].status, { error: { code: refusal, message: ERRORS[refusal].message } });
      return next(false);
    }
    return next();
  });
  // Restify's own answers (no such route, wrong method) come before any body was read: the connection ends with them.
  server.on('restifyError', (req: Request, res: Response, _error: Error, callback: () => void) => {
    closeAfterAnswer(req, res);
    callback();
  });
  server.get('/healthz', (_req, res, next) => {
    res.send(200, { status: 'alive' });
    next();
  });
  server.get('/readyz', async (_req, res) => {
    const executorReady = await executor.isReady();
    // Each chat platform is reported on its own; one that is down degrades the bot, the others still work.
    const platforms = Object.fromEntries(edges.map((edge) => [edge.channel, edge.health?.() ?? { ok: true }]));
    const degraded = Object.values(platforms).some((check) => !check.ok);
    res.send(executorReady ? 200 : 503, { status: executorReady ? (degraded ? 'degraded' : 'ready') : 'not-ready', checks: { executor: { ok: executorReady }, ...platforms } });
  });

  const context: EdgeContext = { config, handler: core, logger, clock };
  const edges: ChannelEdge[] = [];
  for (const plugin of options.edges ?? []) {
    const reason = plugin.offReason(config);
    if (reason) {
      logger.info(reason);
      continue;
    }
    edges.push(await plugin.create(context));
  }
  // Demo mode: a key per start, given only to whoever reads the start-up output (never logged).
  const webChatKey = config.demo ? randomBytes(18).toString('base64url') : undefined;
  if (webChatKey !== undefined) {
    edges.push(new WebChatEdge({
      accessKey: webChatKey,
      handler: core,
      listPersonas: () => executor.listPersonas(),
      logger,
      clock,
      maxBodyBytes: config.maxBodyBytes,
      pollingIntervalMs: options.webChatPollingMs,
    }));
  } else {
    logger.info('Web chat is off: it runs only in demo mode (DEPUTY_DEMO=1, on loopback).');
  }
  for (const edge of edges) {
    core.attach(edge);
    edge.mount(server);
  }

  try {
    await listen(server, config.port, config.host);
  } catch (error) {
    await Promise.allSettled(edges.map((edge) => edge.close()));
    await conversations.close();
    await executor.close();
    throw error;
  }
  // Events flow once the edges can post; the executor may still be starting, so this does not wait.
  void core.start();
  const port = (server.address() as AddressInfo).port;
  const url = `http://${config.host.includes(':') ? `[${config.host}]` : config.host}:${port}`;
  logger.info({ url, edges: edges.map((edge) => edge.channel), demo: config.demo }, 'bot listening');
  // The page needs the start's key, which is never logged: `deputy start` prints the address with it.
  if (config.demo) logger.info(`Web chat (demo, local only) on ${url}: open the address with its key that deputy start printed`);

  return {
    url,
    port,
    ...(webChatKey !== undefined ? { webChat: { key: webChatKey, url: `${url}/#key=${webChatKey}` } } : {}),
    core,
    edges,
    async close() {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.server.closeAllConnections();
      await closed;
      await core.close();
      await Promise.allSettled(edges.map((edge) => edge.close()));
      await conversations.close();
      await executor.close();
    },
  };
}

/**
 * The bot keeps nothing of its own but in this store: a file in the data folder (one bot), or
 * PostgreSQL with `DEPUTY_DATABASE_URL`, which several bots behind one URL share.
 */
async function openConversations(config: BotConfig, clock: Clock, logger: Logger): Promise<SharedConversationStore> {
  if (config.databaseUrl === undefined) return FileConversations.open(join(config.dataDir, CONVERSATIONS_FILE));
  const store = await PgConversations.open({ url: config.databaseUrl, clock, logger });
  logger.info('conversations in PostgreSQL (DEPUTY_DATABASE_URL): bots sharing it can stand behind one URL');
  return store;
}

function listen(server: Server, port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.removeListener('error', reject);
      resolve();
    });
  });
}
