/**
 * The pwsh Runner (types.ts): service, pool and process modes around host.ps1, with
 * timeouts and cancel that kill the whole process tree, output caps, and secret masking.
 * docs/runner.md explains the protocol and the security reasoning.
 */
import { accessSync, constants, existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Clock } from '../../lib/clock.ts';
import type { Logger } from '../../lib/logger.ts';
import { DeputyError, isDeputyError } from '../contract/index.ts';
import type { RunAs } from '../domain.ts';
import type { StoredRecord } from '../store/port.ts';
import {
  accountEnvironment,
  accountWorkFolder,
  findSetpriv,
  resolveRunAsAccount,
  setprivArgs,
  type LocalAccount,
} from './accounts.ts';
import { RecordCollector } from './collector.ts';
import { createMasker, secretValues } from './mask.ts';
import { WorkerPool, type PoolStats } from './pool.ts';
import type { HostJob } from './protocol.ts';
import { maskSrxResult } from './srx.ts';
import { summarize } from './summary.ts';
import type { ExecutionHooks, ExecutionOutcome, ExecutionRequest, ExecutionResult, Runner } from './types.ts';
import { PwshWorker, type JobEnd, type LaunchSpec } from './worker.ts';

export const HOST_SCRIPT = join(import.meta.dirname, 'host.ps1');
/** pwsh's arguments: no profile, no prompts, the host script; pool workers warm up before they say ready. */
export function pwshArgs(pool: boolean): string[] {
  return ['-NoProfile', '-NonInteractive', '-NoLogo', '-File', HOST_SCRIPT, ...(pool ? ['-Warm'] : [])];
}

/** Variables a run as the executor's own account inherits; everything else (tokens, app secrets) stays out. */
const INHERITED_VARIABLES = ['PATH', 'HOME', 'USER', 'LOGNAME', 'SHELL', 'LANG', 'LC_ALL', 'LC_CTYPE', 'TZ', 'TMPDIR', 'DOTNET_ROOT'];
/** pwsh should not phone home or look for updates on a server. */
const PWSH_QUIET = { POWERSHELL_TELEMETRY_OPTOUT: '1', POWERSHELL_UPDATECHECK: 'Off', DOTNET_CLI_TELEMETRY_OPTOUT: '1' };

export interface PwshRunnerOptions {
  /** pwsh to run (from locatePwsh); undefined when none was found: runs fail with DEPUTY_E_PWSH_MISSING. */
  pwshPath: string | undefined;
  logger: Logger;
  clock: Clock;
  /** Warm workers per pool identity (default 2). */
  poolSize?: number;
  /** Local accounts `pool:<account>` / `process:<account>` may use. Root never. */
  runAsAllowlist: string[];
  /** Working folder of runs as the executor's own account (default: the executor's). */
  workFolder?: string;
  /** The executor's environment, from which runs inherit only a few harmless variables (default process.env). */
  env?: NodeJS.ProcessEnv;
}

export interface PwshRunnerStats {
  pools: PoolStats[];
}

export interface PwshRunner extends Runner {
  /** Starts a pool's workers ahead of the first job (pool modes; a no-op for the others). */
  prewarm(runAs: RunAs): Promise<void>;
  stats(): PwshRunnerStats;
}

type Stop = 'timed-out' | 'cancelled';

