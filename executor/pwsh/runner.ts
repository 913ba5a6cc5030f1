/**
 * The pwsh Runner (types.ts): service, pool and process modes around host.ps1, with run
 * isolation (isolation.ts), timeouts and cancel that end every process of a run, output caps,
 * and secret masking. docs/runner.md explains the protocol, docs/security.md the isolation.
 */
import { accessSync, chmodSync, chownSync, constants, mkdtempSync, rmSync, statSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Clock } from '../../lib/clock.ts';
import type { Logger } from '../../lib/logger.ts';
import { DeputyError, isDeputyError } from '../contract/index.ts';
import type { RunAs } from '../domain.ts';
import type { StoredRecord } from '../store/port.ts';
import { accountEnvironment, accountWorkFolder, resolveRunAsAccount, setprivArgs, type LocalAccount } from './accounts.ts';
import { RecordCollector } from './collector.ts';
import { bubblewrapArgs, pidNamespaceArgs, privateFolderArgs, resolveIsolation, type HiddenPath, type RunIsolation } from './isolation.ts';
import { createMasker, secretValues } from './mask.ts';
import { WorkerPool, type PoolStats } from './pool.ts';
import type { HostJob } from './protocol.ts';
import { maskSrxResult } from './srx.ts';
import { DEFAULT_RUNTIME_FOLDER, runnableFilesFor, type RunnableFiles } from './staging.ts';
import { executionResult, RunStopper } from './run-stop.ts';
import type { ExecutionHooks, ExecutionOutcome, ExecutionRequest, ExecutionResult, Runner } from './types.ts';
import { PwshWorker, type JobEnd, type LaunchSpec } from './worker.ts';

export const HOST_SCRIPT = join(import.meta.dirname, 'host.ps1');
export const DEFAULT_RUN_ACCOUNT = 'deputy-run';
/**
 * The folder that holds every worker's folder, in the temporary folder. The `~` is for speed:
 * each runspace a job opens in its folder has PowerShell find the "correct casing" of every part
 * of that path by listing the folder above it (FileSystemProvider.GetCorrectCasedPath), except
 * for a part with a `~` (a Windows short name to it). A busy temporary folder with thousands of
 * entries then made each job cost 60 ms more CPU (docs/runner.md, "the warm path").
 */
export const WORK_ROOT_PREFIX = 'deputy~runs-';

interface HostOptions {
  /** A pool worker: warm up before saying ready. */
  warm: boolean;
  /** Each job in a fresh folder below the worker's own (pool workers; a one-job worker's own folder is fresh). */
  jobFolders: boolean;
  /** pwsh is alone in its PID namespace: any other process there is a job's leftover. */
  contained: boolean;
}

/** pwsh's arguments: no profile, no prompts, the host script and its switches. */
function hostArgs(hostScript: string, options: HostOptions): string[] {
  return [
    '-NoProfile', '-NonInteractive', '-NoLogo', '-File', hostScript,
    ...(options.warm ? ['-Warm'] : []),
    ...(options.jobFolders ? ['-JobFolders'] : []),
    ...(options.contained ? ['-Contained'] : []),
  ];
}

/** Variables a run as the executor's own account inherits; everything else (tokens, app secrets) stays out. */
const INHERITED_VARIABLES = ['PATH', 'USER', 'LOGNAME', 'SHELL', 'LANG', 'LC_ALL', 'LC_CTYPE', 'TZ', 'DOTNET_ROOT'];
/**
 * pwsh should not phone home or look for updates on a server, nor open .NET's diagnostics
 * endpoints (a socket and debugger pipes in TMPDIR through which a process of the same account
 * dumps this one's memory or attaches a profiler: all service and pool runs are one account).
 */
const PWSH_QUIET = { POWERSHELL_TELEMETRY_OPTOUT: '1', POWERSHELL_UPDATECHECK: 'Off', DOTNET_CLI_TELEMETRY_OPTOUT: '1', DOTNET_EnableDiagnostics: '0' };

