/** Approvals through the real Teams edge (botbuilder, loopback Bot Framework), the real bot server and a real executor. */
import { startTestExecutor } from '../../helpers/executor.ts';
import { APPROVALS_CATALOG, runApprovalFlows } from './flows.ts';
import { startTeamsBot } from '../teams/driver.ts';

runApprovalFlows('Teams', async () => {
  const executor = await startTestExecutor({ catalog: APPROVALS_CATALOG });
  const bot = await startTeamsBot(executor);
  return {
    executor,
    as: async (principalId) => bot.driverFor(principalId),
    press: (principalId, messageId, verb, data) => bot.driverFor(principalId).press(messageId, verb, data),
    async close() {
      await bot.close();
      await executor.dispose();
    },
  };
});
