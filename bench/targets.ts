/**
 * Target benchmark, measured in one run against a real sshd on loopback with the project's
 * pwsh on the "remote" side: a trivial job on a warm target session (one connection and one
 * remote pwsh kept for the requester) as a ratio to a cold one (SSH connection, handshake, key
 * authentication and pwsh start for each run). Goal: warm ≤ 0.25 × cold.
 */
import { performance } from 'node:perf_hooks';
import type { Target } from '../executor/domain.ts';
import type { ExecutionRequest } from '../executor/pwsh/types.ts';
import { locatePwsh, PROJECT_ROOT } from '../executor/pwsh/locate.ts';
import { createTargetRunner } from '../executor/targets/runner.ts';
import { systemClock } from '../lib/clock.ts';
import { silentLogger } from '../lib/logger.ts';
import { job } from '../test/executor/pwsh/helpers.ts';
import { generateKeyPair, startSshd } from '../test/helpers/sshd.ts';
import type { BenchResult } from './executor.ts';
import { median, medianAndP99, ms } from './stats.ts';

const GOAL = 0.25;

export async function benchTargets(): Promise<BenchResult[]> {
  const pwsh = locatePwsh(process.env, PROJECT_ROOT);
  if (!pwsh) throw new Error('pwsh not found');
  const key = generateKeyPair();
  const sshd = await startSshd({ authorizedKeys: [key.publicKey] });
  const runner = createTargetRunner({ logger: silentLogger(), clock: systemClock, connectTimeoutMs: 15_000, idleMs: 600_000, maxIdleSessions: 4 });
  const target: Target = {
    id: 'bench-01',
    name: 'Benchmark target',
    tenant: 'bench',
    host: '127.0.0.1',
    port: sshd.port,
    user: sshd.user,
    credential: 'bench-key',
    hostKey: sshd.hostKey,
    pwsh: pwsh.path,
  };
  const timed = async (runAs: ExecutionRequest['runAs']): Promise<number> => {
    const started = performance.now();
    const result = await runner.execute({ request: job("'ok'", { runAs }), target, privateKey: key.privateKey, credentialVersion: 1, requester: 'bench' });
    if (result.outcome !== 'succeeded') throw new Error(`a benchmark run ${result.outcome}: ${result.error?.message ?? JSON.stringify(result.records)}`);
    return performance.now() - started;
  };
  try {
    const cold: number[] = [];
    for (let i = 0; i < 5; i++) cold.push(await timed({ kind: 'service' }));
    await timed({ kind: 'pool' }); // the first pool job opens the session
    const warm: number[] = [];
    for (let i = 0; i < 30; i++) warm.push(await timed({ kind: 'pool' }));
    const ratio = median(warm) / median(cold);
    return [
      {
        name: `trivial job on a warm target session vs a cold SSH connection + pwsh start: ratio ${ratio.toFixed(3)} (goal ≤ ${GOAL})`,
        lines: [`warm: ${medianAndP99(warm)} (30 runs)`, `cold: median ${ms(median(cold))} (5 runs)`],
        pass: ratio <= GOAL,
      },
    ];
  } finally {
    await runner.close();
    await sshd.stop();
  }
}
