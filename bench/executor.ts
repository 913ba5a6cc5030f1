/**
 * Executor benchmarks, measured in one run on this machine (docs/runner.md, "the warm path"):
 * - the warm path: a trivial `pool` action end to end through the REST API (submit → final state
 *   over SSE), one requester, as a ratio to a cold `pwsh -NoProfile -Command` start measured in
 *   the same run (goal < 0.02). Each run is submitted `THINK_MS` after the previous one ended, as
 *   a person's next request comes; back to back (the next submitted the moment one ends, so it
 *   waits for its worker to open the next runspace) is shown too;
 * - throughput: 200 runs submitted at once, with one requester and with two (a pool worker
 *   serves one requester, docs/security.md "Run isolation"; each requester's workers are bound,
 *   and the spares started in their place are up, before the clock starts), with the CPU time
 *   each run cost in the executor's Node process and in pwsh, which says what this machine's two
 *   cores allow (goal 100 runs/s).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { startExecutor } from '../executor/app.ts';
import { loadExecutorConfig } from '../executor/config.ts';
import type { RunEvent } from '../executor/contract/index.ts';
import { locatePwsh, PROJECT_ROOT } from '../executor/pwsh/locate.ts';
import { HOST_SCRIPT, WORK_ROOT_PREFIX } from '../executor/pwsh/runner.ts';
import { childrenOf, readProcText } from '../executor/pwsh/proc.ts';
import { silentLogger } from '../lib/logger.ts';
import { removeDataFolder } from '../test/helpers/executor.ts';
import { followEvents } from './sse.ts';
import { median, ms, percentile } from './stats.ts';

export interface BenchResult {
  name: string;
  lines: string[];
  pass: boolean;
}

const WARM_RATIO_GOAL = 0.02;
const THROUGHPUT_GOAL = 100;
const BURST = 200;
/** Between one run's end and the next submission in the warm-path loop: less than any person's. */
const THINK_MS = 100;
/** Workers and concurrent runs: two per core. */
const WORKERS = 4;

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

/**
 * CPU time (ms) of one warm host (host.ps1 -Warm -JobFolders, no isolation, no run account) running `jobs`
 * trivial jobs fed at once on stdin: a shell runs pwsh and then prints its own /proc stat, whose
 * cutime and cstime hold what pwsh and its children used.
 */
function hostCpuMs(pwsh: string, hostScript: string, jobs: number): number {
  // Named as the runner names its workers' folders, which keeps PowerShell from listing the temporary folder.
  const folder = mkdtempSync(join(tmpdir(), `${WORK_ROOT_PREFIX}bench-`));
  try {
    const script = readFileSync(join(PROJECT_ROOT, 'test', 'fixtures', 'catalog', 'scripts', 'Echo.ps1'), 'utf8');
    const lines = Array.from({ length: jobs }, (_, i) => JSON.stringify({ id: `job-${i}`, script, parameters: { Message: `hello ${i}` }, secrets: [] }));
    const result = spawnSync('/bin/sh', ['-c', '"$0" -NoProfile -NonInteractive -NoLogo -File "$1" -Warm -JobFolders >/dev/null; cat /proc/$$/stat', pwsh, hostScript], {
      input: `${'0'.repeat(32)}\n${lines.map((line) => `${line}\n`).join('')}`,
      cwd: folder,
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: folder },
      encoding: 'utf8',
    });
    const stat = result.stdout;
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[13]) + Number(fields[14])) * MS_PER_CLOCK_TICK;
  } finally {
    rmSync(folder, { recursive: true, force: true });
  }
}

/** pwsh CPU per warm job: `HOST_JOBS` jobs minus none, the best of `HOST_ROUNDS` (less load from elsewhere). */
function hostCpuPerJob(pwsh: string, hostScript: string): number {
  const perJob: number[] = [];
  for (let round = 0; round < HOST_ROUNDS; round++) perJob.push((hostCpuMs(pwsh, hostScript, HOST_JOBS) - hostCpuMs(pwsh, hostScript, 0)) / HOST_JOBS);
  return Math.min(...perJob);
}

const HOST_JOBS = 60;
const HOST_ROUNDS = 3;

/** /proc counts CPU time in clock ticks of 10 ms (USER_HZ 100 on Linux). */
const MS_PER_CLOCK_TICK = 10;

