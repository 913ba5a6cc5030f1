/**
 * Catalog as code both ways, with a real executor (real pwsh): what is authored through the API
 * is exported as catalog.yaml plus scripts; importing the export into the same store changes
 * nothing; importing it into a fresh store gives the same catalog (its export is byte for byte
 * the same folder); and importing a folder that is behind the store reports the conflict
 * instead of overwriting the newer version.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { main } from '../../../cli/main.ts';
import { exportCatalog } from '../../../executor/catalog/export.ts';
import { importCatalog } from '../../../executor/catalog/import.ts';
import type { CatalogSnapshot } from '../../../executor/store/port.ts';
import { locatePwsh, PROJECT_ROOT } from '../../../executor/pwsh/locate.ts';
import { ManualClock } from '../../../lib/clock.ts';
import { startTestExecutor, type TestExecutor } from '../../helpers/executor.ts';
import { ECHO_TEXT, sha256, writeAuthoringCatalog } from '../authoring/catalog.ts';

const pwsh = locatePwsh(process.env, PROJECT_ROOT)?.path ?? 'pwsh';
const EMPTY: CatalogSnapshot = { tenants: [], principals: [], scripts: [], versions: [], actions: [] };

/** Every file under a folder, by relative path. */
function filesOf(folder: string): Map<string, string> {
  const files = new Map<string, string>();
  const walk = (dir: string) => {
    for (const name of readdirSync(dir)) {
      const path = join(dir, name);
      if (statSync(path).isDirectory()) walk(path);
      else files.set(relative(folder, path), readFileSync(path, 'utf8'));
    }
  };
  walk(folder);
  return files;
}

/** What runs, per script: status, current and approved text, origin. */
function scriptState(snapshot: CatalogSnapshot) {
  return snapshot.scripts.map(({ id, name, tenant, status, currentHash, approvedHash, clonedFrom }) => ({ id, name, tenant, status, currentHash, approvedHash, clonedFrom })).sort((a, b) => a.id.localeCompare(b.id));
}

