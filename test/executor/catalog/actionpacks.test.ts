/** `deputy import` on a tree laid out like ScriptRunner's ActionPacks (real pwsh parses each script). */
import assert from 'node:assert/strict';
import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { importScriptFolder } from '../../../executor/catalog/import.ts';
import { locatePwsh, PROJECT_ROOT } from '../../../executor/pwsh/locate.ts';
import type { CatalogSnapshot } from '../../../executor/store/port.ts';
import { ManualClock } from '../../../lib/clock.ts';

const pwsh = locatePwsh(process.env, PROJECT_ROOT)?.path ?? assert.fail('pwsh not found');
const clock = new ManualClock(Date.UTC(2026, 2, 1));
const CORPUS = join(PROJECT_ROOT, 'test', 'fixtures', 'powershell-corpus');
const previous: CatalogSnapshot = { tenants: [{ id: 'acme', name: 'Acme' }], principals: [], scripts: [], versions: [], actions: [] };

describe('importing an ActionPacks-style tree', function () {
  this.timeout(120_000);
  const folders: string[] = [];
  after(() => folders.forEach((folder) => rmSync(folder, { recursive: true, force: true })));

  it('imports every script as Draft, _QUERY_ scripts as queries too, leaves _LIB_ out and says what forms cannot express', async () => {
    const { snapshot, report } = await importScriptFolder({ folder: CORPUS, tenant: 'acme', previous, pwshPath: pwsh, clock });
    const ids = snapshot.scripts.map((script) => script.id);
    assert.ok(ids.includes('add-ad-users-to-groups') && ids.includes('set-mailbox-auto-reply') && ids.includes('get-disk-report-html'));
    assert.ok(snapshot.scripts.every((script) => script.status === 'draft' && script.tenant === 'acme'));
    assert.ok(!ids.includes('ad-library'));
    assert.deepEqual(report.ignored.map((item) => item.file), [join('ActiveDirectory', '_LIB_', 'ADLibrary.ps1')]);
    assert.match(report.ignored[0]?.reason ?? '', /_LIB_/);
    assert.deepEqual(report.queries.sort(), ['qry-get-ad-users', 'qry-get-mailboxes']);
    assert.deepEqual(snapshot.queries?.map((query) => [query.id, query.scriptId, query.runAs.kind, query.imported]).sort(), [
      ['qry-get-ad-users', 'qry-get-ad-users', 'pool', true],
      ['qry-get-mailboxes', 'qry-get-mailboxes', 'pool', true],
    ]);
    assert.deepEqual(report.skipped, []);
    assert.equal(report.imported.length, ids.length);
    const notes = Object.fromEntries(report.unmapped.map((entry) => [entry.script, entry.notes]));
    assert.deepEqual(notes['add-ad-users-to-groups'], ['needs the PowerShell module(s) ActiveDirectory where it runs (#Requires)']);
    // Parameter sets and ScriptRunner's help came through.
    const version = snapshot.versions.find((candidate) => candidate.scriptId === 'add-ad-users-to-groups');
    assert.deepEqual(version?.parameterSets?.map((set) => set.name), ['Local or Remote DC', 'Remote Jumphost']);
    const ouPath = version?.parameters.find((field) => field.name === 'OUPath');
    assert.equal(ouPath?.label, 'Specifies the AD path below which the users are searched');
    assert.deepEqual(ouPath?.localized, { de: { label: 'Active Directory Pfad, unter dem die Benutzer gesucht werden' } });
    assert.equal(snapshot.versions.find((candidate) => candidate.scriptId === 'qry-get-ad-users')?.usesSrxEnv, true);

    const again = await importScriptFolder({ folder: CORPUS, tenant: 'acme', previous: snapshot, pwshPath: '/nonexistent/pwsh', clock });
    assert.deepEqual(again.changes, []);
  });

  it('skips what it cannot import and imports the rest; a name two folders share gets its folder', async () => {
    const tree = mkdtempSync(join(tmpdir(), 'deputy-tree-'));
    folders.push(tree);
    cpSync(join(CORPUS, 'Templates'), join(tree, 'Templates'), { recursive: true });
    mkdirSync(join(tree, 'Broken'));
    writeFileSync(join(tree, 'Broken', 'Bad-Syntax.ps1'), 'param(\n[int]$x');
    writeFileSync(join(tree, 'Broken', 'Latin1.ps1'), Buffer.from([0x27, 0xe4, 0x27, 0x0a]));
    mkdirSync(join(tree, 'Reports'));
    writeFileSync(join(tree, 'Reports', 'Defaults.ps1'), "'a report with a taken name'\n");
    const { snapshot, report } = await importScriptFolder({ folder: tree, tenant: 'acme', previous, pwshPath: pwsh, clock });
    assert.deepEqual(
      report.skipped.map((item) => [item.file, item.reason.replace(/line \d+: .*/, 'line …')]),
      [
        [join('Broken', 'Bad-Syntax.ps1'), 'line …'],
        [join('Broken', 'Latin1.ps1'), 'file is not valid UTF-8'],
      ],
    );
    const ids = snapshot.scripts.map((script) => script.id);
    // Folders are read in name order: Reports/Defaults.ps1 comes first and keeps the plain id.
    assert.equal(snapshot.scripts.find((script) => script.id === 'defaults')?.file, join(tree, 'Reports', 'Defaults.ps1'));
    assert.equal(snapshot.scripts.find((script) => script.id === 'templates-defaults')?.file, join(tree, 'Templates', 'Defaults.ps1'));
    assert.ok(ids.includes('param-block-help'));
  });

  it('a flat folder stays one unit: a problem stops it', async () => {
    const flat = mkdtempSync(join(tmpdir(), 'deputy-flat-'));
    folders.push(flat);
    writeFileSync(join(flat, 'Good.ps1'), "'good'\n");
    writeFileSync(join(flat, 'Bad.ps1'), 'param(\n[int]$x');
    await assert.rejects(importScriptFolder({ folder: flat, tenant: 'acme', previous, pwshPath: pwsh, clock }), /Bad\.ps1 line \d+/);
  });
});
