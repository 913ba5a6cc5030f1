/**
 * Executor configuration, parsed once at start-up from the environment and an optional YAML
 * file (`DEPUTY_CONFIG`, same keys as the environment; the environment wins). A bad value
 * stops start-up with a message naming the variable.
 */
import { readFileSync } from 'node:fs';
import { isAbsolute, relative, resolve, sep } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { envFlag } from '../lib/env.ts';
import type { LogFormat } from '../lib/logger.ts';
import { DeputyError } from './contract/index.ts';
import { decodeKey } from './credentials/keyring.ts';

const count = (fallback: number, max: number) => z.coerce.number().int().min(1).max(max).default(fallback);
const list = z
  .string()
  .transform((value) => value.split(',').map((item) => item.trim()).filter(Boolean));

export const ExecutorEnvSchema = z.object({
  DEPUTY_DATA_DIR: z.string().min(1).default('./data'),
  DEPUTY_EXECUTOR_HOST: z.string().min(1).default('127.0.0.1'),
  DEPUTY_EXECUTOR_PORT: z.coerce.number().int().min(0).max(65535).default(4100),
  /** One token, or two separated by a comma while rotating. Absent: a token file in the data folder. */
  DEPUTY_EXECUTOR_TOKEN: list.optional(),
  /** The operator's token (listing across principals); same rules. Absent: an operator-token file in the data folder. */
  DEPUTY_OPERATOR_TOKEN: list.optional(),
  /** Further names the executor answers to (Host header), besides loopback and DEPUTY_EXECUTOR_HOST. */
  DEPUTY_EXECUTOR_ALLOWED_HOSTS: list.default([]),
  DEPUTY_CATALOG: z.string().min(1).optional(),
  DEPUTY_PWSH: z.string().min(1).optional(),
  DEPUTY_DEMO: envFlag.default(false),
  DEPUTY_MAX_CONCURRENT_RUNS: count(4, 256),
  DEPUTY_MAX_QUEUED_RUNS: count(1000, 100_000),
  DEPUTY_MAX_QUEUED_PER_PRINCIPAL: count(200, 100_000),
  DEPUTY_POOL_SIZE: count(2, 64),
  DEPUTY_POOL_MAX_WORKERS: count(8, 256),
  DEPUTY_POOL_IDLE_SECONDS: count(300, 24 * 3600),
  /** The account service and pool runs use when the executor is root; created at first start. */
  /** Where scripts keep data between runs (`{runDataDir}`); default beside the data folder, or under /var/lib/deputy for root. */
  DEPUTY_RUN_DATA_DIR: z.string().min(1).optional(),
  DEPUTY_RUN_ACCOUNT: z.string().regex(/^[a-z_][a-z0-9_.-]{0,31}$/i, 'a local account name').refine((name) => name !== 'root', 'never root').default('deputy-run'),
  DEPUTY_RUNAS_ALLOWLIST: list.default([]),
  DEPUTY_MAX_OUTPUT_BYTES: count(1_048_576, 256 * 1_048_576),
  DEPUTY_MAX_OUTPUT_RECORDS: count(10_000, 1_000_000),
  DEPUTY_APPROVAL_TTL_MINUTES: count(60, 7 * 24 * 60),
  /** Key(s) for stored credentials, base64 of 32 bytes; `new,old` while rotating. Absent: `<dataDir>/secret.key`. */
  DEPUTY_SECRET_KEY: list.optional(),
  /** The audit chain's keyed checkpoint, outside the data folder. Absent: `<data folder>.audit-checkpoint` beside it. */
  DEPUTY_AUDIT_CHECKPOINT: z.string().min(1).optional(),
  /** The checkpoint's key, base64 of 32 bytes. Absent: `<checkpoint>.key`, created on first start. */
  DEPUTY_AUDIT_KEY: z.string().min(1).optional(),
  DEPUTY_PLAN_TICK_SECONDS: z.coerce.number().int().min(0).max(3600).default(15),
  /** Script texts authored through the API or chat: at most this many bytes (UTF-8) and lines. */
  DEPUTY_MAX_SCRIPT_BYTES: count(131_072, 16 * 1_048_576),
  DEPUTY_MAX_SCRIPT_LINES: count(5000, 1_000_000),
  /** Versions one script keeps at most: a bound on how much one author can make the catalog grow. */
  DEPUTY_MAX_SCRIPT_VERSIONS: count(100, 100_000),
  /** Target systems (docs/targets.md): how long connecting may take, how long a warm session stays idle, how many are kept. */
  DEPUTY_SSH_CONNECT_TIMEOUT_SECONDS: count(10, 300),
  DEPUTY_TARGET_IDLE_SECONDS: count(300, 86_400),
  DEPUTY_TARGET_SESSIONS: count(32, 4096),
  /** PostgreSQL for all state and the pg-boss run queue (docs/store.md); absent: the files in the data folder. */
  DEPUTY_DATABASE_URL: z
    .string()
    .regex(/^postgres(ql)?:\/\/\S+$/, 'a postgres:// or postgresql:// URL')
    .optional(),
  /** This executor's name in a cluster (its lease, the runs it holds); default `<host name>-<port>`. */
  DEPUTY_EXECUTOR_ID: z.string().regex(/^[A-Za-z0-9._-]{1,100}$/, 'letters, digits, ".", "_" and "-", at most 100').optional(),
  /** How long an executor's lease lasts without renewal: a dead executor's runs are taken over after this. */
  DEPUTY_EXECUTOR_LEASE_SECONDS: z.coerce.number().int().min(2).max(3600).default(15),
  /** How often expired records (idempotency keys, hook signatures, mail ledger, old events) are dropped; once per cluster. */
  DEPUTY_PRUNE_INTERVAL_SECONDS: count(600, 86_400),
  DEPUTY_LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  DEPUTY_LOG_FORMAT: z.enum(['json', 'pretty']).default('json'),
});

