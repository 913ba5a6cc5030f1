/**
 * The adapter conformance suite against Teams: the real bot server with the Teams edge plugin,
 * a real executor with real pwsh, and the loopback Bot Framework standing in for Microsoft's
 * cloud. The Teams client is test/bot/teams/driver.ts.
 */
import { startTestExecutor } from '../../helpers/executor.ts';
import { runConformanceSuite } from '../conformance/suite.ts';
import { BOT_TEST_CATALOG } from '../webchat/harness.ts';
import { startTeamsBot } from './driver.ts';

runConformanceSuite('Teams', {
  async start() {
    const executor = await startTestExecutor({ catalog: BOT_TEST_CATALOG });
    const bot = await startTeamsBot(executor);
    return {
      asPrincipal: async (principalId) => bot.driverFor(principalId),
      asUnknownUser: async () => bot.stranger(),
      runsOf: (principalId) => executor.runsOf(principalId),
      async close() {
        await bot.close();
        await executor.dispose();
      },
    };
  },
});
