/** A real executor (real pwsh, test catalog) and a real bot server in demo mode, both on loopback. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadBotConfig, type BotConfig } from '../../../bot/config.ts';
import { startBot, type RunningBot } from '../../../bot/server.ts';
import { silentLogger } from '../../../lib/logger.ts';
import { PROJECT_ROOT } from '../../../executor/pwsh/locate.ts';
import { startTestExecutor, type TestExecutor } from '../../helpers/executor.ts';

/** The bot tests' own catalog (every principal has an identity on every platform). */
export const BOT_TEST_CATALOG = join(PROJECT_ROOT, 'test', 'bot', 'conformance', 'catalog');

export interface BotHarness {
  executor: TestExecutor;
  bot: RunningBot;
  botDataDir: string;
  close(): Promise<void>;
}

export async function startBotHarness(options: { catalog?: string; config?: Partial<BotConfig> } = {}): Promise<BotHarness> {
  const executor = await startTestExecutor({ catalog: options.catalog ?? BOT_TEST_CATALOG });
  const botDataDir = mkdtempSync(join(tmpdir(), 'deputy-bot-test-'));
  try {
    const config: BotConfig = {
      ...loadBotConfig({
        DEPUTY_DATA_DIR: botDataDir,
        DEPUTY_EXECUTOR_URL: executor.url,
        DEPUTY_EXECUTOR_TOKEN: executor.token,
        DEPUTY_BOT_PORT: '0',
        DEPUTY_DEMO: '1',
      }),
      ...options.config,
    };
    const bot = await startBot({ config, logger: silentLogger(), eventBackoffMs: { initial: 50, max: 500 }, webChatPollingMs: 200 });
    await bot.core.start();
    return {
      executor,
      bot,
      botDataDir,
      async close() {
        await bot.close();
        await executor.dispose();
        rmSync(botDataDir, { recursive: true, force: true });
      },
    };
  } catch (error) {
    await executor.dispose();
    rmSync(botDataDir, { recursive: true, force: true });
    throw error;
  }
}
