/**
 * The `deputy` command. The one place that composes executor/ and bot/ into processes.
 */
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { systemClock } from '../lib/clock.ts';
import { createLogger } from '../lib/logger.ts';
import { startExecutor, syncCatalog, type RunningExecutor } from '../executor/app.ts';
import { importScriptFolder, type ImportReport } from '../executor/catalog/import.ts';
import { loadExecutorConfig } from '../executor/config.ts';
import { isDeputyError } from '../executor/contract/index.ts';
import { locatePwsh, PROJECT_ROOT } from '../executor/pwsh/locate.ts';
import { acquireDataLock } from '../executor/data-lock.ts';
import { credentialCommand } from '../executor/credentials/cli.ts';
import { exportCatalog } from '../executor/catalog/export.ts';
import { FileCatalog } from '../executor/store/catalog-file.ts';
import { createFileStore, storePaths } from '../executor/store/file.ts';
import { verifyAuditLog } from '../executor/store/audit.ts';
import { auditCheckpointOf, describeCheckpointProblem, loadAuditKey } from '../executor/store/audit-checkpoint.ts';
import { loadBotConfig } from '../bot/config.ts';
import { startBot, type EdgePlugin } from '../bot/server.ts';
import { slackEdgePlugin } from '../bot/slack/plugin.ts';
import { teamsEdgePlugin } from '../bot/teams/plugin.ts';

/** The chat platforms a bot can serve; each is on only when its credentials are configured. */
const platformEdges = (): EdgePlugin[] => [teamsEdgePlugin(), slackEdgePlugin()];

const USAGE = `Usage: deputy <command>

  start               executor and bot in one process (what npm start runs; demo mode on loopback by default)
  executor            the executor alone (REST API, runs, pwsh)
  bot                 the bot alone (needs DEPUTY_EXECUTOR_URL and DEPUTY_EXECUTOR_TOKEN)
  import <folder>     import a catalog folder (catalog.yaml) or a folder of .ps1 scripts (as Draft)
  export <folder>     write the live catalog as code (catalog.yaml and its scripts) into a folder
  audit verify        check the audit log's hash chain (names the first broken entry) and its
                      checkpoint outside the data folder (a cut or re-sealed log)
  credential ...      stored credentials: set <id> (value on stdin), list, rotate-key
  version             Deputy's version, the Node it runs on and the pwsh it would use
`;

type Output = { out: (line: string) => void; err: (line: string) => void };
const console_: Output = { out: (line) => process.stdout.write(`${line}\n`), err: (line) => process.stderr.write(`${line}\n`) };

/** Resolves when the process is asked to stop. */
function untilSignal(): Promise<string> {
  return new Promise((resolve) => {
    for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => resolve(signal));
  });
}

async function runExecutor(env: NodeJS.ProcessEnv, io: Output): Promise<RunningExecutor> {
  const config = loadExecutorConfig(env);
  const executor = await startExecutor({ config, env });
  io.out(`Deputy executor on ${executor.url} (data in ${config.dataDir})`);
  io.out(`Run isolation: ${executor.isolation.summary}`);
  return executor;
}

async function commandStart(given: NodeJS.ProcessEnv, io: Output): Promise<number> {
  // `deputy start` is the first-five-minutes command: demo mode unless DEPUTY_DEMO says otherwise.
  const env = given.DEPUTY_DEMO === undefined ? { ...given, DEPUTY_DEMO: 'true' } : given;
  const executor = await runExecutor(env, io);
  const config = loadBotConfig({ ...env, DEPUTY_EXECUTOR_URL: executor.url, DEPUTY_EXECUTOR_TOKEN: executor.token });
  const bot = await startBot({ config, edges: platformEdges() });
  io.out(bot.webChat ? `Deputy web chat (demo, local only; the address carries its key): ${bot.webChat.url}` : `Deputy bot on ${bot.url}`);
  io.out('Press Ctrl+C to stop.');
  await untilSignal();
  await bot.close();
  await executor.close();
  return 0;
}

