import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { startExecutor, type RunningExecutor } from '../../../executor/app.ts';
import { loadExecutorConfig } from '../../../executor/config.ts';
import type { RunView } from '../../../executor/contract/index.ts';
import { credentialCommand } from '../../../executor/credentials/cli.ts';
import { createLogger } from '../../../lib/logger.ts';
import { removeDataFolder } from '../../helpers/executor.ts';
import { prepareAutomationCatalog, type AutomationCatalog } from '../connectors/fixture.ts';

const API_KEY = 'sk-live-9d8c7b6a5f4e';
const PASSWORD = 'Hunter2-Correct-Horse!';

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    return entry.isDirectory() ? filesUnder(path) : entry.isFile() ? [path] : [];
  });
}

describe('stored credentials end to end (real executor, real pwsh, captured logs)', function () {
  this.timeout(90_000);
  let catalog: AutomationCatalog;
  let dataDir: string;
  let executor: RunningExecutor | undefined;
  const logs: string[] = [];

  const start = async () => {
    const base = loadExecutorConfig({ DEPUTY_DATA_DIR: dataDir, DEPUTY_EXECUTOR_PORT: '0', DEPUTY_RUN_DATA_DIR: `${dataDir}-run-data` });
    const logger = createLogger({ level: 'trace', name: 'executor', destination: { write: (line: string) => void logs.push(line) } });
    return startExecutor({ config: { ...base, catalogFolder: catalog.folder, logLevel: 'trace' }, logger });
  };
  const api = async (path: string, init: RequestInit & { json?: unknown } = {}) => {
    if (!executor) throw new Error('not started');
    // The operator's token: alex has no chat identity in this catalog, and the test reads across principals.
    const headers = { authorization: `Bearer ${executor.operatorToken}`, ...(init.json !== undefined ? { 'content-type': 'application/json' } : {}) };
    return fetch(`${executor.url}${path}`, { ...init, headers, ...(init.json !== undefined ? { body: JSON.stringify(init.json) } : {}) });
  };

  before(() => {
    catalog = prepareAutomationCatalog();
    dataDir = mkdtempSync(join(tmpdir(), 'deputy-credentials-'));
  });
  after(async () => {
    await executor?.close();
    removeDataFolder(dataDir);
    catalog.cleanup();
  });

  it('refuses to run while a bound credential has no value, with a clear message', async () => {
    executor = await start();
    const response = await api('/v1/runs', { method: 'POST', json: { actionId: 'use-credential', principalId: 'alex', inputs: { Note: 'first' } } });
    assert.equal(response.status, 202, await response.clone().text());
    const { id } = (await response.json()) as { id: string };
    await executor.runs.idle();
    const run = (await (await api(`/v1/runs/${id}`)).json()) as RunView;
    assert.equal(run.state, 'failed');
    assert.match(run.error?.message ?? '', /stored credential "(graph-key|svc-account)" this action needs has no value yet/);
    const actions = (await (await api('/v1/actions?principal=alex')).json()) as { actions: { id: string; form: { fields: { name: string }[] } }[] };
    const form = actions.actions.find((action) => action.id === 'use-credential')?.form.fields.map((field) => field.name);
    assert.deepEqual(form, ['Note'], 'credential-bound parameters are never asked');
    await executor.close();
    executor = undefined;
  });

  it('passes the values on stdin only and masks them everywhere: disk, API, events, logs', async () => {
    const io = (value: string) => ({ out: () => undefined, err: (line: string) => assert.fail(line), stdin: Readable.from([`${value}\n`]) });
    assert.equal(await credentialCommand(['set', 'graph-key'], { DEPUTY_DATA_DIR: dataDir }, io(API_KEY)), 0);
    assert.equal(await credentialCommand(['set', 'svc-account', '--username', 'svc-deputy'], { DEPUTY_DATA_DIR: dataDir }, io(PASSWORD)), 0);
    executor = await start();

    const sse = await api('/v1/events');
    const reader = sse.body!.getReader();
    const response = await api('/v1/runs', { method: 'POST', json: { actionId: 'use-credential', principalId: 'alex', inputs: { Note: 'second' } } });
    const created = await response.text();
    assert.equal(response.status, 202, created);
    const { id } = JSON.parse(created) as { id: string };
    let stream = '';
    while (!stream.includes('event: run.finished')) {
      const { value, done } = await reader.read();
      if (done) break;
      stream += new TextDecoder().decode(value);
    }
    await reader.cancel();
    const runText = await (await api(`/v1/runs/${id}`)).text();
    const run = JSON.parse(runText) as RunView;
    const output = await (await api(`/v1/runs/${id}/output`)).text();
    const list = await (await api('/v1/runs?principal=alex')).text();

    // The script really got both values: each printed value was recognised and masked.
    assert.equal(run.state, 'failed', 'Write-Error makes the run fail, which is fine: every stream was used');
    const lines = (run.streams ?? []).map((record) => `${record.stream}:${record.text}`);
    for (const expected of ['output:key=********', 'output:user=svc-deputy password=********', 'output:note=second', 'warning:warning key=******** password=********', 'verbose:verbose key=********', 'information:information password=********', 'error:error key=******** password=********']) {
      assert.ok(lines.some((line) => line.startsWith(expected)), `${expected} in\n${lines.join('\n')}`);
    }
    assert.ok(stream.includes(id));

    await executor.close();
    executor = undefined;
    const places: [string, string][] = [
      ['POST /v1/runs', created],
      ['GET /v1/runs/<id>', runText],
      ['GET /v1/runs/<id>/output', output],
      ['GET /v1/runs', list],
      ['SSE', stream],
      ['logs', logs.join('')],
      ...filesUnder(dataDir).map((path): [string, string] => [path, readFileSync(path).toString('latin1')]),
    ];
    for (const [place, text] of places) {
      for (const secret of [API_KEY, PASSWORD]) assert.ok(!text.includes(secret), `${secret} leaked into ${place}`);
    }
    assert.ok(logs.some((line) => line.includes('executor listening')), 'logs were captured');
    assert.equal(statSync(join(dataDir, 'credentials.json')).mode & 0o777, 0o600);
    const audit = readFileSync(join(dataDir, 'audit.jsonl'), 'utf8');
    assert.match(audit, /"type":"credential\.use"/);
  });
});