describe('catalog as code both ways: deputy export and import', function () {
  this.timeout(180_000);
  let executor: TestExecutor;
  let source: string;
  const temp: string[] = [];
  const tempFolder = (prefix: string) => {
    const folder = mkdtempSync(join(tmpdir(), prefix));
    temp.push(folder);
    return folder;
  };
  const post = (path: string, json: unknown) => executor.api(path, { method: 'POST', json });
  const expectOk = async (response: Response) => assert.ok(response.ok, `${response.status} ${await response.clone().text()}`);

  before(async () => {
    source = writeAuthoringCatalog();
    executor = await startTestExecutor({ catalog: source, config: { planTickMs: 0 } });
    // Authored through the API: a new script, a Draft version of an approved one (its approved
    // text still runs), a clone from the parent tenant, an action pinned to a version, and a plan.
    await expectOk(await post('/v1/scripts', { principalId: 'hana', tenant: 'hamburg', id: 'fresh', name: 'Fresh', text: 'param([string]$Who)\n"fresh $Who"\n' }));
    await expectOk(await post('/v1/scripts/echo/versions', { principalId: 'hugo', basedOn: sha256(ECHO_TEXT), text: ECHO_TEXT.replace('echo:', 'echo (draft):') }));
    await expectOk(await post('/v1/scripts/central-tool/clone', { principalId: 'adam', tenant: 'hamburg', id: 'local-tool', name: 'Local tool' }));
    const fresh = sha256('param([string]$Who)\n"fresh $Who"\n');
    await expectOk(await post('/v1/actions', { principalId: 'hana', id: 'fresh-pinned', script: 'fresh', version: fresh, title: 'Fresh, pinned', runAs: 'pool', fixed: { Who: 'me' }, allow: { roles: ['company-admin'] } }));
    await expectOk(await post('/v1/plans', { principalId: 'adam', id: 'morning-echo', action: 'echo', schedule: '0 7 * * 1-5', inputs: { Message: 'good morning' }, workloads: ['adam-laptop'] }));
  });
  after(async () => {
    await executor.dispose();
    for (const folder of [source, ...temp]) rmSync(folder, { recursive: true, force: true });
  });

  it('exports the live catalog; importing it into the same store changes nothing', async () => {
    const folder = tempFolder('deputy-export-');
    const result = await exportCatalog(executor.store.catalog.snapshot(), folder);
    assert.equal(result.files[0], 'catalog.yaml');
    const files = filesOf(folder);
    assert.equal(files.get('scripts/fresh.ps1'), 'param([string]$Who)\n"fresh $Who"\n', 'an authored script gets a file of its own');
    assert.ok([...files.keys()].some((file) => file.startsWith('scripts/echo.') && files.get(file) === ECHO_TEXT), 'the approved text of a Draft is kept as an earlier version');
    assert.match(files.get('catalog.yaml') ?? '', /clonedFrom:\s*\n\s+id: central-tool/);

    const again = await importCatalog({ folder, previous: executor.store.catalog.snapshot(), pwshPath: '/nonexistent/pwsh', clock: new ManualClock() });
    assert.deepEqual(again.changes, []);
    assert.deepEqual(again.conflicts, []);
  });

  it('importing the export into a fresh store gives the same catalog, whose export is the same folder', async () => {
    const original = executor.store.catalog.snapshot();
    const first = tempFolder('deputy-export-a-');
    await exportCatalog(original, first);
    const { snapshot: fresh, conflicts } = await importCatalog({ folder: first, previous: EMPTY, pwshPath: pwsh, clock: new ManualClock() });
    assert.deepEqual(conflicts, []);
    assert.deepEqual(scriptState(fresh), scriptState(original));
    assert.deepEqual(fresh.actions, original.actions);
    assert.deepEqual(fresh.plans, original.plans);
    assert.deepEqual(fresh.principals, original.principals);
    assert.deepEqual(fresh.tenants, original.tenants);
    const second = tempFolder('deputy-export-b-');
    await exportCatalog(fresh, second);
    assert.deepEqual(filesOf(second), filesOf(first));
  });

  it('a folder behind a chat edit: the newer version is kept and the conflict reported; a folder edit since the export is taken', async () => {
    const folder = tempFolder('deputy-export-c-');
    await exportCatalog(executor.store.catalog.snapshot(), folder);
    // Sync the baseline: the folder is now what the store was last given.
    assert.deepEqual((await importCatalog({ folder, previous: executor.store.catalog.snapshot(), pwshPath: pwsh, clock: new ManualClock() })).changes, []);

    // In chat, someone edits "fresh" after the export.
    const before = executor.store.catalog.getScript('fresh');
    const chatText = 'param([string]$Who)\n"fresh, edited in chat, $Who"\n';
    await expectOk(await post('/v1/scripts/fresh/versions', { principalId: 'hana', basedOn: before?.currentHash, text: chatText }));

    // In git, someone edits "local-tool" and the plan after the export.
    writeFileSync(join(folder, 'scripts', 'local-tool.ps1'), 'param([string]$Name = "x")\n"local tool, edited in git, $Name"\n');
    const yaml = join(folder, 'catalog.yaml');
    writeFileSync(yaml, readFileSync(yaml, 'utf8').replace("schedule: 0 7 * * 1-5", "schedule: 0 8 * * 1-5"));

    const previous = executor.store.catalog.snapshot();
    const result = await importCatalog({ folder, previous, pwshPath: pwsh, clock: new ManualClock() });
    assert.deepEqual(result.conflicts.map((item) => [item.object, item.id, item.kind]), [['script', 'fresh', 'kept-newer']]);
    assert.match(result.conflicts[0]?.summary ?? '', /deputy export/);
    const fresh = result.snapshot.scripts.find((script) => script.id === 'fresh');
    assert.equal(fresh?.currentHash, sha256(chatText), 'the chat edit is not overwritten');
    assert.deepEqual(
      result.changes.map((change) => [change.object, change.id, change.change]),
      [['script', 'local-tool', 'new-version'], ['plan', 'morning-echo', 'updated']],
      'the folder’s own edits are taken',
    );

    // Both sides change the same script: a conflict, the store's kept.
    writeFileSync(join(folder, 'scripts', 'fresh.ps1'), 'param([string]$Who)\n"fresh, edited in git, $Who"\n');
    const both = await importCatalog({ folder, previous, pwshPath: pwsh, clock: new ManualClock() });
    assert.deepEqual(both.conflicts.map((item) => [item.id, item.kind]), [['fresh', 'both-changed']]);
    assert.equal(both.snapshot.scripts.find((script) => script.id === 'fresh')?.currentHash, sha256(chatText));
  });

  it('actions and plans made or deleted through the API since the last import are kept and reported', async () => {
    const folder = tempFolder('deputy-export-d-');
    await exportCatalog(executor.store.catalog.snapshot(), folder);
    const synced = await importCatalog({ folder, previous: executor.store.catalog.snapshot(), pwshPath: pwsh, clock: new ManualClock() });
    await executor.store.catalog.replace(synced.snapshot);

    await expectOk(await post('/v1/actions', { principalId: 'hana', id: 'added-later', script: 'echo', title: 'Added in chat', runAs: 'pool', allow: { roles: ['administrator'] } }));
    await expectOk(await executor.api('/v1/plans/morning-echo?principal=adam', { method: 'DELETE' }));
    const result = await importCatalog({ folder, previous: executor.store.catalog.snapshot(), pwshPath: pwsh, clock: new ManualClock() });
    assert.deepEqual(result.conflicts.map((item) => [item.object, item.id, item.kind]).sort(), [['action', 'added-later', 'kept-added'], ['plan', 'morning-echo', 'kept-deleted']]);
    assert.ok(result.snapshot.actions.some((action) => action.id === 'added-later'));
    assert.ok(!result.snapshot.plans?.some((plan) => plan.id === 'morning-echo'), 'not re-created from the folder');
  });

  it('deputy export writes the folder from a data folder; deputy import of it reports a conflict with exit code 3', async () => {
    const dataDir = tempFolder('deputy-cli-export-');
    const env = { ...process.env, DEPUTY_DATA_DIR: dataDir, DEPUTY_LOG_LEVEL: 'silent' };
    const io = () => {
      const out: string[] = [];
      const err: string[] = [];
      return { out, err, io: { out: (line: string) => out.push(line), err: (line: string) => err.push(line) } };
    };
    const empty = io();
    assert.equal(await main(['export', join(dataDir, 'nothing')], env, empty.io), 1);
    assert.match(empty.err.join('\n'), /holds no catalog yet/);

    const imported = io();
    assert.equal(await main(['import', source], env, imported.io), 0, imported.err.join('\n'));
    const folder = tempFolder('deputy-cli-folder-');
    const exported = io();
    assert.equal(await main(['export', folder], env, exported.io), 0, exported.err.join('\n'));
    assert.match(exported.out.join('\n'), /Exported 5 script\(s\), 0 query\(ies\), 3 action\(s\) and 1 plan\(s\)/);
    const again = io();
    assert.equal(await main(['import', folder], env, again.io), 0, again.err.join('\n'));
    assert.deepEqual(again.out, ['Catalog unchanged.']);

    // The store moves on (as a chat edit would); the old source folder is now behind it.
    const { FileCatalog } = await import('../../../executor/store/catalog-file.ts');
    const catalog = await FileCatalog.open(join(dataDir, 'catalog.json'));
    const snapshot = catalog.snapshot();
    const echo = snapshot.scripts.find((script) => script.id === 'own-tool');
    assert.ok(echo);
    const edited = `${readFileSync(join(source, 'scripts', 'own-tool.ps1'), 'utf8')}# edited in chat\n`;
    await catalog.replace({
      ...snapshot,
      scripts: snapshot.scripts.map((script) => (script.id === 'own-tool' ? { ...script, status: 'draft', currentHash: sha256(edited), versions: [...script.versions, sha256(edited)] } : script)),
      versions: [...snapshot.versions, { hash: sha256(edited), scriptId: 'own-tool', text: edited, parameters: [], createdAt: '2026-01-01T00:00:00.000Z' }],
    });
    const behind = io();
    assert.equal(await main(['import', source], env, behind.io), 3);
    assert.match(behind.err.join('\n'), /script own-tool .*changed through the API since the last import and newer than the folder; kept/);
  });
});
