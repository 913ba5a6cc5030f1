/**
 * A root hook for the whole suite: every executor or runner a test starts must be closed, so no
 * pwsh worker of this process may outlive the tests. A leak here is a resource leak in a test
 * or in close() itself.
 */
import { readdirSync, readFileSync } from 'node:fs';

function pwshHostsOfThisProcess(): number[] {
  const found: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const [state, parent] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(parent) === process.pid && state !== 'Z' && readFileSync(`/proc/${name}/cmdline`, 'utf8').includes('host.ps1')) found.push(Number(name));
    } catch {
      // The process ended while we looked.
    }
  }
  return found;
}

export const mochaHooks = {
  async afterAll(this: Mocha.Context) {
    this.timeout(15_000);
    const deadline = Date.now() + 10_000;
    let left = pwshHostsOfThisProcess();
    while (left.length > 0 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 200));
      left = pwshHostsOfThisProcess();
    }
    if (left.length > 0) throw new Error(`pwsh workers outlived the tests (pids ${left.join(', ')}): a test left an executor or runner open`);
  },
};