async function commandImport(folder: string | undefined, env: NodeJS.ProcessEnv, io: Output): Promise<number> {
  if (!folder) {
    io.err('deputy import: name the folder to import');
    return 2;
  }
  const config = loadExecutorConfig(env);
  const pwsh = locatePwsh(env, PROJECT_ROOT);
  if (!pwsh) {
    io.err('deputy import: pwsh not found (set DEPUTY_PWSH or run npm install)');
    return 1;
  }
  const logger = createLogger({ level: 'warn', name: 'import' });
  mkdirSync(config.dataDir, { recursive: true, mode: 0o700 });
  const lock = acquireDataLock(config.dataDir);
  const store = await createFileStore({ dataDir: config.dataDir, clock: systemClock, logger, auditCheckpoint: auditCheckpointOf(config) });
  try {
    const source = resolve(folder);
    if (existsSync(join(source, 'catalog.yaml'))) {
      const { changes, conflicts } = await syncCatalog(store, source, pwsh.path, systemClock, 'cli-import');
      io.out(changes === 0 ? 'Catalog unchanged.' : `Catalog imported: ${changes} change(s).`);
      if (conflicts.length > 0) {
        io.err(`Kept ${conflicts.length} record(s) of the store against the folder (changed through the API since the last import):`);
        for (const kept of conflicts) io.err(`  ${kept.summary}`);
        return 3;
      }
    } else {
      const tenant = env.DEPUTY_IMPORT_TENANT ?? store.catalog.snapshot().tenants.find((candidate) => !candidate.parent)?.id;
      if (!tenant) {
        io.err('deputy import: no tenant to import into (set DEPUTY_IMPORT_TENANT or import a catalog first)');
        return 1;
      }
      const { snapshot, changes, report } = await importScriptFolder({ folder: source, tenant, previous: store.catalog.snapshot(), pwshPath: pwsh.path, clock: systemClock });
      if (changes.length > 0) {
        await store.catalog.replace(snapshot);
        for (const change of changes) {
          await store.audit.append({ type: 'catalog.import', outcome: 'info', correlationId: `import-${Date.now()}`, actor: 'cli-import', subject: source, detail: { ...change } });
        }
      }
      io.out(changes.length === 0 ? 'Scripts unchanged.' : `Imported ${changes.length} script change(s) as Draft into tenant ${tenant}.`);
      for (const line of reportLines(report)) io.out(line);
    }
    return 0;
  } finally {
    await store.close();
    lock.release();
  }
}

/**
 * Reads the store's catalog file without taking the data folder's lock: an export only reads,
 * and it is meant to run beside a live executor (the file is always replaced whole).
 */
async function commandExport(folder: string | undefined, env: NodeJS.ProcessEnv, io: Output): Promise<number> {
  if (!folder) {
    io.err('deputy export: name the folder to write the catalog into');
    return 2;
  }
  const config = loadExecutorConfig(env);
  const snapshot = (await FileCatalog.open(storePaths(config.dataDir).catalog)).snapshot();
  if (snapshot.tenants.length === 0 && snapshot.scripts.length === 0) {
    io.err(`deputy export: the store in ${config.dataDir} holds no catalog yet`);
    return 1;
  }
  const target = resolve(folder);
  const { counts, files } = await exportCatalog(snapshot, target);
  io.out(`Exported ${counts.scripts} script(s), ${counts.queries} query(ies), ${counts.actions} action(s) and ${counts.plans} plan(s) to ${target} (${files.length} files).`);
  return 0;
}

/** The import report: what became queries, what was left out and why, what a form cannot express. */
function reportLines(report: ImportReport): string[] {
  const lines: string[] = [];
  if (report.queries.length > 0) lines.push(`Queries made from _QUERY_ scripts: ${report.queries.join(', ')}.`);
  if (report.ignored.length > 0) lines.push(`Left out (${report.ignored.length}):`, ...report.ignored.map((item) => `  ${item.file}: ${item.reason}`));
  if (report.skipped.length > 0) lines.push(`Not imported (${report.skipped.length}):`, ...report.skipped.map((item) => `  ${item.file}: ${item.reason}`));
  if (report.unmapped.length > 0) {
    lines.push(`What the forms cannot express, or the scripts need (${report.unmapped.length} script(s)):`);
    for (const entry of report.unmapped) lines.push(...entry.notes.map((note) => `  ${entry.script}: ${note}`));
  }
  return lines;
}