export interface PwshRunnerOptions {
  /** pwsh to run (from locatePwsh); undefined when none was found: runs fail with DEPUTY_E_PWSH_MISSING. */
  pwshPath: string | undefined;
  logger: Logger;
  clock: Clock;
  /** Spare warm workers per pool identity, and the most workers one requester holds at once (default 2). */
  poolSize?: number;
  /** Workers per pool identity at most, spares included (default 8). */
  poolMaxWorkers?: number;
  /** A pool worker bound to a requester ends after this long without a job (default 5 minutes). */
  poolIdleMs?: number;
  /** Local accounts `pool:<account>` / `process:<account>` may use. Root never. */
  runAsAllowlist: string[];
  /** The account service and pool runs use when the executor is root (DEPUTY_RUN_ACCOUNT, default deputy-run). */
  runAccount?: string;
  /**
   * Folders and files no service or pool run may read (the data folder, the audit checkpoint and
   * its key, a DEPUTY_CONFIG file): hidden in the run's namespace (bubblewrap, or a root
   * executor's mount step), whatever their permissions.
   */
  protectedPaths?: string[];
  /** Service and pool runs may go ahead without isolation (demo mode only); otherwise they are refused. */
  allowUnisolated?: boolean;
  /** Where pwsh and the host script are copied when a run account cannot reach them (default /var/lib/deputy/runtime). */
  runtimeFolder?: string;
  /** The executor's environment, from which runs inherit only a few harmless variables (default process.env). */
  env?: NodeJS.ProcessEnv;
}

export interface PwshRunnerStats {
  pools: PoolStats[];
}

export interface PwshRunner extends Runner {
  /** Starts a pool's spare workers ahead of the first job (pool modes; a no-op for the others). */
  prewarm(runAs: RunAs): Promise<void>;
  stats(): PwshRunnerStats;
  /** How service and pool runs are isolated here (decided once, when the runner is made). */
  isolation(): RunIsolation;
}

