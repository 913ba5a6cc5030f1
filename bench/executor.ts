/**
 * Executor benchmarks, measured in one run on this machine:
 * - a trivial `pool` action end to end through the REST API (submit → final state over SSE),
 *   as a ratio to a cold `pwsh -NoProfile -Command` start (goal ≤ 0.5, aim 0.1);
 * - 200 concurrent submissions: all accepted and all succeeded.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { startExecutor } from '../executor/app.ts';
import { loadExecutorConfig } from '../executor/config.ts';
import type { RunEvent } from '../executor/contract/index.ts';
import { locatePwsh, PROJECT_ROOT } from '../executor/pwsh/locate.ts';
import { silentLogger } from '../lib/logger.ts';
import { removeDataFolder } from '../test/helpers/executor.ts';
import { followEvents } from './sse.ts';
import { median, ms, percentile } from './stats.ts';

export interface BenchResult {
  name: string;
  lines: string[];
  pass: boolean;
}

function coldPwshStart(pwsh: string, samples: number): number[] {
  const times: number[] = [];
  for (let i = 0; i < samples; i++) {
    const started = performance.now();
    const result = spawnSync(pwsh, ['-NoProfile', '-NonInteractive', '-Command', 'exit 0']);
    if (result.status !== 0) throw new Error('pwsh failed to start');
    times.push(performance.now() - started);
  }
  return times;
}

export async function benchExecutor(): Promise<BenchResult[]> {
  const pwsh = locatePwsh(process.env, PROJECT_ROOT);
  if (!pwsh) throw new Error('pwsh not found');
  const dataDir = mkdtempSync(join(tmpdir(), 'deputy-bench-'));
  const config = {
    ...loadExecutorConfig({ DEPUTY_DATA_DIR: dataDir, DEPUTY_EXECUTOR_PORT: '0', DEPUTY_RUN_DATA_DIR: `${dataDir}-run-data` }),
    catalogFolder: join(PROJECT_ROOT, 'test', 'fixtures', 'catalog'),
    maxConcurrentRuns: 4,
    poolSize: 4,
  };
  const executor = await startExecutor({ config, logger: silentLogger() });
  const waiters = new Map<string, (event: RunEvent) => void>();
  const finishedEarly = new Map<string, RunEvent>();
  const stream = followEvents(executor.url, executor.token, (event) => {
    if (event.type !== 'run.finished') return;
    const waiter = waiters.get(event.run.id);
    if (waiter) waiter(event);
    else finishedEarly.set(event.run.id, event);
  });
  await stream.ready;
  const submit = async (message: string) => {
    const response = await fetch(`${executor.url}/v1/runs`, {
      method: 'POST',
      headers: { authorization: `Bearer ${executor.token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ actionId: 'echo', principalId: 'alex', inputs: { Message: message }, origin: { kind: 'api' } }),
    });
    return { status: response.status, body: (await response.json()) as { id: string } };
  };
  const finished = (id: string) =>
    new Promise<RunEvent>((resolve) => {
      const early = finishedEarly.get(id);
      if (early) resolve(early);
      else waiters.set(id, resolve);
    });

  try {
    const cold = coldPwshStart(pwsh.path, 7);
    // Warm the pool (first jobs start the workers) before measuring.
    for (let i = 0; i < 5; i++) await finished((await submit(`warm-${i}`)).body.id);

    const endToEnd: number[] = [];
    for (let i = 0; i < 30; i++) {
      const started = performance.now();
      const { body } = await submit(`trivial-${i}`);
      const event = await finished(body.id);
      if (event.run.state !== 'succeeded') throw new Error(`trivial run ${event.run.state}`);
      endToEnd.push(performance.now() - started);
    }

    const burstStarted = performance.now();
    const submissions = await Promise.all(Array.from({ length: 200 }, (_, i) => submit(`burst-${i}`)));
    const accepted = submissions.filter((submission) => submission.status === 202);
    const outcomes = await Promise.all(accepted.map((submission) => finished(submission.body.id)));
    const burstMs = performance.now() - burstStarted;
    const succeeded = outcomes.filter((event) => event.run.state === 'succeeded').length;

    const ratio = median(endToEnd) / median(cold);
    return [
      {
        name: 'pool action end to end vs cold pwsh start',
        pass: ratio <= 0.5,
        lines: [
          `cold pwsh -NoProfile start: median ${ms(median(cold))} (n=${cold.length})`,
          `trivial pool action via REST, submit → final state: median ${ms(median(endToEnd))}, p90 ${ms(percentile(endToEnd, 90))} (n=${endToEnd.length})`,
          `ratio: ${ratio.toFixed(3)} (goal ≤ 0.5, aim 0.1)`,
        ],
      },
      {
        name: '200 concurrent submissions',
        pass: accepted.length === 200 && succeeded === 200,
        lines: [`accepted ${accepted.length}/200, succeeded ${succeeded}/200, all done in ${ms(burstMs)} (${(200 / (burstMs / 1000)).toFixed(1)} runs/s)`],
      },
    ];
  } finally {
    stream.close();
    await executor.close();
    removeDataFolder(dataDir);
  }
}
