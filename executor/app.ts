/**
 * Wires the executor: store, catalog import, policy, runner, run service and REST API.
 * `startExecutor` is what `deputy executor`, `deputy start` and the tests call.
 */
import { chownSync, existsSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { hostname } from 'node:os';
import { join, resolve } from 'node:path';
import type { Logger } from 'pino';
import { systemClock, type Clock } from '../lib/clock.ts';
import { isWildcardHost } from '../lib/http-host.ts';
import { newCorrelationId } from '../lib/ids.ts';
import { createLogger } from '../lib/logger.ts';
import { isDeepStrictEqual } from 'node:util';
import { makeDataFolderPrivate } from '../lib/private-files.ts';
import { catalogRoot, readConfined } from './catalog/confined.ts';
import { importCatalog } from './catalog/import.ts';
import type { CatalogConflict } from './catalog/merge.ts';
import { refreshChanges } from './catalog/changes.ts';
import { rereadStaleVersions } from './catalog/scripts.ts';
import { validateInputs } from './catalog/inputs.ts';
import { assertDistinctTokens, type ExecutorConfig } from './config.ts';
import { acquireDataLock } from './data-lock.ts';
import { startConnectors } from './connectors/index.ts';
import { startMailConnectors, type MailConnectors } from './mail/index.ts';
import { startPlans, type Plans } from './plans/index.ts';
import { startScripts, type ScriptService } from './scripts/index.ts';
import { startAuthoring, type Authoring } from './authoring/index.ts';
import { CatalogEditor } from './catalog/editor.ts';
import { parseScriptParameters, type ParsedScript } from './pwsh/parameters.ts';
import { startQueries } from './queries/index.ts';
import { openCredentialVault, withStoredCredentials } from './credentials/index.ts';
import { loadKeyRing } from './credentials/keyring.ts';
import { openExecutorBackend, type ExecutorBackend } from './backend.ts';
import type { EventStream } from './event-stream.ts';
import { DeputyError, type ErrorCode } from './contract/index.ts';
import type { Action } from './domain.ts';
import type { EventBus } from './events.ts';
import { createHostCheck, createTokenCheck } from './http/auth.ts';
import { createApiServer, type Readiness } from './http/server.ts';
import { Policy } from './policy/policy.ts';
import { locatePwsh, PROJECT_ROOT } from './pwsh/locate.ts';
import { prepareRunDataFolder, type RunIsolation } from './pwsh/isolation.ts';
import { createPwshRunner } from './pwsh/runner.ts';
import { auditConnectFailure, withTargets } from './targets/dispatch.ts';
import { createTargetRunner } from './targets/runner.ts';
import type { Runner } from './pwsh/types.ts';
import { RunService, type RunPolicy } from './runs/service.ts';
import { ExecutorLiveness } from './runs/liveness.ts';
import { RunRecorder } from './runs/records.ts';
import { RunWorker } from './runs/worker.ts';
import type { RunRecord } from './domain.ts';
import { auditCheckpointOf, auditKeyPath } from './store/audit-checkpoint.ts';
import { PruneJob } from './store/prune-job.ts';
import { RefusalThrottle } from './store/refusal-audit.ts';
import type { ExecutorStore } from './store/state-port.ts';
import type { DeclaredRoute } from './http/routes.ts';
import { loadOrCreateToken, OPERATOR_TOKEN_FILE } from './token.ts';

export const EXAMPLE_CATALOG = join(PROJECT_ROOT, 'examples', 'catalog');
const DEMO_DIRECTORY_SEED = 'demo-directory.json';

export interface ExecutorOptions {
  config: ExecutorConfig;
  env?: NodeJS.ProcessEnv;
  clock?: Clock;
  logger?: Logger;
}

export interface RunningExecutor {
  url: string;
  port: number;
  /** The bot's token (the first one configured). */
  token: string;
  /** The operator's token (the first one configured): reads across principals. */
  operatorToken: string;
  /** Which backend holds the state: the data folder's files, or PostgreSQL (`DEPUTY_DATABASE_URL`). */
  backend: ExecutorBackend['kind'];
  /** This executor's name in a cluster (its lease `executor:<id>`). */
  executorId: string;
  store: ExecutorStore;
  runs: RunService;
  /** Every executor's events: what `GET /v1/events` streams. */
  events: EventStream;
  /** This process's own events (mail replies and connector callbacks act on these). */
  localEvents: EventBus;
  /** Leases: this executor's liveness, dead executors' runs taken over, duties held once across the cluster. */
  liveness: ExecutorLiveness;
  /** The prune duty: `prune.runOnce()` drops what expired now (it runs on its own every DEPUTY_PRUNE_INTERVAL_SECONDS). */
  prune: PruneJob;
  runner: Runner;
  /** Scripting plans: `plans.scheduler.tick()` handles what the clock says is due. */
  plans: Plans;
  /** The script lifecycle: status changes, reviews and pending approvals. */
  scripts: ScriptService;
  /** Scripts and actions authored through the API. */
  authoring: Authoring;
  /** E-mail connectors: `mail.address(id)` is where a mailbox's SMTP listener is bound. */
  mail: MailConnectors;
  /** How service and pool runs are isolated on this host. */
  isolation: RunIsolation;
  /** Every route of the API with its declared authentication. */
  routes(): DeclaredRoute[];
  close(): Promise<void>;
}

export interface CatalogSync {
  changes: number;
  /** What the store kept against the folder, because it changed through the API since the last import. */
  conflicts: CatalogConflict[];
}

/**
 * Imports the catalog folder into the store in one step, one audit entry per change and per
 * conflict. The baseline (what the folder said) is stored even when nothing else changed.
 */
export async function syncCatalog(store: Pick<ExecutorStore, 'catalog' | 'audit'>, folder: string, pwshPath: string, clock: Clock, actor = 'catalog-import'): Promise<CatalogSync> {
  const previous = store.catalog.snapshot();
  const { snapshot, changes, conflicts } = await importCatalog({ folder, previous, pwshPath, clock });
  if (changes.length > 0 || !isDeepStrictEqual(snapshot.baseline, previous.baseline)) await store.catalog.replace(snapshot);
  const correlationId = newCorrelationId();
  for (const change of changes) {
    await store.audit.append({ type: 'catalog.import', outcome: 'info', correlationId, actor, subject: folder, detail: { ...change } });
  }
  for (const kept of conflicts) {
    await store.audit.append({ type: 'catalog.conflict', outcome: 'info', correlationId, actor, subject: folder, detail: { ...kept } });
  }
  return { changes: changes.length, conflicts };
}

/** One script text through PowerShell's parser (what an import does for every new text). */
async function parseOneScript(pwshPath: string | undefined, text: string): Promise<ParsedScript> {
  if (pwshPath === undefined) throw new DeputyError('DEPUTY_E_PWSH_MISSING', { detail: 'a script text cannot be parsed without pwsh' });
  const parsed = (await parseScriptParameters(pwshPath, [{ key: 'text', text }])).get('text');
  if (!parsed) throw new DeputyError('DEPUTY_E_INTERNAL', { detail: 'the parameter parser answered without the script' });
  return parsed;
}

/** Finds pwsh and imports the catalog (the example one on a new data folder). */
async function prepareCatalog(store: ExecutorStore, config: ExecutorConfig, env: NodeJS.ProcessEnv, clock: Clock, logger: Logger) {
  const pwsh = locatePwsh(env, PROJECT_ROOT);
  if (!pwsh) logger.error('pwsh not found: set DEPUTY_PWSH, put pwsh on PATH, or run npm install to provision .tools/pwsh');
  else logger.info({ pwsh: pwsh.path, source: pwsh.source }, 'pwsh found');

  const current = store.catalog.snapshot();
  const isNewDataFolder = current.actions.length === 0 && current.principals.length === 0;
  const catalogFolder = config.catalogFolder ?? (isNewDataFolder ? EXAMPLE_CATALOG : undefined);
  if (catalogFolder) {
    if (!pwsh) throw new DeputyError('DEPUTY_E_PWSH_MISSING', { message: 'pwsh is needed to import the catalog (it parses each script with PowerShell’s own parser).' });
    const { changes, conflicts } = await syncCatalog(store, catalogFolder, pwsh.path, clock);
    logger.info({ folder: catalogFolder, changes }, 'catalog imported');
    for (const kept of conflicts) logger.warn({ folder: catalogFolder, object: kept.object, id: kept.id, kind: kept.kind }, kept.summary);
  } else if (pwsh) {
    // No import at start-up: versions an older parser read still get today's reading of their forms.
    const { snapshot, refreshed } = await rereadStaleVersions(pwsh.path, store.catalog.snapshot());
    if (refreshed.length > 0) {
      await store.catalog.replace(snapshot);
      const correlationId = newCorrelationId();
      for (const change of refreshChanges(refreshed)) {
        await store.audit.append({ type: 'catalog.import', outcome: 'info', correlationId, actor: 'start-up', subject: 'stored versions', detail: { ...change } });
      }
      logger.info({ versions: refreshed.length }, 'stored script versions read again by the current parameter parser');
    }
  }
  return { pwsh, catalogFolder };
}

/** The demo directory starts as the catalog's copy, in the runs' own data folder, owned by whoever runs as. */
async function seedRunData(catalogFolder: string | undefined, runDataDir: string, isolation: RunIsolation, logger: Logger): Promise<void> {
  const target = join(runDataDir, DEMO_DIRECTORY_SEED);
  if (!catalogFolder || existsSync(target)) return;
  // Read like the catalog's scripts: a seed that links out of the catalog folder is not copied.
  const seed = await readConfined(await catalogRoot(catalogFolder), DEMO_DIRECTORY_SEED);
  if (!('bytes' in seed)) {
    if (seed.code !== 'ENOENT') logger.warn({ problem: seed.problem }, 'demo directory seed not copied');
    return;
  }
  writeFileSync(target, seed.bytes, { mode: 0o600, flag: 'wx' });
  if (isolation.account) chownSync(target, isolation.account.uid, isolation.account.gid);
}

export async function startExecutor(options: ExecutorOptions): Promise<RunningExecutor> {
  const { config } = options;
  const env = options.env ?? process.env;
  const clock = options.clock ?? systemClock;
  const logger = options.logger ?? createLogger({ level: config.logLevel, format: config.logFormat, name: 'executor' });

  // Nothing in the data folder is for anyone but the executor's account (docs/security.md).
  const tightened = await makeDataFolderPrivate(config.dataDir);
  if (tightened.length > 0) logger.warn({ paths: tightened }, 'the data folder was readable by other accounts; made it private (folder 0700, files 0600)');
  const lock = acquireDataLock(config.dataDir);
  const tokens = config.tokens ?? [loadOrCreateToken(config.dataDir)];
  const operatorTokens = config.operatorTokens ?? [loadOrCreateToken(config.dataDir, OPERATOR_TOKEN_FILE)];
  assertDistinctTokens(tokens, operatorTokens);
  const token = tokens[0] as string;
  const executorId = config.executorId ?? `${hostname()}-${config.port}`;
  const backend = await openExecutorBackend({
    dataDir: config.dataDir,
    databaseUrl: config.databaseUrl,
    executorId,
    auditCheckpoint: auditCheckpointOf(config),
    clock,
    logger,
  }).catch((error: unknown) => {
    lock.release();
    throw error;
  });
  logger.info({ backend: backend.kind, executor: executorId }, backend.kind === 'postgres' ? 'state in PostgreSQL (DEPUTY_DATABASE_URL)' : 'state in the data folder');
  const { store } = backend;
  const keys = loadKeyRing({ keys: config.secretKeys, dataDir: config.dataDir });
  let pwsh: ReturnType<typeof locatePwsh>;
  let catalogFolder: string | undefined;
  let vault: Awaited<ReturnType<typeof openCredentialVault>>;
  try {
    ({ pwsh, catalogFolder } = await backend.startingAlone(() => prepareCatalog(store, config, env, clock, logger)));
    vault = await openCredentialVault({ dataDir: config.dataDir, keys, records: backend.credentials, clock, logger });
  } catch (error) {
    await backend.close();
    lock.release();
    throw error;
  }

  const pwshRunner = createPwshRunner({
    pwshPath: pwsh?.path ?? '',
    logger,
    clock,
    poolSize: config.poolSize,
    poolMaxWorkers: config.poolMaxWorkers,
    poolIdleMs: config.poolIdleMs,
    runAccount: config.runAccount,
    runAsAllowlist: config.runAsAllowlist,
    // What a run of the executor's own account could otherwise read (docs/security.md, "Run isolation").
    // Not the audit checkpoint: it is replaced by a rename after every batch, and a mount over a path
    // that a rename replaces fails (ENOENT) or hides the old file only; it holds nothing secret.
    protectedPaths: [
      config.dataDir,
      auditKeyPath(config.auditCheckpoint),
      ...(env.DEPUTY_CONFIG ? [resolve(env.DEPUTY_CONFIG)] : []),
    ],
    allowUnisolated: config.demo,
  });
  const isolation = pwshRunner.isolation();
  if (isolation.kind === 'none') logger.warn({ isolation: isolation.kind, containment: isolation.containment, gaps: isolation.gaps }, isolation.summary);
  else logger.info({ isolation: isolation.kind, containment: isolation.containment, gaps: isolation.gaps }, isolation.summary);
  const runDataDir = prepareRunDataFolder(isolation, config.dataDir, config.runDataDir);
  await seedRunData(catalogFolder, runDataDir, isolation, logger);
  const targetRunner = createTargetRunner({
    logger,
    clock,
    connectTimeoutMs: config.sshConnectTimeoutMs ?? 10_000,
    idleMs: config.targetIdleMs ?? 300_000,
    maxIdleSessions: config.maxTargetSessions ?? 32,
    onConnectFailure: (job, error) => {
      const run = executing.get(job.request.runId);
      if (run) auditConnectFailure(store.audit, logger, run, job.target, error);
    },
  });
  // The runs executing here: what the runner's decorators read about the run they execute.
  const executing = new Map<string, RunRecord>();
  const dispatched = withTargets(pwshRunner, { catalog: store.catalog, runs: executing, vault, logger, clock, targets: targetRunner });
  const runner = withStoredCredentials(dispatched, { catalog: store.catalog, runs: executing, vault, audit: store.audit, logger });

  // Modes this host cannot provide are refused per action at start-up, with the reason in the log.
  const unavailable = new Map<string, string>();
  for (const action of store.catalog.listActions()) {
    try {
      runner.assertModeAvailable(action.runAs);
    } catch (error) {
      const reason = error instanceof DeputyError ? (error.detail ?? error.message) : String(error);
      unavailable.set(action.id, reason);
      logger.error({ action: action.id, runAs: action.runAs, reason }, 'action refused: its execution mode is unavailable here');
    }
  }

  const policy = new Policy(store.catalog);
  const modeRefusal = (actionId: string) =>
    unavailable.has(actionId) ? { allowed: false as const, code: 'DEPUTY_E_MODE_UNAVAILABLE' as ErrorCode, reason: unavailable.get(actionId) ?? '' } : undefined;
  const runPolicy: RunPolicy = {
    mayRunAction: (principalId, actionId, inputs, targets) => modeRefusal(actionId) ?? policy.mayRunAction(principalId, actionId, inputs, targets),
    mayCancelRun: (principalId, run) => policy.mayCancelRun(principalId, run),
    mayDecideRun: (principalId, run) => policy.mayDecideRun(principalId, run),
    approversForRun: (run) => policy.approversFor({ run }),
  };

  const { events, localEvents, cancels } = backend;
  const queries = startQueries({ store, policy, runner, clock, logger, runDataDir });
  const queue = await backend.openQueue({ caps: { maxQueued: config.maxQueuedRuns, maxQueuedPerPrincipal: config.maxQueuedPerPrincipal }, concurrency: config.maxConcurrentRuns, keys });
  const recorder = new RunRecorder({ runs: store.runs, audit: store.audit, events, clock });
  const worker = new RunWorker({
    executorId,
    runs: store.runs,
    catalog: store.catalog,
    audit: store.audit,
    recorder,
    queue,
    cancels,
    runner,
    mayRunAction: (...args) => runPolicy.mayRunAction(...args),
    clock,
    logger,
    limits: { maxOutputBytes: config.maxOutputBytes, maxOutputRecords: config.maxOutputRecords },
    runDataDir,
    executing,
  });
  const runs = new RunService({
    executorId,
    catalog: store.catalog,
    audit: store.audit,
    runs: store.runs,
    recorder,
    queue,
    cancels,
    worker,
    policy: runPolicy,
    validateInputs,
    clock,
    logger,
    runDataDir,
    choices: queries.service,
    idempotency: backend.runIdempotency,
    approvalTtlMs: config.approvalTtlMs,
  });
  const liveness = new ExecutorLiveness({
    executorId,
    leases: backend.leases,
    runs: store.runs,
    recorder,
    adopt: (run) => worker.adopt(run),
    giveBackTaken: (dead) => queue.giveBackTakenBy(dead, async (runId) => (await store.runs.get(runId))?.state === 'queued'),
    ttlMs: config.leaseMs ?? 15_000,
    clock,
    logger,
  });
  const editor = new CatalogEditor(store.catalog);
  const plans = startPlans({
    store,
    runs,
    policy,
    events,
    editor,
    validateInputs,
    choices: queries.service,
    clock,
    logger,
    states: backend.records.planStates,
    tickMs: config.planTickMs ?? 15_000,
    asDuty: (tick) => liveness.asDuty('plan-scheduler', tick),
  });
  // Hooks go through the plan triggers: a hook for a connector-triggered plan starts that plan.
  // One budget per source for every refusal audited before the caller is known (HTTP and hooks).
  const refusals = new RefusalThrottle({ audit: store.audit, clock });
  const flushRefusals = () => refusals.flush().catch((error: unknown) => logger.error({ err: error }, 'writing the count of suppressed refusals failed'));
  const connectors = await startConnectors({
    store,
    runs: plans.triggers,
    events: localEvents,
    clock,
    logger,
    env,
    idempotency: backend.records.hookIdempotency,
    signatures: backend.records.hookSignatures,
    refusals,
  });
  // Before recovery: runs interrupted by a restart still get their result mailed.
  const mail = await startMailConnectors({ store, runs, events: localEvents, logger, env, ledger: backend.records.mailLedger });
  const scripts = startScripts({ store, policy, events, clock, editor, reviews: backend.records.scriptReviews });
  const authoring = startAuthoring({
    store,
    policy,
    editor,
    clock,
    parse: (text) => parseOneScript(pwsh?.path, text),
    limits: { maxBytes: config.maxScriptBytes ?? 131_072, maxLines: config.maxScriptLines ?? 5000, maxVersions: config.maxScriptVersions ?? 100 },
    viewOf: (viewer, script) => scripts.service.detailFor(viewer, script),
    assertModeAvailable: (runAs) => runner.assertModeAvailable(runAs),
  });
  // Own runs only: in a cluster, the others' are their business (or, once their lease expires, the sweep's).
  await liveness.start();
  await worker.start();
  const recovered = await worker.recover({ alone: backend.kind === 'files' });
  if (recovered.interrupted + recovered.resumed > 0) logger.warn(recovered, 'runs recovered after a restart');

  const readiness = (): Readiness => ({
    ready: pwsh !== undefined,
    checks: {
      store: { ok: true },
      pwsh: pwsh ? { ok: true, detail: pwsh.path } : { ok: false, detail: 'pwsh is missing: set DEPUTY_PWSH or run npm install' },
      isolation: { ok: isolation.kind !== 'none', detail: isolation.headline },
    },
  });
  const api = createApiServer({
    store,
    runs,
    events,
    visibleActions: (principalId: string): Action[] => policy.visibleActions(principalId).filter((action) => !unavailable.has(action.id)),
    targetChoices: (principalId, action) =>
      action.targets === undefined ? undefined : policy.usableTargets(principalId, action.id).map((target) => ({ id: target.id, name: target.name })),
    tokens: createTokenCheck({ bot: tokens, operator: operatorTokens }),
    hostAllowed: createHostCheck(config.host, config.allowedHosts ?? []),
    readiness,
    logger,
    refusals,
    demo: config.demo,
    runIsolation: isolation.headline,
    registerRoutes: [connectors.routes, plans.routes, scripts.routes, authoring.routes, queries.routes],
  });
  const { server } = api;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.port, config.host, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  const url = `http://${config.host.includes(':') ? `[${config.host}]` : config.host}:${port}`;
  const expiry = setInterval(
    () => void liveness.asDuty('approval-expiry', () => runs.expireApprovals()).catch((error: unknown) => logger.error({ err: error }, 'approval expiry failed')),
    30_000,
  );
  expiry.unref();
  const refusalSummaries = setInterval(() => void flushRefusals(), 60_000);
  refusalSummaries.unref();
  const prune = new PruneJob({
    records: backend.expiring,
    intervalMs: config.pruneIntervalMs ?? 600_000,
    asDuty: (work, ttlMs) => liveness.asDuty('prune', work, ttlMs),
    clock,
    logger,
  });
  prune.start();
  logger.info({ url }, 'executor listening');
  if (isWildcardHost(config.host) && (config.allowedHosts ?? []).length === 0) {
    logger.warn('the executor listens on every address but answers only to loopback names: list the names callers use in DEPUTY_EXECUTOR_ALLOWED_HOSTS');
  }

  return {
    url,
    port,
    token,
    operatorToken: operatorTokens[0] as string,
    backend: backend.kind,
    executorId,
    store,
    runs,
    events,
    localEvents,
    liveness,
    prune,
    runner,
    plans,
    scripts: scripts.service,
    authoring,
    mail,
    isolation,
    routes: api.routes,
    async close() {
      clearInterval(expiry);
      clearInterval(refusalSummaries);
      await prune.stop();
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      // Event streams stay open until their client leaves; shutting down must not wait for them.
      server.server.closeAllConnections();
      await closed;
      await plans.close();
      await worker.stop();
      await liveness.stop();
      await mail.close();
      await connectors.close();
      await flushRefusals();
      await runner.close();
      await backend.close();
      lock.release();
    },
  };
}
