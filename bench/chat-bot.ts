/**
 * The bot of the chat benchmark (bench/chat.ts) in a process of its own, as in production:
 * the load generator and the loopback Bot Framework cloud stay in the benchmark's process, so
 * their work is not counted as the bot's. Started by bench/chat.ts with the cloud's addresses
 * and keys in BENCH_LOOPBACK_CLOUD; prints one `BENCH_BOT <json>` line with its address and the
 * web chat's key, and stops on SIGTERM.
 */
import { loadBotConfig } from '../bot/config.ts';
import { startBot } from '../bot/server.ts';
import { teamsEdgePlugin } from '../bot/teams/plugin.ts';
import { silentLogger } from '../lib/logger.ts';
import { loopbackCredentials, loopbackEndpoints, type LoopbackCloud } from '../test/bot/teams/harness.ts';

const cloud = JSON.parse(process.env.BENCH_LOOPBACK_CLOUD ?? '') as LoopbackCloud;
const config = loadBotConfig({
  DEPUTY_DATA_DIR: process.env.DEPUTY_DATA_DIR,
  DEPUTY_EXECUTOR_URL: process.env.DEPUTY_EXECUTOR_URL,
  DEPUTY_EXECUTOR_TOKEN: process.env.DEPUTY_EXECUTOR_TOKEN,
  DEPUTY_BOT_PORT: '0',
  DEPUTY_DEMO: '1',
  MicrosoftAppId: cloud.appId,
  MicrosoftAppPassword: cloud.appPassword,
});
const bot = await startBot({
  config,
  logger: silentLogger(),
  webChatPollingMs: Number(process.env.BENCH_WEB_CHAT_POLLING_MS),
  edges: [teamsEdgePlugin({ endpoints: loopbackEndpoints(cloud), credentialsFactory: loopbackCredentials(cloud) })],
});
await bot.core.start();
process.once('SIGTERM', () => {
  void bot.close().then(() => process.exit(0));
});
process.stdout.write(`BENCH_BOT ${JSON.stringify({ url: bot.url, webChat: bot.webChat })}\n`);
