/**
 * Forms benchmarks, measured in one run on this machine:
 * - how long a form with two query-bound fields takes to open: the bot core (real executor
 *   client) asks a real executor (example catalog, warm pwsh pool) for the form and both fields'
 *   choices. Measured with the queries' answers kept (cacheSeconds as the example catalog has
 *   them) and with every open running both query scripts (cacheSeconds 0). Goal: under 1 s warm.
 * - the share of parameters that come through intact, Deputy's reading against Get-Command and
 *   Get-Help in real pwsh, over the committed corpus and DEPUTY_PS_CORPUS when set. Goal: all.
 */
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { FileConversations } from '../bot/store/port.ts';
import { BotCore } from '../bot/core/core.ts';
import { ExecutorClient } from '../bot/core/executor-client.ts';
import type { Inbound } from '../bot/core/model.ts';
import { startExecutor } from '../executor/app.ts';
import { loadExecutorConfig } from '../executor/config.ts';
import { locatePwsh, PROJECT_ROOT } from '../executor/pwsh/locate.ts';
import { systemClock } from '../lib/clock.ts';
import { silentLogger } from '../lib/logger.ts';
import { checkFidelity, scriptFiles } from '../test/executor/pwsh/fidelity/fidelity.ts';
import type { BenchResult } from './executor.ts';
import { medianAndP99, ms, percentile } from './stats.ts';

const GOAL_MS = 1000;
const SAMPLES = 15;

export async function benchForms(): Promise<BenchResult[]> {
  return [...(await benchFormOpening(true)), ...(await benchFormOpening(false)), await benchFidelity()];
}

/** The example catalog, with every query's answer kept (as shipped) or never kept. */
function exampleCatalog(keepAnswers: boolean): string {
  const folder = mkdtempSync(join(tmpdir(), 'deputy-bench-catalog-'));
  cpSync(join(PROJECT_ROOT, 'examples', 'catalog'), folder, { recursive: true });
  if (!keepAnswers) {
    const path = join(folder, 'catalog.yaml');
    writeFileSync(path, readFileSync(path, 'utf8').replace(/cacheSeconds: \d+/g, 'cacheSeconds: 0'));
  }
  return folder;
}

async function benchFormOpening(keepAnswers: boolean): Promise<BenchResult[]> {
  const catalogFolder = exampleCatalog(keepAnswers);
  const dataDir = mkdtempSync(join(tmpdir(), 'deputy-bench-forms-'));
  const executor = await startExecutor({
    config: { ...loadExecutorConfig({ DEPUTY_DATA_DIR: dataDir, DEPUTY_EXECUTOR_PORT: '0' }), catalogFolder, demo: true, poolSize: 2 },
    logger: silentLogger(),
  });
  const conversations = await FileConversations.open(join(dataDir, 'bot-conversations.json'));
  const core = new BotCore({ executor: new ExecutorClient({ baseUrl: executor.url, token: executor.token }), logger: silentLogger(), clock: systemClock, conversations, edges: [] });
  // Carla (company admin) opens "Reset a password (any office)" with an office chosen: both
  // query-bound fields (the offices, and that office's accounts) get their choices.
  const open: Inbound = {
    kind: 'submit',
    user: { identity: { channel: 'webchat', persona: 'carla' } },
    conversation: { channel: 'webchat', conversationId: 'bench' },
    verb: 'update-form',
    data: { actionId: 'reset-password-any', values: { Office: 'hamburg' } },
  };
  const timed = async (): Promise<number> => {
    const started = performance.now();
    const { immediate } = await core.handle(open);
    const elapsed = performance.now() - started;
    const choices = immediate?.screen === 'action-form' ? immediate.choices : undefined;
    if (!choices?.Office?.length || !choices.UserPrincipalName?.length) throw new Error(`the form came without both fields' choices: ${JSON.stringify(immediate).slice(0, 300)}`);
    return elapsed;
  };
  try {
    const cold = await timed();
    const warm: number[] = [];
    for (let index = 0; index < SAMPLES; index++) warm.push(await timed());
    const p50 = percentile(warm, 50);
    const label = keepAnswers ? 'answers kept (cacheSeconds as in the example catalog)' : 'both queries run on every open (cacheSeconds 0)';
    return [
      {
        name: `form with two query-bound fields opens in under ${GOAL_MS} ms warm: ${label}`,
        lines: [`first open (pool starting): ${ms(cold)}`, `warm, ${SAMPLES} opens: ${medianAndP99(warm)}`],
        pass: p50 < GOAL_MS,
      },
    ];
  } finally {
    await core.close();
    await executor.close();
    rmSync(dataDir, { recursive: true, force: true });
    rmSync(catalogFolder, { recursive: true, force: true });
  }
}

async function benchFidelity(): Promise<BenchResult> {
  const pwsh = locatePwsh(process.env, PROJECT_ROOT);
  if (!pwsh) throw new Error('pwsh not found');
  const corpora = [join(PROJECT_ROOT, 'test', 'fixtures', 'powershell-corpus'), ...(process.env.DEPUTY_PS_CORPUS ? [process.env.DEPUTY_PS_CORPUS] : [])];
  const lines: string[] = [];
  let pass = true;
  for (const corpus of corpora) {
    const files = scriptFiles(corpus);
    const started = performance.now();
    const report = await checkFidelity(pwsh.path, files);
    const share = report.parameters === 0 ? 0 : (100 * report.intact) / report.parameters;
    lines.push(`${corpus}: ${report.intact} of ${report.parameters} parameters intact (${share.toFixed(2)} %) in ${files.length - report.skipped} scripts; ${report.skipped} scripts PowerShell itself cannot read; ${ms(performance.now() - started)}`);
    if (report.intact !== report.parameters) pass = false;
  }
  return { name: 'parameters read as PowerShell reads them (goal: all)', lines, pass };
}
