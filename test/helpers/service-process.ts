/**
 * A Deputy service (`deputy executor`, a bot) as a real process of its own, for tests and
 * benchmarks: started with `process.execPath` (the Node the suite runs on), ready once its
 * stdout says so, stopped with SIGTERM, or killed outright as a crash would end it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { PROJECT_ROOT } from '../../executor/pwsh/locate.ts';

/** What `deputy executor` prints once it listens; the first group is its address. */
export const EXECUTOR_LISTENING = /Deputy executor on (http:\/\/\S+)/;

export interface ServiceProcess {
  child: ChildProcess;
  /** The first match of `ready` in what the process printed. */
  ready: RegExpExecArray;
  /** What it wrote to stdout and stderr so far (for a failing test's message). */
  output(): string;
  /** SIGKILL to the process alone: no clean-up of any kind, as a crash. */
  kill(): Promise<void>;
  /**
   * SIGTERM, then the wait for its exit (a clean stop waits for runs under way); after
   * `graceMs`, SIGKILL to its whole process group, so that nothing of it outlives the caller.
   */
  stop(graceMs?: number): Promise<void>;
}

export async function startServiceProcess(options: {
  /** For messages: "deputy executor", "the bot". */
  what: string;
  args: string[];
  env: NodeJS.ProcessEnv;
  ready: RegExp;
  timeoutMs?: number;
  /** Its stderr goes to this process's stderr too (a benchmark shows warnings as they come). */
  echoStderr?: boolean;
}): Promise<ServiceProcess> {
  // Its own process group: stop() can end the service and everything it started.
  const child = spawn(process.execPath, options.args, { cwd: PROJECT_ROOT, env: options.env, stdio: ['ignore', 'pipe', 'pipe'], shell: false, detached: true });
  let output = '';
  child.stdout?.setEncoding('utf8').on('data', (text: string) => (output += text));
  child.stderr?.setEncoding('utf8').on('data', (text: string) => {
    output += text;
    if (options.echoStderr) process.stderr.write(text);
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const gone = () => child.exitCode !== null || child.signalCode !== null;
  const killGroup = () => {
    if (child.pid === undefined) return;
    try {
      process.kill(-child.pid, 'SIGKILL');
    } catch {
      // the group is gone already
    }
  };
  const timeoutMs = options.timeoutMs ?? 60_000;
  let ready: RegExpExecArray;
  try {
    ready = await new Promise<RegExpExecArray>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${options.what} did not start within ${timeoutMs} ms:\n${output}`)), timeoutMs);
      child.stdout?.on('data', () => {
        const found = options.ready.exec(output);
        if (!found) return;
        clearTimeout(timer);
        resolve(found);
      });
      void exited.then(() => {
        clearTimeout(timer);
        reject(new Error(`${options.what} exited (${String(child.exitCode ?? child.signalCode)}) before it was ready:\n${output}`));
      });
    });
  } catch (error) {
    if (!gone()) killGroup();
    await exited;
    throw error;
  }
  return {
    child,
    ready,
    output: () => output,
    async kill() {
      child.kill('SIGKILL');
      await exited;
    },
    async stop(graceMs = 15_000) {
      if (gone()) return;
      child.kill('SIGTERM');
      const timer = setTimeout(killGroup, graceMs);
      await exited;
      clearTimeout(timer);
    },
  };
}
