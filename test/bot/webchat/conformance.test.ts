/** The adapter conformance suite against the local web chat: real bot server, real executor, real pwsh. */
import { runConformanceSuite } from '../conformance/suite.ts';
import { WebChatDriver } from './driver.ts';
import { startBotHarness } from './harness.ts';

runConformanceSuite('web chat', {
  async start() {
    const harness = await startBotHarness();
    let strangers = 0;
    return {
      asPrincipal: (principalId) => WebChatDriver.connect(harness.bot.url, principalId),
      asUnknownUser: () => WebChatDriver.connect(harness.bot.url, `stranger-${++strangers}`),
      runsOf: (principalId) => harness.executor.runsOf(principalId),
      close: () => harness.close(),
    };
  },
});