export interface ExecutorConfig {
  dataDir: string;
  host: string;
  port: number;
  tokens: string[] | undefined;
  operatorTokens?: string[] | undefined;
  /** Host names accepted in the Host header besides loopback and `host`. */
  allowedHosts?: string[];
  catalogFolder: string | undefined;
  demo: boolean;
  maxConcurrentRuns: number;
  maxQueuedRuns: number;
  maxQueuedPerPrincipal: number;
  /** Spare warm workers per pool identity, and the most workers one requester holds at once. */
  poolSize: number;
  poolMaxWorkers: number;
  poolIdleMs: number;
  runAccount: string;
  runDataDir?: string | undefined;
  runAsAllowlist: string[];
  maxOutputBytes: number;
  maxOutputRecords: number;
  approvalTtlMs: number;
  logLevel: string;
  logFormat: LogFormat;
  secretKeys?: string[] | undefined;
  /** The audit checkpoint file (docs/store.md "The audit checkpoint"); never inside `dataDir`. */
  auditCheckpoint: string;
  auditKey?: string | undefined;
  /** Real time between scheduler ticks (the injected clock decides what is due); 0 turns the timer off. */
  planTickMs?: number;
  /** Bounds of a script text authored through the API or chat. */
  maxScriptBytes?: number;
  maxScriptLines?: number;
  maxScriptVersions?: number;
  /** Target systems: connect timeout, idle time of a warm session, warm sessions kept. */
  sshConnectTimeoutMs?: number;
  targetIdleMs?: number;
  maxTargetSessions?: number;
  /** PostgreSQL for all state and the run queue; undefined: the files in `dataDir`. */
  databaseUrl?: string | undefined;
  /** This executor's name in a cluster; default `<host name>-<port>`. */
  executorId?: string | undefined;
  /** How long an executor's lease lasts without renewal. */
  leaseMs?: number;
  /** Real time between passes of the prune duty (executor/store/prune-job.ts). */
  pruneIntervalMs?: number;
}

function readConfigFile(path: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new DeputyError('DEPUTY_E_CONFIG_INVALID', { message: `DEPUTY_CONFIG: cannot read ${path}`, cause: error });
  }
  const parsed: unknown = parseYaml(text);
  if (parsed === null || parsed === undefined) return {};
  if (typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new DeputyError('DEPUTY_E_CONFIG_INVALID', { message: `DEPUTY_CONFIG: ${path} must hold a mapping of DEPUTY_* keys` });
  }
  return Object.fromEntries(Object.entries(parsed).map(([key, value]) => [key, Array.isArray(value) ? value.join(',') : value]));
}