async function commandAuditVerify(env: NodeJS.ProcessEnv, io: Output): Promise<number> {
  const config = loadExecutorConfig(env);
  const key = loadAuditKey({ key: config.auditKey, checkpointPath: config.auditCheckpoint, create: false });
  const { chain, checkpoint, checkpointStarts } = await verifyAuditLog(join(config.dataDir, 'audit.jsonl'), { path: config.auditCheckpoint, key });
  if (!chain.ok) {
    io.err(`Audit log broken at entry ${chain.brokenAt}: ${chain.reason} (${chain.count} entries before it verified).`);
    return 1;
  }
  for (const start of checkpointStarts) {
    io.out(`Note: at entry ${start.seq} (${start.at}) a checkpoint was started over ${start.entriesBefore} entries that had none; a cut before it would not show.`);
  }
  if (checkpoint.state !== 'matches') {
    io.err(`Audit log not intact: ${describeCheckpointProblem(checkpoint)} (the ${chain.count} entries present chain correctly).`);
    return 1;
  }
  io.out(`Audit log intact: ${chain.count} entries; its checkpoint (entry ${checkpoint.checkpoint.seq}, written ${checkpoint.checkpoint.at}) matches.`);
  return 0;
}

function commandVersion(env: NodeJS.ProcessEnv, io: Output): void {
  const manifest = JSON.parse(readFileSync(join(PROJECT_ROOT, 'package.json'), 'utf8')) as { version: string };
  io.out(`deputy ${manifest.version}`);
  io.out(`node ${process.version}`);
  const pwsh = locatePwsh(env, PROJECT_ROOT);
  io.out(`pwsh ${pwsh ? `${pwsh.path} (${pwsh.source})` : 'not found'}`);
}

export async function main(argv: string[], given: NodeJS.ProcessEnv = process.env, io: Output = console_): Promise<number> {
  const [command, ...rest] = argv;
  // A person at a terminal gets readable log lines; anything else gets JSON, one object a line.
  const env = given.DEPUTY_LOG_FORMAT ? given : { ...given, DEPUTY_LOG_FORMAT: process.stdout.isTTY ? 'pretty' : 'json' };
  try {
    switch (command) {
      case 'start':
        return await commandStart(env, io);
      case 'executor': {
        const executor = await runExecutor(env, io);
        await untilSignal();
        await executor.close();
        return 0;
      }
      case 'bot': {
        const bot = await startBot({ config: loadBotConfig(env), edges: platformEdges() });
        io.out(`Deputy bot on ${bot.url}`);
        await untilSignal();
        await bot.close();
        return 0;
      }
      case 'import':
        return await commandImport(rest[0], env, io);
      case 'export':
        return await commandExport(rest[0], env, io);
      case 'credential':
        return await credentialCommand(rest, env, { ...io, stdin: process.stdin });
      case 'audit':
        if (rest[0] === 'verify') return await commandAuditVerify(env, io);
        break;
      case 'version':
      case '--version':
        commandVersion(env, io);
        return 0;
      case undefined:
      case 'help':
      case '--help':
      case '-h':
        io.out(USAGE);
        return command === undefined ? 2 : 0;
    }
    io.err(`deputy: unknown command "${argv.join(' ')}"\n\n${USAGE}`);
    return 2;
  } catch (error) {
    // Start-up errors name the variable or file at fault; a stack trace helps nobody here.
    io.err(`deputy ${command ?? ''}: ${isDeputyError(error) ? error.message : error instanceof Error ? error.message : String(error)}`);
    if (!isDeputyError(error) && error instanceof Error && error.stack) io.err(error.stack);
    return 1;
  }
}
