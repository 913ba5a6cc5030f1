/** Starts a real executor (restify on loopback, real pwsh, file store in a temp folder) for tests. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startExecutor, type RunningExecutor } from '../../executor/app.ts';
import { loadExecutorConfig, type ExecutorConfig } from '../../executor/config.ts';
import { PROJECT_ROOT } from '../../executor/pwsh/locate.ts';
import { silentLogger, type Logger } from '../../lib/logger.ts';
import type { Clock } from '../../lib/clock.ts';
import type { RunView } from '../../executor/contract/index.ts';
import { isFinalRunState } from '../../executor/contract/index.ts';

export const FIXTURE_CATALOG = join(PROJECT_ROOT, 'test', 'fixtures', 'catalog');
export const EXAMPLE_CATALOG_FOLDER = join(PROJECT_ROOT, 'examples', 'catalog');

export interface TestExecutor extends RunningExecutor {
  dataDir: string;
  /** A request with the bot's token (unless `init` sets another `authorization`). */
  api(path: string, init?: RequestInit & { json?: unknown }): Promise<Response>;
  /** The same with the operator's token: reads across principals. */
  operatorApi(path: string, init?: RequestInit & { json?: unknown }): Promise<Response>;
  waitForRun(id: string, timeoutMs?: number): Promise<RunView>;
  /** A principal's runs, newest first (up to 500). */
  runsOf(principalId: string): Promise<RunView[]>;
  dispose(): Promise<void>;
}

/**
 * Removes an executor's data folder and, beside it, its default audit checkpoint and key
 * (kept outside the data folder on purpose: docs/store.md "The audit checkpoint") and the runs'
 * own data as the test executors keep it (docs/catalog.md, `{runDataDir}`).
 */
export function removeDataFolder(dataDir: string): void {
  rmSync(dataDir, { recursive: true, force: true });
  rmSync(`${dataDir}-run-data`, { recursive: true, force: true });
  rmSync(`${dataDir}.audit-checkpoint`, { force: true });
  rmSync(`${dataDir}.audit-checkpoint.key`, { force: true });
}

export async function startTestExecutor(
  options: { catalog?: string; config?: Partial<ExecutorConfig>; clock?: Clock; dataDir?: string; logger?: Logger } = {},
): Promise<TestExecutor> {
  const dataDir = options.dataDir ?? mkdtempSync(join(tmpdir(), 'deputy-test-'));
  // The runs' own data beside the data folder, not under /var/lib/deputy, so it goes with the test.
  const runDataDir = `${dataDir}-run-data`;
  const base = loadExecutorConfig({ DEPUTY_DATA_DIR: dataDir, DEPUTY_EXECUTOR_PORT: '0', DEPUTY_RUN_DATA_DIR: runDataDir });
  const config: ExecutorConfig = { ...base, catalogFolder: options.catalog ?? FIXTURE_CATALOG, demo: true, ...options.config };
  const executor = await startExecutor({ config, logger: options.logger ?? silentLogger(), ...(options.clock ? { clock: options.clock } : {}) });
  const withToken = (token: string) => (path: string, init: RequestInit & { json?: unknown } = {}) => {
    const headers = new Headers(init.headers);
    if (!headers.has('authorization')) headers.set('authorization', `Bearer ${token}`);
    if (init.json !== undefined) headers.set('content-type', 'application/json');
    return fetch(`${executor.url}${path}`, { ...init, headers, ...(init.json !== undefined ? { body: JSON.stringify(init.json) } : {}) });
  };
  const api = withToken(executor.token);
  const operatorApi = withToken(executor.operatorToken);
  return {
    ...executor,
    dataDir,
    api,
    operatorApi,
    async waitForRun(id, timeoutMs = 30_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const run = (await (await operatorApi(`/v1/runs/${id}`)).json()) as RunView;
        if (isFinalRunState(run.state)) return run;
        if (Date.now() > deadline) throw new Error(`run ${id} still ${run.state} after ${timeoutMs} ms`);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    },
    async runsOf(principalId) {
      const response = await api(`/v1/runs?${new URLSearchParams({ principal: principalId, limit: '500' })}`);
      return ((await response.json()) as { runs: RunView[] }).runs;
    },
    async dispose() {
      await executor.close();
      if (!options.dataDir) removeDataFolder(dataDir);
      else rmSync(runDataDir, { recursive: true, force: true });
    },
  };
}
