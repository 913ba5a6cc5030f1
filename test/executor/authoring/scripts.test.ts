/**
 * Script authoring through the REST API, beyond the rights cells: PowerShell's parser decides
 * what a text is, a stale editor is told the current hash, a clone remembers its origin, an
 * approved hash never changes under a running action, a Draft never runs, and a script in use
 * is not deleted. Real restify, real pwsh, file store.
 */
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import {
  ErrorBodySchema,
  ScriptChangeResponseSchema,
  ScriptPreviewSchema,
  ScriptViewSchema,
  type ScriptStatus,
} from '../../../executor/contract/index.ts';
import { startTestExecutor, type TestExecutor } from '../../helpers/executor.ts';
import { ECHO_TEXT, TOOL_TEXT, sha256, writeAuthoringCatalog } from './catalog.ts';

async function errorOf(response: Response) {
  return ErrorBodySchema.parse(await response.json()).error;
}

describe('script authoring over REST', function () {
  this.timeout(120_000);
  let executor: TestExecutor;
  let folder: string;

  before(async () => {
    folder = writeAuthoringCatalog();
    executor = await startTestExecutor({ catalog: folder, config: { planTickMs: 0, maxScriptBytes: 4096, maxScriptLines: 100, maxScriptVersions: 4 } });
  });
  after(async () => {
    await executor.dispose();
    rmSync(folder, { recursive: true, force: true });
  });

  const post = (path: string, json: unknown) => executor.api(path, { method: 'POST', json });
  const create = (principalId: string, id: string, text: string, tenant = 'hamburg') => post('/v1/scripts', { principalId, tenant, id, name: id, text });
  const view = async (id: string, principal = 'hana') => ScriptViewSchema.parse(await (await executor.api(`/v1/scripts/${id}?principal=${principal}`)).json());
  const setStatus = async (id: string, to: ScriptStatus, principalId = 'hana') => {
    const script = await view(id, principalId);
    const response = await post(`/v1/scripts/${id}/status`, { principalId, to, hash: script.currentHash });
    assert.equal(response.status, 200, await response.text());
  };

  it('refuses a text PowerShell cannot parse, with the parser’s message and line, and creates nothing', async () => {
    const response = await create('hana', 'broken', 'param([string]$Name)\nif ($Name) {\n  "open"\n');
    assert.equal(response.status, 400);
    const error = await errorOf(response);
    assert.equal(error.code, 'DEPUTY_E_VALIDATION');
    assert.match(error.message, /^PowerShell cannot parse the script: line \d+: .*(brace|\})/);
    assert.equal(executor.store.catalog.getScript('broken'), undefined);
    const [audit] = await executor.store.audit.read({ limit: 1 });
    assert.equal(audit?.type, 'script.create');
    assert.equal(audit?.outcome, 'denied');
  });

  it('bounds the text: size, line count, and plain text only', async () => {
    const tooBig = await create('hana', 'too-big', `"${'x'.repeat(5000)}"\n`);
    assert.match((await errorOf(tooBig)).message, /larger than 4 KiB/);
    const tooLong = await create('hana', 'too-long', '"line"\n'.repeat(101));
    assert.match((await errorOf(tooLong)).message, /more than 100 lines/);
    const binary = await create('hana', 'binary', 'MZ\u0000\u0001');
    assert.match((await errorOf(binary)).message, /not a text file/);
    for (const id of ['too-big', 'too-long', 'binary']) assert.equal(executor.store.catalog.getScript(id), undefined);
  });

  it('keeps at most the configured number of versions of one script; the next is refused with the way on', async () => {
    let current = ScriptChangeResponseSchema.parse(await (await create('hana', 'busy', '"v1"\n')).json()).script.currentHash;
    for (const text of ['"v2"\n', '"v3"\n', '"v4"\n']) {
      const saved = await post('/v1/scripts/busy/versions', { principalId: 'hana', basedOn: current, text });
      assert.equal(saved.status, 201, await saved.clone().text());
      current = ScriptChangeResponseSchema.parse(await saved.json()).script.currentHash;
    }
    const fifth = await post('/v1/scripts/busy/versions', { principalId: 'hana', basedOn: current, text: '"v5"\n' });
    assert.equal(fifth.status, 409);
    assert.match((await errorOf(fifth)).message, /4 versions.*Clone it/);
    assert.equal(executor.store.catalog.getScript('busy')?.versions.length, 4);
    const [audit] = await executor.store.audit.read({ limit: 1 });
    assert.equal(audit?.outcome, 'denied');
  });

  it('a new version names the hash it started from; a stale one is a 409 naming the current hash', async () => {
    const created = ScriptChangeResponseSchema.parse(await (await create('adam', 'notes', 'param([string]$Topic)\n"notes on $Topic"\n')).json()).script;
    const first = await post('/v1/scripts/notes/versions', { principalId: 'adam', basedOn: created.currentHash, text: 'param([string]$Topic)\n"more notes on $Topic"\n' });
    assert.equal(first.status, 201, await first.clone().text());
    const current = ScriptChangeResponseSchema.parse(await first.json()).script.currentHash;
    const stale = await post('/v1/scripts/notes/versions', { principalId: 'uma', basedOn: created.currentHash, text: 'param([string]$Topic)\n"other notes"\n' });
    assert.equal(stale.status, 409);
    const error = await errorOf(stale);
    assert.equal(error.code, 'DEPUTY_E_CONFLICT');
    assert.ok(error.message.includes(current), `the message names the current hash: ${error.message}`);
    assert.match(error.fields?.basedOn ?? '', new RegExp(current));
    assert.equal(executor.store.catalog.getScript('notes')?.currentHash, current, 'nothing changed');
    const same = await post('/v1/scripts/notes/versions', { principalId: 'adam', basedOn: current, text: 'param([string]$Topic)\n"more notes on $Topic"\n' });
    assert.match((await errorOf(same)).message, /current version already/);
  });

  it('a version of an approved script is a Draft; actions keep running the approved hash until the new one is approved', async () => {
    const approved = executor.store.catalog.getScript('echo');
    assert.equal(approved?.status, 'approved');
    const runEcho = async () => {
      const response = await post('/v1/runs', { actionId: 'echo', principalId: 'uma', inputs: { Message: 'uma-laptop' } });
      assert.equal(response.status, 202, await response.clone().text());
      const { id } = (await response.json()) as { id: string };
      return executor.waitForRun(id);
    };
    assert.deepEqual((await runEcho()).summary?.lines, ['echo: uma-laptop']);
    const edited = await post('/v1/scripts/echo/versions', { principalId: 'hugo', basedOn: approved?.currentHash, text: ECHO_TEXT.replace('echo:', 'new echo:') });
    assert.equal(edited.status, 201, await edited.clone().text());
    const stored = executor.store.catalog.getScript('echo');
    assert.equal(stored?.status, 'draft');
    assert.equal(stored?.approvedHash, approved?.currentHash, 'the approved hash is kept');
    const run = await runEcho();
    assert.deepEqual(run.summary?.lines, ['echo: uma-laptop'], 'the action still runs the approved text');
    assert.equal(run.scriptHash, approved?.currentHash);
    await setStatus('echo', 'testing');
    await setStatus('echo', 'approved');
    assert.deepEqual((await runEcho()).summary?.lines, ['new echo: uma-laptop']);
  });

  it('a Draft never runs, not even for the administrators who may create actions over it', async () => {
    assert.equal((await create('hana', 'drafty', 'param([string]$Who)\n"draft $Who"\n')).status, 201);
    const action = await post('/v1/actions', { principalId: 'hana', id: 'drafty-action', script: 'drafty', title: 'Drafty', runAs: 'pool', version: sha256('param([string]$Who)\n"draft $Who"\n'), allow: { roles: ['company-admin', 'administrator'] } });
    assert.equal(action.status, 201, await action.clone().text());
    for (const principalId of ['hana', 'adam']) {
      const run = await post('/v1/runs', { actionId: 'drafty-action', principalId, inputs: { Who: 'x' } });
      assert.equal(run.status, 403, principalId);
      assert.equal((await errorOf(run)).code, 'DEPUTY_E_FORBIDDEN');
    }
  });

  it('a clone remembers its origin, shows when the origin has a newer approved version, and may take that text', async () => {
    const central = executor.store.catalog.getScript('central-tool');
    const response = await post('/v1/scripts/central-tool/clone', { principalId: 'adam', tenant: 'hamburg', id: 'hamburg-tool', name: 'Hamburg tool' });
    assert.equal(response.status, 201, await response.clone().text());
    const clone = ScriptChangeResponseSchema.parse(await response.json()).script;
    assert.deepEqual(clone.clonedFrom, { id: 'central-tool', hash: central?.currentHash, name: central?.name });
    assert.equal(clone.status, 'draft');
    assert.equal(clone.tenant, 'hamburg');

    // The central team approves a newer version; the site's clone now says so.
    const newer = `${TOOL_TEXT('contoso')}# improved centrally\n`;
    const edited = await post('/v1/scripts/central-tool/versions', { principalId: 'cyra', basedOn: central?.currentHash, text: newer });
    assert.equal(edited.status, 201, await edited.clone().text());
    assert.equal((await view('hamburg-tool', 'adam')).clonedFrom?.newerApprovedHash, undefined, 'a Draft at the origin is not news');
    await setStatus('central-tool', 'testing', 'cyra');
    await setStatus('central-tool', 'approved', 'cyra');
    assert.equal((await view('hamburg-tool', 'adam')).clonedFrom?.newerApprovedHash, sha256(newer));
    assert.equal((await view('hamburg-tool', 'rolf')).clonedFrom?.newerApprovedHash, sha256(newer), 'read-only sees it too');

    // The site takes it over as a new Draft version of its own copy (the same text is allowed for a clone).
    const update = await post('/v1/scripts/hamburg-tool/versions', { principalId: 'adam', basedOn: clone.currentHash, text: newer });
    assert.equal(update.status, 201, await update.clone().text());
    const updated = await view('hamburg-tool', 'adam');
    assert.equal(updated.currentHash, sha256(newer));
    assert.equal(updated.clonedFrom?.newerApprovedHash, undefined, 'nothing newer any more');

    // A script that is not a clone may not take another script's text: clone it instead.
    const copy = await create('adam', 'copycat', newer);
    assert.equal(copy.status, 409);
    assert.match((await errorOf(copy)).message, /already the script .*central-tool.*clone/);
  });

  it('a preview parses an upload, offers a new script or a new version with the diff, and stages it for its uploader only', async () => {
    const text = 'param(\n  [Parameter(Mandatory)][string]$Name,\n  [ValidateSet("a","b")][string]$Mode = "a"\n)\n"own tool $Name $Mode"\n';
    const response = await post('/v1/scripts/preview', { principalId: 'adam', fileName: 'own-tool.ps1', text });
    assert.equal(response.status, 200, await response.clone().text());
    const preview = ScriptPreviewSchema.parse(await response.json());
    assert.equal(preview.upload, sha256(text));
    assert.deepEqual(preview.parameters.map((field) => [field.name, field.kind, field.required]), [['Name', 'text', true], ['Mode', 'choice', false]]);
    assert.equal(preview.newScript.id, 'own-tool-hamburg', 'the file name is taken, so the id is made free');
    assert.deepEqual(preview.newScript.tenants, ['hamburg', 'hamburg-lab'], 'where adam may create: his tenant first, then below');
    assert.equal(preview.newVersionOf?.scriptId, 'own-tool');
    assert.ok(preview.newVersionOf?.diff.lines.some((line) => line.startsWith('+') && line.includes('ValidateSet')), 'the diff shows the change');
    assert.equal(preview.newVersionOf?.refusal, executor.store.catalog.getScript('own-tool')?.status === 'draft' ? undefined : 'Your role (administrator) may not edit an Approved script.');

    const created = await post('/v1/scripts', { principalId: 'adam', tenant: 'hamburg', id: preview.newScript.id, name: 'Own tool (new)', upload: preview.upload });
    assert.equal(created.status, 201, await created.clone().text());
    assert.equal(executor.store.catalog.getScript(preview.newScript.id)?.currentHash, sha256(text));

    const other = await post('/v1/scripts', { principalId: 'hana', tenant: 'hamburg', id: 'not-hers', name: 'x', upload: preview.upload });
    assert.equal(other.status, 410, 'an upload is its uploader’s only');
    assert.equal((await errorOf(other)).code, 'DEPUTY_E_EXPIRED');

    const broken = ScriptPreviewSchema.parse(await (await post('/v1/scripts/preview', { principalId: 'adam', fileName: 'Broken.ps1', text: 'function x {\n' })).json());
    assert.equal(broken.parseError?.line, 1);
    assert.match(broken.parseError?.message ?? '', /brace|\}/);

    const readOnly = ScriptPreviewSchema.parse(await (await post('/v1/scripts/preview', { principalId: 'rolf', fileName: 'Mine.ps1', text: '"mine"\n' })).json());
    assert.deepEqual(readOnly.newScript.tenants, []);
    assert.equal(readOnly.newScript.refusal, 'Your role (read-only) may not create a Draft script.');
  });

  it('refuses to delete a script an action or plan uses, naming them; deletes it once free, keeping a clone’s shared text', async () => {
    const response = await executor.api('/v1/scripts/central-tool?principal=cyra', { method: 'DELETE' });
    assert.equal(response.status, 409);
    const error = await errorOf(response);
    assert.match(error.message, /central-echo/);
    assert.match(error.message, /central-nightly/);
    assert.equal((await executor.api('/v1/plans/central-nightly?principal=cyra', { method: 'DELETE' })).status, 200);
    assert.equal((await executor.api('/v1/actions/central-echo?principal=cyra', { method: 'DELETE' })).status, 200);
    const sharedHash = executor.store.catalog.getScript('hamburg-tool')?.clonedFrom?.hash as string;
    const deleted = await executor.api('/v1/scripts/central-tool?principal=cyra', { method: 'DELETE' });
    assert.equal(deleted.status, 200, await deleted.clone().text());
    assert.equal(executor.store.catalog.getScript('central-tool'), undefined);
    assert.ok(executor.store.catalog.getVersion(sharedHash), 'the clone still lists the text it was copied from');
    const [audit] = await executor.store.audit.read({ limit: 1 });
    assert.equal(audit?.type, 'script.delete');
    assert.equal(audit?.outcome, 'allowed');
    assert.deepEqual((await view('hamburg-tool', 'adam')).clonedFrom, { id: 'central-tool', hash: sharedHash }, 'the clone still says where it came from');
  });
});
