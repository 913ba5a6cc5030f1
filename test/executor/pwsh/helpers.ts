/** Shared set-up for the pwsh runner tests: real pwsh from the project, never a fake. */
import { spawn } from 'node:child_process';
import { randomInt } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { newId } from '../../../lib/ids.ts';
import { systemClock } from '../../../lib/clock.ts';
import { silentLogger } from '../../../lib/logger.ts';
import { locatePwsh, PROJECT_ROOT } from '../../../executor/pwsh/locate.ts';
import { createPwshRunner, type PwshRunner, type PwshRunnerOptions } from '../../../executor/pwsh/runner.ts';
import type { ExecutionRequest } from '../../../executor/pwsh/types.ts';

export function pwshPath(): string {
  const found = locatePwsh(process.env, PROJECT_ROOT);
  if (!found) throw new Error('pwsh is required for these tests (npm install provisions .tools/pwsh)');
  return found.path;
}

export function makeRunner(overrides: Partial<PwshRunnerOptions> = {}): PwshRunner {
  return createPwshRunner({ pwshPath: pwshPath(), logger: silentLogger(), clock: systemClock, runAsAllowlist: [], ...overrides });
}

export function job(scriptText: string, overrides: Partial<ExecutionRequest> = {}): ExecutionRequest {
  return {
    runId: newId('run'),
    requester: 'alice',
    scriptText,
    scriptHash: '0'.repeat(64),
    parameters: {},
    secretParameters: [],
    runAs: { kind: 'pool' },
    timeoutMs: 30_000,
    limits: { maxOutputBytes: 1_000_000, maxRecords: 10_000 },
    ...overrides,
  };
}

/** Whether a process is gone (or a zombie nobody reaps, which runs nothing). */
export function processGone(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    return state === 'Z' || state === 'X';
  } catch {
    return true;
  }
}

export async function eventually(check: () => boolean, timeoutMs = 3000): Promise<boolean> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    if (check()) return true;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return check();
}

export function outputTexts(records: Array<{ stream: string; text: string }>): string[] {
  return records.filter((record) => record.stream === 'output').map((record) => record.text);
}

/** Live pwsh host processes this test process started (its direct children running host.ps1). */
export function ownHostProcesses(): number[] {
  const found: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const [state, parent] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(parent) !== process.pid || state === 'Z') continue;
      if (readFileSync(`/proc/${name}/cmdline`, 'utf8').includes('host.ps1')) found.push(Number(name));
    } catch {
      // gone meanwhile
    }
  }
  return found;
}

/**
 * Runs pwsh with `args` (`-File <script>` or `-Command <text>`), hands it `input` as JSON on
 * stdin, and answers what it wrote to stdout, parsed as JSON; a non-zero exit rejects with its stderr.
 */
export function pwshJson(pwsh: string, args: readonly string[], input: unknown): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const child = spawn(pwsh, ['-NoLogo', '-NoProfile', '-NonInteractive', ...args], { shell: false });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (chunk: Buffer) => out.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => err.push(chunk));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0) return reject(new Error(`pwsh ${args.join(' ').slice(0, 100)} ended with ${code}: ${Buffer.concat(err).toString('utf8').slice(0, 2000)}`));
      try {
        resolve(JSON.parse(Buffer.concat(out).toString('utf8')));
      } catch (error) {
        reject(error instanceof Error ? error : new Error(String(error)));
      }
    });
    child.stdin.end(JSON.stringify(input), 'utf8');
  });
}

/** Live processes (as this process sees them, zombies aside) whose command line holds `marker`. */
export function processesWith(marker: string): number[] {
  const found: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name) || Number(name) === process.pid) continue;
    try {
      if (readFileSync(`/proc/${name}/cmdline`, 'utf8').split('\0').includes(marker) && !processGone(Number(name))) found.push(Number(name));
    } catch {
      // gone meanwhile
    }
  }
  return found;
}

/** A `sleep` duration no other process uses: the process a run leaves behind is found by it from outside. */
export function uniqueSleep(): string {
  return `300.${randomInt(100_000, 999_999)}`;
}

/** A line naming the worker a job ran in, unique also when each worker has a PID namespace of its own (and `$PID` repeats). */
export const WORKER_LINE = '"worker=$([System.IO.FileInfo]::new(\'/proc/self/ns/pid\').LinkTarget)/$PID"';

/** The pool worker bound to `requester` (its host pid as the executor sees it), if any. */
export function workerOf(runner: PwshRunner, requester: string): number | undefined {
  return runner.stats().pools.flatMap((pool) => pool.detail).find((worker) => worker.requester === requester)?.pid;
}

/** `name=value` output lines as a map. */
export function outputFields(records: Array<{ stream: string; text: string }>): Record<string, string> {
  return Object.fromEntries(outputTexts(records).map((text) => [text.slice(0, text.indexOf('=')), text.slice(text.indexOf('=') + 1)]));
}
