/**
 * `deputy executor` as a real process on a shared PostgreSQL, for the cluster test and the
 * benchmark: its own data folder, the cluster's shared tokens and credential key, and a shared
 * folder for what runs write (`{runDataDir}`).
 */
import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PROJECT_ROOT } from '../../../executor/pwsh/locate.ts';
import { EXECUTOR_LISTENING, startServiceProcess } from '../../helpers/service-process.ts';

export const CLUSTER_CATALOG = join(PROJECT_ROOT, 'test', 'executor', 'cluster', 'catalog');

export interface ClusterSecrets {
  token: string;
  operatorToken: string;
  secretKey: string;
  runDataDir: string;
}

export function clusterSecrets(runDataDir: string): ClusterSecrets {
  return { token: randomBytes(24).toString('hex'), operatorToken: randomBytes(24).toString('hex'), secretKey: randomBytes(32).toString('base64'), runDataDir };
}

export interface ExecutorProcess {
  id: string;
  url: string;
  child: ChildProcess;
  dataDir: string;
  /** What the process wrote, for the message of a failing test. */
  output(): string;
  /** With the bot's token. */
  api(path: string, init?: RequestInit & { json?: unknown }): Promise<Response>;
  /** With the operator's token (reads across principals). */
  operatorApi(path: string, init?: RequestInit & { json?: unknown }): Promise<Response>;
  /** Ends it with SIGKILL: no clean-up of any kind. */
  kill(): Promise<void>;
  /** SIGTERM, then waits for the exit. */
  stop(): Promise<void>;
  dispose(): void;
}

export async function startExecutorProcess(options: {
  id: string;
  databaseUrl: string;
  secrets: ClusterSecrets;
  catalog?: string;
  leaseSeconds?: number;
  concurrency?: number;
  env?: Record<string, string>;
}): Promise<ExecutorProcess> {
  const dataDir = mkdtempSync(join(tmpdir(), `deputy-cluster-${options.id}-`));
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    ...(process.env.DEPUTY_PWSH ? { DEPUTY_PWSH: process.env.DEPUTY_PWSH } : {}),
    DEPUTY_DATA_DIR: dataDir,
    DEPUTY_EXECUTOR_PORT: '0',
    DEPUTY_EXECUTOR_ID: options.id,
    DEPUTY_DATABASE_URL: options.databaseUrl,
    DEPUTY_EXECUTOR_TOKEN: options.secrets.token,
    DEPUTY_OPERATOR_TOKEN: options.secrets.operatorToken,
    DEPUTY_SECRET_KEY: options.secrets.secretKey,
    DEPUTY_RUN_DATA_DIR: options.secrets.runDataDir,
    DEPUTY_CATALOG: options.catalog ?? CLUSTER_CATALOG,
    DEPUTY_EXECUTOR_LEASE_SECONDS: String(options.leaseSeconds ?? 4),
    DEPUTY_MAX_CONCURRENT_RUNS: String(options.concurrency ?? 4),
    DEPUTY_MAX_QUEUED_PER_PRINCIPAL: '5000',
    DEPUTY_MAX_QUEUED_RUNS: '5000',
    // Runs without isolation are allowed only in demo mode (a test machine may lack bubblewrap).
    DEPUTY_DEMO: 'true',
    DEPUTY_PLAN_TICK_SECONDS: '0',
    DEPUTY_LOG_LEVEL: 'warn',
    ...options.env,
  };
  const service = await startServiceProcess({ what: `executor ${options.id}`, args: [join(PROJECT_ROOT, 'bin', 'deputy.mjs'), 'executor'], env, ready: EXECUTOR_LISTENING });
  const url = service.ready[1] ?? '';
  const withToken = (token: string) => (path: string, init: RequestInit & { json?: unknown } = {}) => {
    const headers = new Headers(init.headers);
    if (!headers.has('authorization')) headers.set('authorization', `Bearer ${token}`);
    if (init.json !== undefined) headers.set('content-type', 'application/json');
    return fetch(`${url}${path}`, { ...init, headers, ...(init.json !== undefined ? { body: JSON.stringify(init.json) } : {}) });
  };
  return {
    id: options.id,
    url,
    child: service.child,
    dataDir,
    output: service.output,
    api: withToken(options.secrets.token),
    operatorApi: withToken(options.secrets.operatorToken),
    kill: () => service.kill(),
    stop: () => service.stop(),
    dispose() {
      rmSync(dataDir, { recursive: true, force: true });
      rmSync(`${dataDir}.audit-checkpoint`, { force: true });
      rmSync(`${dataDir}.audit-checkpoint.key`, { force: true });
    },
  };
}

/** Waits on a condition (never a fixed sleep), polling every `everyMs`. */
export async function until<T>(what: string, probe: () => Promise<T | undefined | false>, timeoutMs: number, everyMs = 100): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
}