export function createPwshRunner(options: PwshRunnerOptions): PwshRunner {
  const { logger, clock } = options;
  const env = options.env ?? process.env;
  const poolLimits = {
    size: Math.max(1, options.poolSize ?? 2),
    maxWorkers: Math.max(1, options.poolMaxWorkers ?? 8),
    idleMs: options.poolIdleMs ?? 300_000,
  };
  const { isolation, tools } = resolveIsolation({ env, runAccount: options.runAccount ?? DEFAULT_RUN_ACCOUNT });
  const pools = new Map<string, WorkerPool>();
  const accounts = new Map<string, LocalAccount>();
  const runnable = new Map<string, RunnableFiles>();
  /** Kills the process of each run under way, synchronously. */
  const activeRuns = new Set<() => void>();
  /** Holds each worker's fresh folder: traversable, not listable, by the run account (so one worker cannot find another's). */
  let workRoot: string | undefined;
  let closed = false;

  // Workers are detached (their own process group), so they would outlive an executor that exits
  // without close(): kill them on the way out.
  const killEverything = (): void => {
    for (const abortRun of activeRuns) abortRun();
    for (const pool of pools.values()) pool.killNow();
    if (workRoot) rmSync(workRoot, { recursive: true, force: true });
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

  /** pwsh and the host script where the account can use them (copied out of a folder it cannot enter). */
  function filesFor(target: LocalAccount): RunnableFiles {
    const known = runnable.get(target.name);
    if (known) return known;
    const files = runnableFilesFor({
      account: target,
      setpriv: tools.setpriv as string,
      pwsh: pwshPath(),
      hostScript: HOST_SCRIPT,
      runtimeFolder: options.runtimeFolder ?? DEFAULT_RUNTIME_FOLDER,
    });
    if (files.pwsh !== pwshPath() || files.hostScript !== HOST_SCRIPT) logger.info({ account: target.name, ...files }, 'runs of this account use copies it can reach');
    runnable.set(target.name, files);
    return files;
  }

  function account(name: string): LocalAccount {
    const known = accounts.get(name);
    if (known) return known;
    const resolved = resolveRunAsAccount({ account: name, allowlist: options.runAsAllowlist, setpriv: tools.setpriv });
    filesFor(resolved);
    accounts.set(name, resolved);
    return resolved;
  }

  /** Refuses service and pool runs that nothing would isolate, unless this is a demo. */
  function assertIsolated(): void {
    if (isolation.kind === 'none' && !options.allowUnisolated) {
      throw new DeputyError('DEPUTY_E_MODE_UNAVAILABLE', { detail: `service and pool runs are refused outside demo mode: ${isolation.summary}` });
    }
    if (isolation.account) filesFor(isolation.account);
  }

  /** A fresh folder for one worker, owned by whoever the worker runs as; removed when the worker ends. */
  function newWorkFolder(owner: LocalAccount | undefined): { path: string; dispose: () => void } {
    if (!workRoot) {
      workRoot = mkdtempSync(join(tmpdir(), WORK_ROOT_PREFIX));
      chmodSync(workRoot, owner ? 0o711 : 0o700);
    }
    const path = mkdtempSync(join(workRoot, 'w-'));
    if (owner) chownSync(path, owner.uid, owner.gid);
    // Off the event loop: a job may have left a large folder.
    const dispose = () => void rm(path, { recursive: true, force: true }).catch((error: unknown) => logger.warn({ err: error, path }, 'cannot remove a pwsh worker\'s folder'));
    return { path, dispose };
  }

  /** What a run must not read although its account might (`protectedPaths` that exist now), and whether each is a folder. */
  function hiddenPaths(): HiddenPath[] {
    return (options.protectedPaths ?? []).flatMap((path) => {
      const stat = statSync(path, { throwIfNoEntry: false });
      return stat ? [{ path, folder: stat.isDirectory() }] : [];
    });
  }

  /** Root with a working unshare: every worker is the first process of a PID namespace of its own. */
  const pidNamespaces = tools.unshare !== undefined && tools.setpriv !== undefined;
  /** Where the executor was told the .NET runtime is. */
  const dotnetRoot: Record<string, string> = env.DOTNET_ROOT ? { DOTNET_ROOT: env.DOTNET_ROOT } : {};

  /**
   * In a PID namespace of its own where the host allows it: the run's processes all end with its
   * first. A fresh folder is the only run folder that namespace reaches, and `protectedPaths` are hidden.
   */
  function contained(spec: Omit<LaunchSpec, 'pidNamespace'>, freshFolder = false): LaunchSpec {
    if (!pidNamespaces) return { ...spec, pidNamespace: false };
    const privateFolder = freshFolder && tools.privateFolders ? privateFolderArgs(tools.privateFolders, spec.cwd, hiddenPaths()) : [];
    return { ...spec, command: tools.setpriv as string, args: [...pidNamespaceArgs(tools.unshare as string), ...privateFolder, spec.command, ...spec.args], pidNamespace: true };
  }

  /** pwsh as a local account (setpriv), with the account's clean environment plus `extra`; a `fresh` folder is made private. */
  function asAccount(target: LocalAccount, host: { warm: boolean; jobFolders: boolean }, place: { cwd: string; fresh: boolean; extra?: Record<string, string>; dispose?: () => void }): LaunchSpec {
    const files = filesFor(target);
    return contained({
      command: tools.setpriv as string, // an account exists only where setpriv does
      args: setprivArgs(target, files.pwsh, hostArgs(files.hostScript, { ...host, contained: pidNamespaces })),
      env: { ...accountEnvironment(target), ...place.extra, ...dotnetRoot, ...PWSH_QUIET },
      cwd: place.cwd,
      identity: target.name,
      switchesUser: true,
      ...(place.dispose ? { dispose: place.dispose } : {}),
    }, place.fresh);
  }

  function launchSpec(runAs: RunAs): LaunchSpec {
    const pwsh = pwshPath();
    const warm = runAs.kind === 'pool';
    const named = runAs.kind === 'service' ? undefined : runAs.account;
    if (named !== undefined) {
      const target = account(named);
      return asAccount(target, { warm, jobFolders: false }, { cwd: accountWorkFolder(target), fresh: false });
    }
    assertIsolated();
    const runAccount = isolation.account;
    const folder = newWorkFolder(runAccount);
    // A fresh folder is the worker's home and temp folder too: nothing of another worker's is found
    // by default, and no run can leave a module or a cache there for someone else's run.
    const fresh = { HOME: folder.path, TMPDIR: folder.path };
    if (runAccount) return asAccount(runAccount, { warm, jobFolders: warm }, { cwd: folder.path, fresh: true, extra: fresh, dispose: folder.dispose });
    const inherited = Object.fromEntries(INHERITED_VARIABLES.flatMap((name) => (env[name] === undefined ? [] : [[name, env[name] as string]])));
    const base = { env: { ...inherited, ...fresh, ...PWSH_QUIET }, cwd: folder.path, identity: 'executor', switchesUser: false, dispose: folder.dispose };
    if (isolation.kind === 'namespace' && tools.bwrap) {
      return {
        ...base,
        command: tools.bwrap,
        args: [...bubblewrapArgs(hiddenPaths(), folder.path), pwsh, ...hostArgs(HOST_SCRIPT, { warm, jobFolders: warm, contained: true })],
        pidNamespace: true,
      };
    }
    return contained({ ...base, command: pwsh, args: hostArgs(HOST_SCRIPT, { warm, jobFolders: warm, contained: pidNamespaces }) });
  }

  function poolFor(runAs: RunAs & { kind: 'pool' }): WorkerPool {
    const key = runAs.account ?? '';
    let pool = pools.get(key);
    if (!pool) {
      pool = new WorkerPool(() => launchSpec(runAs), identityOf(runAs), poolLimits, logger);
      pools.set(key, pool);
    }
    return pool;
  }

  /** Whom a mode's workers run as; refuses (DEPUTY_E_MODE_UNAVAILABLE) a mode this host cannot provide. */
  function identityOf(runAs: RunAs): string {
    if (runAs.kind !== 'service' && runAs.account !== undefined) return account(runAs.account).name;
    assertIsolated();
    return isolation.account?.name ?? 'executor';
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

    // One stopper for whatever is under way: waiting for a worker, starting one, or the job.
    const stopper = new RunStopper(request.timeoutMs, hooks.signal);

    let worker: PwshWorker | undefined;
    let end: JobEnd | undefined;
    const abortRun = (): void => {
      stopper.stop('cancelled');
      worker?.kill();
    };
    activeRuns.add(abortRun);
    try {
      worker = pool ? await pool.acquire(request.requester, stopper.signal) : await PwshWorker.start(spec as LaunchSpec, logger, stopper.signal);
      const onStarted = hooks.onStarted && guarded('onStarted', hooks.onStarted);
      const sink = { onStarted: () => onStarted?.(), onRecord: (record: StoredRecord) => collector.add(record) };
      const running = worker.run(job, sink);
      if (!pool) worker.endInput(); // one job, then the host exits
      const first = await Promise.race([running, stopper.stopped]);
      if (first !== 'stopped') end = first;
    } catch (error) {
      if (!stopper.reason) throw error;
    } finally {
      activeRuns.delete(abortRun);
      stopper.dispose();
      if (worker) {
        // A pool worker goes back only after a clean, finished job; a run's own process always ends with it.
        const reusable = !stopper.reason && end?.kind === 'ended' && end.frame.clean;
        if (pool) pool.release(worker, reusable, hooks.recorded);
        else worker.kill();
      }
    }

    const stop = stopper.reason;
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
    const srx = end?.kind === 'ended' && end.frame.srx ? maskSrxResult(end.frame.srx, masker) : undefined;
    return executionResult(collector, { outcome, exitCode, durationMs: Math.max(0, clock.now() - startedAt), srx });
  }

  return {
    execute,
    assertModeAvailable(runAs: RunAs): void {
      identityOf(runAs);
    },
    isolation: () => isolation,
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
      if (workRoot) rmSync(workRoot, { recursive: true, force: true });
      workRoot = undefined;
    },
  };
}
