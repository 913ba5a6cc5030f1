/** The adapter conformance suite against the local web chat: real bot server, real executor, real pwsh. */
import { runConformanceSuite } from '../conformance/suite.ts';
import { WebChatDriver } from './driver.ts';
import { startBotHarness } from './harness.ts';

runConformanceSuite('web chat', {
  async start() {
    const harness = await startBotHarness();
    let strangers = 0;
    return {
      asPrincipal: (principalId) => WebChatDriver.connect(harness.bot, principalId),
      asUnknownUser: () => WebChatDriver.connect(harness.bot, `stranger-${++strangers}`),
      rest: (path, init) => harness.executor.api(path, init),
      runsOf: (principalId) => harness.executor.runsOf(principalId),
      close: () => harness.close(),
    };
  },
});