/** CPU time (ms) used so far by the live processes below this one (the pwsh workers and their launchers). */
function descendantsCpuMs(): number {
  let ticks = 0;
  const queue = childrenOf(process.pid);
  for (let pid = queue.shift(); pid !== undefined; pid = queue.shift()) {
    const stat = readProcText(`/proc/${pid}/stat`);
    if (stat === undefined) continue;
    // utime and stime: fields 14 and 15 of the line, 12 and 13 after the command name.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    ticks += Number(fields[11]) + Number(fields[12]);
    queue.push(...childrenOf(pid));
  }
  return ticks * MS_PER_CLOCK_TICK;
}

const pause = (milliseconds: number) => new Promise((resolve) => setTimeout(resolve, milliseconds));
/** The workers are idle (new spares done starting) when they use less CPU than this per period. */
const QUIET_MS = 100;
const QUIET_PERIOD_MS = 1000;

export async function benchExecutor(): Promise<BenchResult[]> {
  const pwsh = locatePwsh(process.env, PROJECT_ROOT);
  if (!pwsh) throw new Error('pwsh not found');
  const dataDir = mkdtempSync(join(tmpdir(), 'deputy-bench-'));
  const config = {
    ...loadExecutorConfig({ DEPUTY_DATA_DIR: dataDir, DEPUTY_EXECUTOR_PORT: '0', DEPUTY_RUN_DATA_DIR: `${dataDir}-run-data` }),
    catalogFolder: join(PROJECT_ROOT, 'test', 'fixtures', 'catalog'),
    maxConcurrentRuns: WORKERS,
    poolSize: WORKERS,
    poolMaxWorkers: 2 * WORKERS,
    maxQueuedPerPrincipal: BURST,
    maxQueuedRuns: 2 * BURST,
    // The fixture's second requester (bea) has only a web chat identity, which counts in demo mode.
    demo: true,
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
  const submit = async (message: string, principalId = 'alex') => {
    const response = await fetch(`${executor.url}/v1/runs`, {
      method: 'POST',
      headers: { authorization: `Bearer ${executor.token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ actionId: 'echo', principalId, inputs: { Message: message }, origin: { kind: 'api' } }),
    });
    return { status: response.status, body: (await response.json()) as { id: string } };
  };
  const finished = (id: string) =>
    new Promise<RunEvent>((resolve) => {
      const early = finishedEarly.get(id);
      if (early) resolve(early);
      else waiters.set(id, resolve);
    });
  const endToEnd = async (label: string, count: number, thinkMs: number): Promise<number[]> => {
    const times: number[] = [];
    for (let i = 0; i < count; i++) {
      if (thinkMs > 0) await pause(thinkMs);
      const started = performance.now();
      const { body } = await submit(`${label}-${i}`);
      const event = await finished(body.id);
      if (event.run.state !== 'succeeded') throw new Error(`trivial run ${event.run.state}`);
      times.push(performance.now() - started);
    }
    return times;
  };
  /** Until the workers are idle: the spares started in place of those a requester bound are up. */
  const untilWorkersQuiet = async () => {
    let before = descendantsCpuMs();
    for (;;) {
      await pause(QUIET_PERIOD_MS);
      const after = descendantsCpuMs();
      if (after - before < QUIET_MS) return;
      before = after;
    }
  };
  /** Runs until the requesters hold all the workers they may, then waits until the spares started in their place are up. */
  const bindWorkers = async (requesters: string[]) => {
    const submissions = await Promise.all(Array.from({ length: 10 * WORKERS }, (_, i) => submit(`bind-${i}`, requesters[i % requesters.length])));
    await Promise.all(submissions.map((submission) => finished(submission.body.id)));
    await untilWorkersQuiet();
  };
  const burst = async (requesters: string[]) => {
    await bindWorkers(requesters);
    const cpuBefore = process.cpuUsage();
    const pwshBefore = descendantsCpuMs();
    const started = performance.now();
    const submissions = await Promise.all(Array.from({ length: BURST }, (_, i) => submit(`burst-${i}`, requesters[i % requesters.length])));
    const accepted = submissions.filter((submission) => submission.status === 202);
    const outcomes = await Promise.all(accepted.map((submission) => finished(submission.body.id)));
    const elapsedMs = performance.now() - started;
    const cpu = process.cpuUsage(cpuBefore);
    return {
      accepted: accepted.length,
      succeeded: outcomes.filter((event) => event.run.state === 'succeeded').length,
      elapsedMs,
      perSecond: BURST / (elapsedMs / 1000),
      nodeCpuPerRun: (cpu.user + cpu.system) / 1000 / BURST,
      pwshCpuPerRun: (descendantsCpuMs() - pwshBefore) / BURST,
    };
  };

  // The host as it was before jobs' runspaces came from CreateDefault (docs/runner.md, "the warm path").
  const autoloadingHost = join(dataDir, 'host-createdefault2.ps1');
  writeFileSync(autoloadingHost, readFileSync(HOST_SCRIPT, 'utf8').replace('InitialSessionState]::CreateDefault()', 'InitialSessionState]::CreateDefault2()'));
  try {
    const hostNow = hostCpuPerJob(pwsh.path, HOST_SCRIPT);
    const hostBefore = hostCpuPerJob(pwsh.path, autoloadingHost);
    const cold = coldPwshStart(pwsh.path, 7);
    // Warm the pool (first jobs start the workers, and a spare in place of the one alex took) before measuring.
    await endToEnd('warm-up', 5, 0);
    await untilWorkersQuiet();
    const warm = await endToEnd('trivial', 30, THINK_MS);
    const backToBack = await endToEnd('back-to-back', 30, 0);
    const one = await burst(['alex']);
    const two = await burst(['alex', 'bea']);

    const ratio = median(warm) / median(cold);
    const best = one.perSecond >= two.perSecond ? one : two;
    const cpuPerRun = best.nodeCpuPerRun + best.pwshCpuPerRun;
    const burstLine = (label: string, result: typeof one) =>
      `${label}: accepted ${result.accepted}/${BURST}, succeeded ${result.succeeded}/${BURST}, all done in ${ms(result.elapsedMs)} = ${result.perSecond.toFixed(1)} runs/s; CPU per run: Node ${ms(result.nodeCpuPerRun)}, pwsh ${ms(result.pwshCpuPerRun)}`;
    return [
      {
        name: 'warm path: trivial pool action end to end vs cold pwsh start',
        pass: ratio < WARM_RATIO_GOAL,
        lines: [
          `cold pwsh -NoProfile start: median ${ms(median(cold))} (n=${cold.length})`,
          `trivial pool action via REST, submit → final state over SSE, one requester, ${THINK_MS} ms between runs: median ${ms(median(warm))}, p90 ${ms(percentile(warm, 90))} (n=${warm.length})`,
          `ratio: ${ratio.toFixed(3)} (goal < ${WARM_RATIO_GOAL})`,
          `back to back (each waits for its worker to be readied: checked, and the next runspace opened, after the last end is recorded): median ${ms(median(backToBack))}, ratio ${(median(backToBack) / median(cold)).toFixed(3)}`,
        ],
      },
      {
        name: `${BURST} concurrent trivial runs, ${WORKERS} at a time`,
        pass: one.succeeded === BURST && two.succeeded === BURST && best.perSecond >= THROUGHPUT_GOAL,
        lines: [
          burstLine(`one requester (alex, holding ${WORKERS} workers)`, one),
          burstLine(`two requesters (alex and bea, ${WORKERS} workers each)`, two),
          `goal ${THROUGHPUT_GOAL} runs/s; at ${ms(cpuPerRun)} of CPU per run, ${availableParallelism()} idle cores allow about ${((availableParallelism() * 1000) / cpuPerRun).toFixed(0)} runs/s (Node CPU includes this benchmark's HTTP client and SSE reader)`,
          `one warm host alone, ${HOST_JOBS} trivial jobs back to back on stdin: ${ms(hostNow)} of pwsh CPU per job; with CreateDefault2 runspaces (before): ${ms(hostBefore)} (×${(hostNow / hostBefore).toFixed(2)}); so ${availableParallelism()} idle cores allow at most about ${((availableParallelism() * 1000) / (hostNow + best.nodeCpuPerRun)).toFixed(0)} runs/s with this run's Node CPU`,
          `load average while measuring: ${loadavg().map((load) => load.toFixed(1)).join(' ')} on ${availableParallelism()} cores shared with other work`,
        ],
      },
    ];
  } finally {
    stream.close();
    await executor.close();
    removeDataFolder(dataDir);
  }
}
