/**
 * A root hook for the whole suite: every executor or runner a test starts must be closed, so no
 * pwsh worker of this process may outlive the tests. A leak here is a resource leak in a test
 * or in close() itself.
 */
import { ownHostProcesses } from '../executor/pwsh/helpers.ts';

export const mochaHooks = {
  async afterAll(this: Mocha.Context) {
    this.timeout(15_000);
    const deadline = Date.now() + 10_000;
    let left = ownHostProcesses();
    while (left.length > 0 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 200));
      left = ownHostProcesses();
    }
    if (left.length > 0) throw new Error(`pwsh workers outlived the tests (pids ${left.join(', ')}): a test left an executor or runner open`);
  },
};
