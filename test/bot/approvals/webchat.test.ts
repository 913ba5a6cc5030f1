/** Approvals through the local web chat (Direct Line), the real bot server and a real executor. */
import { WebChatDriver } from '../webchat/driver.ts';
import { startBotHarness } from '../webchat/harness.ts';
import { APPROVALS_CATALOG, runApprovalFlows } from './flows.ts';

runApprovalFlows('web chat', async () => {
  const harness = await startBotHarness({ catalog: APPROVALS_CATALOG });
  const drivers = new Map<string, WebChatDriver>();
  const as = async (principalId: string) => {
    const existing = drivers.get(principalId);
    if (existing) return existing;
    const driver = await WebChatDriver.connect(harness.bot, principalId);
    drivers.set(principalId, driver);
    return driver;
  };
  return {
    executor: harness.executor,
    as,
    async press(principalId, _messageId, verb, data) {
      // What a card's Action.Submit posts: the data with the verb in it.
      await (await as(principalId)).postActivity({ type: 'message', value: { ...data, verb }, channelData: { postBack: true } });
    },
    close: () => harness.close(),
  };
});
