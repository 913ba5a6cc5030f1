/**
 * One pwsh process running host.ps1. Service and process modes use a worker for one job;
 * the pool keeps workers for many. The worker knows the protocol, not the policy.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { setPriority } from 'node:os';
import type { Logger } from '../../lib/logger.ts';
import { DeputyError } from '../contract/index.ts';
import type { StoredRecord } from '../store/port.ts';
import { HostConversation, type ExitInfo } from './host-conversation.ts';
import { allProcessIds, childrenOf, findDescendant, processStat, threadsOf, type ProcessStat } from './proc.ts';
import type { EndFrame, HostJob } from './protocol.ts';

/** How to start pwsh: the program (pwsh, or setpriv in front of it), its arguments and environment. */
export interface LaunchSpec {
  command: string;
  args: string[];
  env: Record<string, string>;
  cwd: string;
  /** Who the worker runs as, for logs and stats. */
  identity: string;
  /** Started as another account (setpriv): a start failure then means that mode is unavailable. */
  switchesUser: boolean;
  /** pwsh is the first process of a PID namespace of its own (docs/security.md, "Run isolation"). */
  pidNamespace: boolean;
  /** Called once the process has exited: removes the worker's fresh folder (never throws). */
  dispose?: () => void;
}

export interface JobSink {
  onStarted(): void;
  onRecord(record: StoredRecord): void;
}

export type JobEnd =
  | { kind: 'ended'; frame: EndFrame }
  | { kind: 'died'; exitCode: number | null; signal: string | null };
/**
 * The CPU priority of every run (nice 5): when the machine is busy, the executor's and the
 * bot's own work (accepting runs, answering chat platforms within their deadlines) goes first,
 * and a script gets what is left, which on an idle machine is everything.
 */
export const RUN_NICENESS = 5;
/** Processes read per turn of the event loop when the whole of /proc is looked through. */
const PROC_SLICE = 64;

export class PwshWorker {
  private readonly child: ChildProcessWithoutNullStreams;
  /** The host protocol itself: frames, the running job's records, its end. */
  private readonly conversation: HostConversation;
  private exited = false;
  private exitInfo: ExitInfo = { exitCode: null, signal: null };
  private readonly exitWaiters: Array<() => void> = [];
  private disposed = false;
  /** The spawned process's pid (setpriv execs in place), which is also the process group id. */
  readonly pid: number;
  /**
   * The pid (as the executor sees it) of the process running host.ps1. It differs from `pid` when
   * pwsh is started through unshare, bwrap or a launcher such as the dotnet tool shim in .tools/
   * (which starts `dotnet pwsh.dll` as a child).
   */
  private hostPid = -1;
  /** The processes from `pid` down to the host: what a worker consists of, never a job's leftover. */
  private ownProcesses = new Set<number>();

  private constructor(
    readonly spec: LaunchSpec,
    private readonly logger: Logger,
  ) {
    // detached: pwsh leads its own process group, so a kill reaches every process a script started.
    this.child = spawn(spec.command, spec.args, { cwd: spec.cwd, env: spec.env, detached: true, stdio: 'pipe', shell: false });
    this.pid = this.child.pid ?? -1;
    // At once, so that what the launcher starts inherits it; the host's threads are checked again at ready.
    if (this.pid > 0) lowerPriority([this.pid]);
    this.conversation = new HostConversation((text) => this.child.stdin.write(text), logger.child({ pid: this.pid }));
    this.child.stdout.setEncoding('utf8');
    this.child.stderr.setEncoding('utf8');
    this.child.stdout.on('data', (chunk: string) => this.conversation.stdout(chunk));
    this.child.stderr.on('data', (chunk: string) => this.conversation.stderr(chunk));
    this.child.stdin.on('error', () => undefined); // EPIPE when pwsh died; the exit handler reports it
    this.child.on('error', (error) => {
      this.logger.warn({ err: error, command: spec.command }, 'pwsh worker process error');
      if (this.pid <= 0) this.dispose(); // never started: no 'close' to wait for
    });
    // Processes a script started may hold pwsh's stdout open, which would delay 'close' for as long
    // as they live: when pwsh exits, its process group goes with it.
    this.child.on('exit', () => this.kill());
    this.child.on('close', (exitCode, signal) => {
      this.exited = true;
      this.dispose();
      this.exitInfo = { exitCode, signal };
      this.conversation.ended(this.exitInfo);
      for (const wake of this.exitWaiters.splice(0)) wake();
    });
    this.conversation.sendKey();
  }