export function createPwshRunner(options: PwshRunnerOptions): PwshRunner {
  const { logger, clock } = options;
  const env = options.env ?? process.env;
  const poolSize = Math.max(1, options.poolSize ?? 2);
  const pools = new Map<string, WorkerPool>();
  const accounts = new Map<string, LocalAccount>();
  /** Kills the process of each run under way, synchronously. */
  const activeRuns = new Set<() => void>();
  let closed = false;

  // Workers are detached (their own process group), so they would outlive an executor that exits
  // without close(): kill them on the way out.
  const killEverything = (): void => {
    for (const abortRun of activeRuns) abortRun();
    for (const pool of pools.values()) pool.killNow();
  };
  process.once('exit', killEverything);

  function pwshPath(): string {
    const path = options.pwshPath;
    if (!path) throw new DeputyError('DEPUTY_E_PWSH_MISSING', { detail: 'no pwsh found (DEPUTY_PWSH, PATH, .tools/)' });
    try {
      accessSync(path, constants.X_OK);
    } catch (error) {
      throw new DeputyError('DEPUTY_E_PWSH_MISSING', { detail: `pwsh at ${path} is not executable`, cause: error });
    }
    return path;
  }

  function account(name: string): LocalAccount {
    const known = accounts.get(name);
    if (known) return known;
    const pwsh = pwshPath();
    const mustReach: Array<[string, 'x' | 'r']> = [
      [pwsh, 'x'],
      [HOST_SCRIPT, 'r'],
    ];
    // A dotnet global tool shim loads pwsh from its .store folder beside it.
    const toolStore = join(dirname(pwsh), '.store');
    if (existsSync(toolStore)) mustReach.push([toolStore, 'x']);
    const resolved = resolveRunAsAccount({ account: name, allowlist: options.runAsAllowlist, setpriv: findSetpriv(env), mustReach });
    accounts.set(name, resolved);
    return resolved;
  }

  function launchSpec(runAs: RunAs): LaunchSpec {
    const pwsh = pwshPath();
    const accountName = runAs.kind === 'service' ? undefined : runAs.account;
    if (accountName === undefined) {
      const inherited = Object.fromEntries(INHERITED_VARIABLES.flatMap((name) => (env[name] === undefined ? [] : [[name, env[name] as string]])));
      return { command: pwsh, args: pwshArgs(runAs.kind === 'pool'), env: { ...inherited, ...PWSH_QUIET }, cwd: options.workFolder ?? process.cwd(), identity: 'executor', switchesUser: false };
    }
    const target = account(accountName);
    const setpriv = findSetpriv(env) as string; // account() checked it exists
    // The account's clean environment, plus where the .NET runtime is when the executor was told.
    const dotnetRoot: Record<string, string> = env.DOTNET_ROOT ? { DOTNET_ROOT: env.DOTNET_ROOT } : {};
    return {
      command: setpriv,
      args: setprivArgs(target, pwsh, pwshArgs(runAs.kind === 'pool')),
      env: { ...accountEnvironment(target), ...dotnetRoot, ...PWSH_QUIET },
      cwd: accountWorkFolder(target),
      identity: target.name,
      switchesUser: true,
    };
  }

  function poolFor(runAs: RunAs & { kind: 'pool' }): WorkerPool {
    const key = runAs.account ?? '';
    let pool = pools.get(key);
    if (!pool) {
      pool = new WorkerPool(launchSpec(runAs), poolSize, logger);
      pools.set(key, pool);
    }
    return pool;
  }

  /** A caller's hook runs inside pwsh's output handling: its failure is logged, never thrown there. */
  function guarded<Args extends unknown[]>(name: string, hook: (...args: Args) => void): (...args: Args) => void {
    return (...args) => {
      try {
        hook(...args);
      } catch (error) {
        logger.warn({ err: error, hook: name }, 'a run hook threw');
      }
    };
  }

  async function execute(request: ExecutionRequest, hooks: ExecutionHooks = {}): Promise<ExecutionResult> {
    if (closed) throw new DeputyError('DEPUTY_E_INTERNAL', { detail: 'the runner is closed' });
    const startedAt = clock.now();
    const spec = request.runAs.kind === 'pool' ? undefined : launchSpec(request.runAs);
    const pool = request.runAs.kind === 'pool' ? poolFor(request.runAs) : undefined;
    const masker = createMasker(secretValues(request.parameters, request.secretParameters, request.maskValues));
    const collector = new RecordCollector(request.limits, masker, hooks.onRecord && guarded('onRecord', hooks.onRecord));
    const job: HostJob = { id: request.runId, script: request.scriptText, parameters: request.parameters, secrets: request.secretParameters, ...(request.srx ? { srx: request.srx } : {}) };

    // One controller stops whatever is under way: waiting for a worker, starting one, or the job.
    const stopper = new AbortController();
    let stop: Stop | undefined;
    const stopWith = (reason: Stop): void => {
      if (stop) return;
      stop = reason;
      stopper.abort(new Error(reason));
    };
    const timer = setTimeout(() => stopWith('timed-out'), request.timeoutMs);
    const onCancel = (): void => stopWith('cancelled');
    if (hooks.signal?.aborted) onCancel();
    hooks.signal?.addEventListener('abort', onCancel, { once: true });
    const stopped = new Promise<'stopped'>((resolve) => stopper.signal.addEventListener('abort', () => resolve('stopped'), { once: true }));

    let worker: PwshWorker | undefined;
    let end: JobEnd | undefined;
    const abortRun = (): void => {
      stopWith('cancelled');
      worker?.kill();
    };
    activeRuns.add(abortRun);
    try {
      worker = pool ? await pool.acquire(stopper.signal) : await PwshWorker.start(spec as LaunchSpec, logger, stopper.signal);
      const onStarted = hooks.onStarted && guarded('onStarted', hooks.onStarted);
      const sink = { onStarted: () => onStarted?.(), onRecord: (record: StoredRecord) => collector.add(record) };
      const running = worker.run(job, sink);
      if (!pool) worker.endInput(); // one job, then the host exits
      const first = await Promise.race([running, stopped]);
      if (first !== 'stopped') end = first;
    } catch (error) {
      if (!stop) throw error;
    } finally {
      activeRuns.delete(abortRun);
      clearTimeout(timer);
      hooks.signal?.removeEventListener('abort', onCancel);
      if (worker) {
        // A pool worker goes back only after a clean, finished job; a run's own process always ends with it.
        const reusable = !stop && end?.kind === 'ended' && end.frame.clean;
        if (pool) pool.release(worker, reusable);
        else worker.kill();
      }
    }

    let outcome: ExecutionOutcome;
    let exitCode: number | null;
    if (stop || !end) {
      outcome = stop ?? 'cancelled';
      exitCode = null;
    } else if (end.kind === 'ended') {
      outcome = end.frame.succeeded ? 'succeeded' : 'failed';
      exitCode = end.frame.exitCode;
    } else {
      outcome = 'failed';
      exitCode = end.exitCode;
      collector.add({ stream: 'error', text: `PowerShell ended unexpectedly (exit code ${end.exitCode ?? end.signal ?? 'unknown'}).` });
    }
    const records = collector.records();
    const srx = end?.kind === 'ended' && end.frame.srx ? maskSrxResult(end.frame.srx, masker) : undefined;
    return {
      outcome,
      exitCode,
      records,
      truncated: collector.truncated,
      durationMs: Math.max(0, clock.now() - startedAt),
      summary: summarize(records, collector.truncated, exitCode),
      ...(srx ? { srx } : {}),
    };
  }

  return {
    execute,
    assertModeAvailable(runAs: RunAs): void {
      if (runAs.kind === 'service' || runAs.account === undefined) return;
      account(runAs.account);
    },
    async prewarm(runAs: RunAs): Promise<void> {
      if (runAs.kind !== 'pool') return;
      try {
        await poolFor(runAs).prewarm();
      } catch (error) {
        throw isDeputyError(error) ? error : new DeputyError('DEPUTY_E_INTERNAL', { detail: 'pool prewarm failed', cause: error });
      }
    },
    stats: () => ({ pools: [...pools.values()].map((pool) => pool.stats()) }),
    async close(): Promise<void> {
      closed = true;
      process.off('exit', killEverything);
      for (const abortRun of activeRuns) abortRun();
      await Promise.all([...pools.values()].map((pool) => pool.close()));
      pools.clear();
    },
  };
}