/** Reads `DEPUTY_*` settings; throws DEPUTY_E_CONFIG_INVALID naming the first bad variable. */
export function loadExecutorConfig(env: NodeJS.ProcessEnv, cwd: string = process.cwd()): ExecutorConfig {
  const fromFile = env.DEPUTY_CONFIG ? readConfigFile(resolve(cwd, env.DEPUTY_CONFIG)) : {};
  const fromEnv = Object.fromEntries(Object.entries(env).filter(([key, value]) => key.startsWith('DEPUTY_') && value !== ''));
  const result = ExecutorEnvSchema.safeParse({ ...fromFile, ...fromEnv });
  if (!result.success) {
    const issue = result.error.issues[0];
    const variable = issue?.path.join('.') ?? 'configuration';
    throw new DeputyError('DEPUTY_E_CONFIG_INVALID', { message: `${variable}: ${issue?.message ?? 'invalid value'}` });
  }
  const settings = result.data;
  const absolute = (path: string) => (isAbsolute(path) ? path : resolve(cwd, path));
  for (const variable of ['DEPUTY_EXECUTOR_TOKEN', 'DEPUTY_OPERATOR_TOKEN'] as const) {
    const tokens = settings[variable];
    if (tokens && (tokens.length > 2 || tokens.some((token) => token.length < 32))) {
      throw new DeputyError('DEPUTY_E_CONFIG_INVALID', {
        message: `${variable}: one token, or two separated by a comma while rotating, each at least 32 characters`,
      });
    }
  }
  assertDistinctTokens(settings.DEPUTY_EXECUTOR_TOKEN ?? [], settings.DEPUTY_OPERATOR_TOKEN ?? []);
  for (const key of settings.DEPUTY_SECRET_KEY ?? []) decodeKey(key, 'DEPUTY_SECRET_KEY');
  if (settings.DEPUTY_AUDIT_KEY !== undefined) decodeKey(settings.DEPUTY_AUDIT_KEY, 'DEPUTY_AUDIT_KEY');
  const dataDir = absolute(settings.DEPUTY_DATA_DIR);
  const auditCheckpoint = settings.DEPUTY_AUDIT_CHECKPOINT === undefined ? `${dataDir.replace(/\/+$/, '')}.audit-checkpoint` : absolute(settings.DEPUTY_AUDIT_CHECKPOINT);
  const fromDataDir = relative(dataDir, auditCheckpoint);
  if (fromDataDir === '' || (fromDataDir !== '..' && !fromDataDir.startsWith(`..${sep}`) && !isAbsolute(fromDataDir))) {
    // Whoever can change the data folder could then cut the log and its checkpoint together.
    throw new DeputyError('DEPUTY_E_CONFIG_INVALID', { message: `DEPUTY_AUDIT_CHECKPOINT: ${auditCheckpoint} must be outside the data folder ${dataDir}` });
  }
  return {
    dataDir,
    host: settings.DEPUTY_EXECUTOR_HOST,
    port: settings.DEPUTY_EXECUTOR_PORT,
    tokens: settings.DEPUTY_EXECUTOR_TOKEN,
    operatorTokens: settings.DEPUTY_OPERATOR_TOKEN,
    allowedHosts: settings.DEPUTY_EXECUTOR_ALLOWED_HOSTS.map((host) => host.toLowerCase()),
    catalogFolder: settings.DEPUTY_CATALOG === undefined ? undefined : absolute(settings.DEPUTY_CATALOG),
    demo: settings.DEPUTY_DEMO,
    maxConcurrentRuns: settings.DEPUTY_MAX_CONCURRENT_RUNS,
    maxQueuedRuns: settings.DEPUTY_MAX_QUEUED_RUNS,
    maxQueuedPerPrincipal: settings.DEPUTY_MAX_QUEUED_PER_PRINCIPAL,
    poolSize: settings.DEPUTY_POOL_SIZE,
    poolMaxWorkers: settings.DEPUTY_POOL_MAX_WORKERS,
    poolIdleMs: settings.DEPUTY_POOL_IDLE_SECONDS * 1000,
    runAccount: settings.DEPUTY_RUN_ACCOUNT,
    runDataDir: settings.DEPUTY_RUN_DATA_DIR === undefined ? undefined : absolute(settings.DEPUTY_RUN_DATA_DIR),
    runAsAllowlist: settings.DEPUTY_RUNAS_ALLOWLIST,
    maxOutputBytes: settings.DEPUTY_MAX_OUTPUT_BYTES,
    maxOutputRecords: settings.DEPUTY_MAX_OUTPUT_RECORDS,
    approvalTtlMs: settings.DEPUTY_APPROVAL_TTL_MINUTES * 60_000,
    logLevel: settings.DEPUTY_LOG_LEVEL,
    logFormat: settings.DEPUTY_LOG_FORMAT,
    secretKeys: settings.DEPUTY_SECRET_KEY,
    auditCheckpoint,
    auditKey: settings.DEPUTY_AUDIT_KEY,
    planTickMs: settings.DEPUTY_PLAN_TICK_SECONDS * 1000,
    maxScriptBytes: settings.DEPUTY_MAX_SCRIPT_BYTES,
    maxScriptLines: settings.DEPUTY_MAX_SCRIPT_LINES,
    maxScriptVersions: settings.DEPUTY_MAX_SCRIPT_VERSIONS,
    sshConnectTimeoutMs: settings.DEPUTY_SSH_CONNECT_TIMEOUT_SECONDS * 1000,
    targetIdleMs: settings.DEPUTY_TARGET_IDLE_SECONDS * 1000,
    maxTargetSessions: settings.DEPUTY_TARGET_SESSIONS,
    databaseUrl: settings.DEPUTY_DATABASE_URL,
    executorId: settings.DEPUTY_EXECUTOR_ID,
    leaseMs: settings.DEPUTY_EXECUTOR_LEASE_SECONDS * 1000,
    pruneIntervalMs: settings.DEPUTY_PRUNE_INTERVAL_SECONDS * 1000,
  };
}

/** The bot's and the operator's tokens open different doors: one value may never be both. */
export function assertDistinctTokens(botTokens: readonly string[], operatorTokens: readonly string[]): void {
  if (botTokens.some((token) => operatorTokens.includes(token))) {
    throw new DeputyError('DEPUTY_E_CONFIG_INVALID', { message: 'DEPUTY_OPERATOR_TOKEN: must differ from DEPUTY_EXECUTOR_TOKEN (the bot\'s token)' });
  }
}