  /**
   * Starts pwsh and waits for the host's ready frame. Aborting the signal kills the half-started
   * worker. A program that cannot be started at all is DEPUTY_E_PWSH_MISSING.
   */
  static start(spec: LaunchSpec, logger: Logger, signal?: AbortSignal): Promise<PwshWorker> {
    const worker = new PwshWorker(spec, logger);
    return new Promise<PwshWorker>((resolve, reject) => {
      let decided = false;
      const decide = (outcome: () => void): void => {
        if (decided) return;
        decided = true;
        signal?.removeEventListener('abort', onAbort);
        outcome();
      };
      const onAbort = (): void =>
        decide(() => {
          worker.kill();
          reject(signal?.reason ?? new Error('aborted'));
        });
      if (signal?.aborted) return onAbort();
      signal?.addEventListener('abort', onAbort, { once: true });
      worker.child.once('error', (error: NodeJS.ErrnoException) => {
        const missing = error.code === 'ENOENT' || error.code === 'EACCES';
        decide(() => reject(new DeputyError(missing ? 'DEPUTY_E_PWSH_MISSING' : 'DEPUTY_E_INTERNAL', { detail: `cannot start ${spec.command}: ${error.message}`, cause: error })));
      });
      void worker.conversation.ready().then((state) =>
        decide(() => {
          if (state.ready) {
            // The worker is ready once the executor knows which processes are its own.
            worker.learnOwnProcesses(worker.conversation.hostPid);
            return resolve(worker);
          }
          reject(
            new DeputyError(spec.switchesUser ? 'DEPUTY_E_MODE_UNAVAILABLE' : 'DEPUTY_E_PWSH_MISSING', {
              detail: `pwsh (${spec.identity}) exited before it was ready (code ${state.exit.exitCode ?? state.exit.signal}): ${worker.conversation.stderrTail || 'no message'}`,
            }),
          );
        }),
      );
    });
  }

  /** The pid of the process running host.ps1 as the executor sees it (in a PID namespace, scripts see another `$PID`), once ready. */
  get hostProcessId(): number {
    return this.hostPid;
  }

  get alive(): boolean {
    return !this.exited;
  }

  get busy(): boolean {
    return this.conversation.busy;
  }

  /** Hands pwsh one job; resolves when the host reports its end or the process dies. */
  run(job: HostJob, sink: JobSink): Promise<JobEnd> {
    if (this.busy) throw new Error('pwsh worker is already running a job');
    return this.conversation.run(job, sink);
  }

  /** The host opens the next job's runspace now (HostConversation.prepareNext). */
  prepareNext(): void {
    this.conversation.prepareNext();
  }

  /** Closes stdin: the host finishes and exits. */
  endInput(): void {
    this.child.stdin.end();
  }

  /** SIGKILL to the whole process group: pwsh and everything its scripts started. */
  kill(): void {
    if (this.pid <= 0) return;
    for (const target of [-this.pid, this.pid]) {
      try {
        process.kill(target, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  }

  /**
   * Live processes of the worker other than its own chain (launchers and pwsh): what a job left
   * running. In a PID namespace these are all descendants of the worker's first process, since
   * orphans there go to the namespace's first process (also after setsid); otherwise members of
   * its process group, so a process whose parent exited counts too. This is the executor's own
   * look, from outside: a job that tampers with the host's check changes nothing.
   */
  async strayProcesses(): Promise<number[]> {
    const isLeftover = (pid: number, stat: ProcessStat | undefined) => stat !== undefined && !this.ownProcesses.has(pid) && stat.state !== 'Z' && stat.state !== 'X';
    if (this.spec.pidNamespace) {
      const stray: number[] = [];
      const queue = [this.pid];
      for (let pid = queue.shift(); pid !== undefined; pid = queue.shift()) {
        if (isLeftover(pid, processStat(pid))) stray.push(pid);
        queue.push(...childrenOf(pid));
      }
      return stray;
    }
    // Every process on the host: in slices, so that the event loop is not held for all of them at once.
    const stray: number[] = [];
    const pids = allProcessIds();
    for (let from = 0; from < pids.length; from += PROC_SLICE) {
      if (from > 0) await new Promise((resolve) => setImmediate(resolve));
      for (const pid of pids.slice(from, from + PROC_SLICE)) {
        const stat = processStat(pid);
        if (stat?.pgrp === this.pid && isLeftover(pid, stat)) stray.push(pid);
      }
    }
    return stray;
  }

  /**
   * After the ready frame: finds the host process from outside (in a PID namespace its `$PID` is
   * the namespace's number) and the chain of processes from the worker's first process to it.
   */
  private learnOwnProcesses(innerHostPid: number): void {
    const host = findDescendant(this.pid, innerHostPid) ?? this.pid;
    this.hostPid = host;
    const chain = new Set<number>([this.pid]);
    for (let current: number | undefined = host; current !== undefined && current > 1 && !chain.has(current); current = processStat(current)?.ppid) chain.add(current);
    this.ownProcesses = chain;
    // Linux keeps a priority per thread, and the runtime may have started some before the launcher's
    // priority reached it: each thread of each own process, so that every thread a job creates inherits it.
    lowerPriority([...chain].flatMap(threadsOf));
  }

  /** Removes what the worker was given for its life (its fresh folder), once. */
  private dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.spec.dispose?.();
  }

  /** Resolves once the process has exited (immediately if it already has). */
  whenExited(): Promise<void> {
    return new Promise((resolve) => this.onExitOnce(resolve));
  }

  private onExitOnce(callback: () => void): void {
    if (this.exited) callback();
    else this.exitWaiters.push(callback);
  }
}

/** Lowers each thread (or process) to RUN_NICENESS; one that is gone meanwhile is skipped. */
function lowerPriority(threadIds: number[]): void {
  for (const id of threadIds) {
    try {
      setPriority(id, RUN_NICENESS);
    } catch {
      // gone meanwhile
    }
  }
}
