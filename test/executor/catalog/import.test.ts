import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FIELD_KINDS, isDeputyError } from '../../../executor/contract/index.ts';
import { importCatalog, importScriptFolder, type ImportResult } from '../../../executor/catalog/import.ts';
import { sha256 } from '../../../executor/catalog/scripts.ts';
import { locatePwsh, PROJECT_ROOT } from '../../../executor/pwsh/locate.ts';
import type { CatalogSnapshot } from '../../../executor/store/port.ts';
import { formOf } from '../../../executor/runs/views.ts';
import { ManualClock } from '../../../lib/clock.ts';
import { FIXTURE_CATALOG, startTestExecutor } from '../../helpers/executor.ts';

const pwsh = locatePwsh(process.env, PROJECT_ROOT)?.path ?? assert.fail('pwsh not found');
/** Imports that must not need pwsh get this path: starting it would fail the test. */
const NO_PWSH = '/nonexistent/pwsh';
const clock = new ManualClock(Date.UTC(2026, 2, 1));
const empty = (): CatalogSnapshot => ({ tenants: [], principals: [], scripts: [], versions: [], actions: [] });

const MINI_YAML = `tenants:
  - { id: acme, name: Acme }
  - { id: north, name: Acme North, parent: acme }
  - { id: south, name: Acme South, parent: acme }
principals:
  - id: ann
    name: Ann
    tenant: north
    roles: [administrator]
    identities: { webchat: ann, slack: { teamId: T1, userId: U1 } }
  - { id: bob, name: Bob, tenant: acme, roles: [cyber-admin], identities: { webchat: bob } }
  - { id: cid, name: Cid, tenant: south, roles: [read-only] }
scripts:
  - { id: greet, file: scripts/Greet.ps1, tenant: acme, status: approved }
  - { id: other, file: scripts/Other.ps1, tenant: acme }
  - { id: third, file: scripts/Third.ps1, tenant: acme, status: approved }
actions:
  - id: greet
    script: greet
    title: Greet someone
    runAs: pool
    fixed: { greeting: Hello }
    ask: [Name]
    allow: { roles: [administrator], principals: [ann] }
    notify: [bob]
    timeoutSeconds: 30
  - id: other
    script: other
    title: Other
    tenant: north
    runAs: process:deputy-run
    allow: { roles: [administrator] }
`;
const GREET = `<#\n.SYNOPSIS\nSays hello.\n#>\nparam([Parameter(Mandatory)][string]$Name, [string]$Greeting = 'Hi', [securestring]$Token)\n"$Greeting, $Name"\n`;
const OTHER = `param([ValidateRange(1, 9)][int]$N = 1)\n$N\n`;
const THIRD = `param([switch]$Loud)\n'third'\n`;

function writeCatalog(folder: string, yaml: string, scripts: Record<string, string> = { 'Greet.ps1': GREET, 'Other.ps1': OTHER, 'Third.ps1': THIRD }): void {
  mkdirSync(join(folder, 'scripts'), { recursive: true });
  writeFileSync(join(folder, 'catalog.yaml'), yaml);
  for (const [name, text] of Object.entries(scripts)) writeFileSync(join(folder, 'scripts', name), text);
}

/** The 1-based line of the first line of `yaml` containing `needle`. */
function lineOf(yaml: string, needle: string, after = ''): number {
  const lines = yaml.split('\n');
  const start = after ? lines.findIndex((line) => line.includes(after)) : 0;
  const index = lines.findIndex((line, i) => i >= start && line.includes(needle));
  assert.ok(index >= 0, `"${needle}" not in the YAML`);
  return index + 1;
}

describe('importCatalog', function () {
  const folders: string[] = [];
  const tempFolder = () => {
    const folder = mkdtempSync(join(tmpdir(), 'deputy-catalog-'));
    folders.push(folder);
    return folder;
  };
  after(() => folders.forEach((folder) => rmSync(folder, { recursive: true, force: true })));

  describe('the example catalog', () => {
    let first: ImportResult;
    before(async () => {
      first = await importCatalog({ folder: join(PROJECT_ROOT, 'examples', 'catalog'), previous: empty(), pwshPath: pwsh, clock });
    });

    it('imports tenants, principals, scripts, versions and actions', () => {
      const { snapshot, changes } = first;
      assert.deepEqual(snapshot.tenants.map((t) => [t.id, t.parent]), [['contoso', undefined], ['hamburg', 'contoso'], ['munich', 'contoso']]);
      assert.deepEqual(snapshot.principals.map((p) => [p.id, p.tenant, p.roles.join(), p.identities.webchat]), [
        ['alex', 'hamburg', 'administrator', 'alex'],
        ['cyra', 'contoso', 'cyber-admin', 'cyra'],
        ['carla', 'contoso', 'company-admin', 'carla'],
        ['rita', 'contoso', 'read-only', 'rita'],
        ['uma', 'hamburg', 'user', 'uma'],
        ['max', 'munich', 'administrator', 'max'],
      ]);
      assert.ok(snapshot.principals.every((p) => p.identities.slack && p.identities.teams));
      assert.equal(snapshot.scripts.length, 13);
      assert.equal(snapshot.versions.length, 13);
      assert.equal(snapshot.actions.length, 13);
      assert.equal(snapshot.queries?.length, 3);
      assert.equal(changes.length, 3 + 6 + 13 + 13 + 3);
      assert.ok(changes.every((change) => change.change === 'added'));
    });

    it('hashes each script text and records its parsed form', () => {
      for (const script of first.snapshot.scripts) {
        const version = first.snapshot.versions.find((candidate) => candidate.hash === script.currentHash);
        assert.ok(version, script.id);
        assert.equal(version.hash, sha256(version.text));
        assert.equal(version.scriptId, script.id);
        assert.ok(version.synopsis, `${script.id} has a synopsis`);
        assert.equal(version.createdAt, '2026-03-01T00:00:00.000Z');
      }
      assert.deepEqual(first.snapshot.scripts.filter((s) => s.status !== 'approved').map((s) => [s.id, s.status, s.approvedHash]), [['port-check', 'testing', undefined]]);
    });

    it('covers every form kind and validation attribute across the catalog', () => {
      const fields = first.snapshot.versions.flatMap((version) => version.parameters);
      assert.deepEqual(new Set(fields.map((f) => f.kind)), new Set(FIELD_KINDS));
      assert.ok(fields.some((f) => f.pattern), 'pattern');
      assert.ok(fields.some((f) => f.minLength !== undefined && f.maxLength !== undefined), 'length');
      assert.ok(fields.some((f) => f.kind === 'number' && f.min !== undefined && f.max !== undefined), 'range');
      assert.ok(fields.some((f) => f.kind === 'multi' && f.choices), 'multi with choices');
      assert.ok(fields.filter((f) => f.kind === 'secret').every((f) => f.default === undefined));
    });

    it('builds actions with run-as modes, fixed values, the {runDataDir} placeholder, four-eyes and notify', () => {
      const action = (id: string) => first.snapshot.actions.find((candidate) => candidate.id === id) ?? assert.fail(id);
      assert.deepEqual(action('offboard-employee').fixed, { Office: 'hamburg', DirectoryPath: '{runDataDir}/demo-directory.json' });
      assert.equal(action('offboard-employee').approval, 'four-eyes');
      assert.deepEqual(action('offboard-employee').notify, ['cyra']);
      assert.deepEqual(action('service-status').runAs, { kind: 'service' });
      assert.deepEqual(action('disk-usage').runAs, { kind: 'pool' });
      assert.equal(action('disk-usage').tenant, 'contoso');
      assert.equal(action('reset-password-munich').tenant, 'munich');
      assert.equal(action('set-ooo').ownWorkloadParameter, 'UserPrincipalName');
      assert.equal(action('set-ooo').version, 'latest-approved');
      assert.deepEqual(action('assign-licence').presets, { Sku: ['M365_E3'] });
    });

    it('shows an action its own hint for a parameter of a shared script, in every language, and the script\'s elsewhere', () => {
      const hintOf = (actionId: string) => {
        const action = first.snapshot.actions.find((candidate) => candidate.id === actionId) ?? assert.fail(actionId);
        const script = first.snapshot.scripts.find((candidate) => candidate.id === action.scriptId) ?? assert.fail(action.scriptId);
        const version = first.snapshot.versions.find((candidate) => candidate.hash === script.currentHash) ?? assert.fail(script.currentHash);
        const scriptField = version.parameters.find((field) => field.name === 'UserPrincipalName');
        return { scriptHint: scriptField?.hint, field: formOf(action, version).fields.find((field) => field.name === 'UserPrincipalName') };
      };
      const munich = hintOf('reset-password-munich');
      assert.match(munich.field?.hint ?? '', /Munich account, for example sophie\.maier@contoso\.example/);
      assert.doesNotMatch(munich.field?.hint ?? '', /Hamburg|lena/);
      assert.ok(Object.values(munich.field?.localized ?? {}).every((text) => text.hint === undefined), 'no translated hint of the script survives');
      const hamburg = hintOf('reset-password-hamburg');
      assert.equal(hamburg.field?.hint, hamburg.scriptHint);
    });

    it('imports the same folder again with no changes, an identical snapshot, and no pwsh', async () => {
      const again = await importCatalog({ folder: join(PROJECT_ROOT, 'examples', 'catalog'), previous: first.snapshot, pwshPath: NO_PWSH, clock: new ManualClock(Date.UTC(2027, 0, 1)) });
      assert.deepEqual(again.changes, []);
      assert.deepEqual(again.snapshot, first.snapshot);
    });
  });

  describe('versions and status', () => {
    it('makes a new version on a change of text: stated status honoured, else Draft, approvedHash kept', async () => {
      const folder = tempFolder();
      writeCatalog(folder, MINI_YAML);
      const first = await importCatalog({ folder, previous: empty(), pwshPath: pwsh, clock });
      const byId = (snapshot: CatalogSnapshot, id: string) => snapshot.scripts.find((s) => s.id === id) ?? assert.fail(id);
      assert.deepEqual(first.snapshot.scripts.map((s) => [s.id, s.status]), [['greet', 'approved'], ['other', 'draft'], ['third', 'approved']]);
      assert.equal(byId(first.snapshot, 'greet').approvedHash, sha256(GREET));
      assert.equal(byId(first.snapshot, 'greet').description, 'Says hello.');
      // Parameter names keep the script's spelling; run-as accounts are parsed.
      const greetAction = first.snapshot.actions.find((a) => a.id === 'greet');
      assert.deepEqual([greetAction?.fixed, greetAction?.ask], [{ Greeting: 'Hello' }, ['Name']]);
      assert.deepEqual(first.snapshot.actions.find((a) => a.id === 'other')?.runAs, { kind: 'process', account: 'deputy-run' });

      // Meanwhile, in chat: an admin approves "other" and sends "third" back to Testing.
      const previous = structuredClone(first.snapshot);
      Object.assign(byId(previous, 'other'), { status: 'approved', approvedHash: sha256(OTHER) });
      Object.assign(byId(previous, 'third'), { status: 'testing' });
    delete byId(previous, 'third').approvedHash;
      const frozen = structuredClone(previous);

      const greet2 = GREET.replace('Hi', 'Hey');
      const other2 = OTHER.replace('$N\n', '$N * 2\n');
      writeCatalog(folder, MINI_YAML, { 'Greet.ps1': greet2, 'Other.ps1': other2, 'Third.ps1': THIRD });
      const second = await importCatalog({ folder, previous, pwshPath: pwsh, clock });
      assert.deepEqual(previous, frozen, 'the import does not touch its input');

      const greet = byId(second.snapshot, 'greet');
      assert.deepEqual([greet.status, greet.currentHash, greet.approvedHash, greet.versions], ['approved', sha256(greet2), sha256(greet2), [sha256(GREET), sha256(greet2)]]);
      const other = byId(second.snapshot, 'other');
      assert.deepEqual([other.status, other.currentHash, other.approvedHash, other.versions], ['draft', sha256(other2), sha256(OTHER), [sha256(OTHER), sha256(other2)]]);
      assert.equal(byId(second.snapshot, 'third').status, 'testing', 'an unchanged text keeps the status set in chat');
      assert.equal(second.snapshot.versions.length, 5);
      assert.equal(second.snapshot.versions.find((v) => v.hash === sha256(greet2))?.parameters.find((p) => p.name === 'Greeting')?.default, 'Hey');
      assert.deepEqual(
        second.changes.map((c) => [c.object, c.id, c.change, c.status, c.previousHash]),
        [
          ['script', 'greet', 'new-version', 'approved', sha256(GREET)],
          ['script', 'other', 'new-version', 'draft', sha256(OTHER)],
        ],
      );

      // Catalog changes beside scripts: an action edited, one removed, a principal added.
      const edited = MINI_YAML.replace('title: Greet someone', 'title: Greet a colleague')
        .replace(/ {2}- id: other\n {4}script: other[\s\S]*$/, '')
        .replace('principals:\n', 'principals:\n  - { id: dan, name: Dan, tenant: south, roles: [read-only] }\n');
      writeCatalog(folder, edited, { 'Greet.ps1': greet2, 'Other.ps1': other2, 'Third.ps1': THIRD });
      const third = await importCatalog({ folder, previous: second.snapshot, pwshPath: NO_PWSH, clock });
      assert.deepEqual(third.changes.map((c) => [c.object, c.id, c.change]), [['principal', 'dan', 'added'], ['action', 'greet', 'updated'], ['action', 'other', 'removed']]);
      assert.equal(third.snapshot.scripts.length, 3, 'scripts stay, with their history');
    });
  });

  describe('an invalid catalog', () => {
    let base: CatalogSnapshot;
    before(async () => {
      const folder = tempFolder();
      writeCatalog(folder, MINI_YAML);
      base = (await importCatalog({ folder, previous: empty(), pwshPath: pwsh, clock })).snapshot;
    });

    /** Imports a variant of the mini catalog and returns its problem lines; versions are known, so no pwsh runs. */
    async function problems(yaml: string, scripts?: Record<string, string>, pwshPath = NO_PWSH): Promise<string[]> {
      const folder = tempFolder();
      writeCatalog(folder, yaml, scripts);
      const frozen = structuredClone(base);
      try {
        await importCatalog({ folder, previous: base, pwshPath, clock });
      } catch (error) {
        assert.ok(isDeputyError(error), String(error));
        assert.equal(error.code, 'DEPUTY_E_CATALOG_INVALID');
        assert.deepEqual(base, frozen);
        return error.message.split('\n');
      }
      return assert.fail('the import was accepted');
    }

    const cases: { name: string; edit: (yaml: string) => string; expect: (yaml: string) => string; also?: (yaml: string) => string[] }[] = [
      {
        name: 'unknown script',
        edit: (y) => y.replace('script: greet', 'script: set-oof'),
        expect: (y) => `catalog.yaml:${lineOf(y, 'script: set-oof')} actions[0].script: unknown script "set-oof"`,
      },
      {
        name: 'principal in an unknown tenant',
        edit: (y) => y.replace('tenant: north\n    roles', 'tenant: nowhere\n    roles'),
        expect: (y) => `catalog.yaml:${lineOf(y, 'tenant: nowhere')} principals[0].tenant: unknown tenant "nowhere"`,
      },
      {
        name: 'unknown parent tenant',
        edit: (y) => y.replace('{ id: south, name: Acme South, parent: acme }', '{ id: south, name: Acme South, parent: atlantis }'),
        expect: (y) => `catalog.yaml:${lineOf(y, 'atlantis')} tenants[2].parent: unknown tenant "atlantis"`,
      },
      {
        name: 'tenant cycle',
        edit: (y) => y.replace('{ id: acme, name: Acme }', '{ id: acme, name: Acme, parent: south }'),
        expect: (y) => `catalog.yaml:${lineOf(y, 'id: acme,')} tenants[0].parent: tenants form a cycle: acme → south → acme`,
        also: (y) => [`catalog.yaml:${lineOf(y, 'id: south,')} tenants[2].parent: tenants form a cycle: south → acme → south`],
      },
      {
        name: 'unknown principal in allow',
        edit: (y) => y.replace('principals: [ann]', 'principals: [ann, zed]'),
        expect: (y) => `catalog.yaml:${lineOf(y, 'principals: [ann, zed]')} actions[0].allow.principals[1]: unknown principal "zed"`,
      },
      {
        name: 'unknown principal in notify',
        edit: (y) => y.replace('notify: [bob]', 'notify: [bobby]'),
        expect: (y) => `catalog.yaml:${lineOf(y, 'notify: [bobby]')} actions[0].notify[0]: unknown principal "bobby"`,
      },
      {
        name: 'fixed value for a parameter the script lacks',
        edit: (y) => y.replace('fixed: { greeting: Hello }', 'fixed: { greeting: Hello, Salutation: Dr }'),
        expect: (y) => `catalog.yaml:${lineOf(y, 'Salutation')} actions[0].fixed.Salutation: script "greet" has no parameter "Salutation"`,
      },
      {
        name: 'preset for a parameter the script lacks',
        edit: (y) => y.replace('fixed: { greeting: Hello }', 'fixed: { greeting: Hello }\n    presets: { Colour: red }'),
        expect: (y) => `catalog.yaml:${lineOf(y, 'Colour')} actions[0].presets.Colour: script "greet" has no parameter "Colour"`,
      },
      {
        name: 'hint for a parameter the script lacks',
        edit: (y) => y.replace('fixed: { greeting: Hello }', "fixed: { greeting: Hello }\n    hints: { Nickname: 'The name friends use.' }"),
        expect: (y) => `catalog.yaml:${lineOf(y, 'Nickname')} actions[0].hints.Nickname: script "greet" has no parameter "Nickname"`,
      },
      {
        name: 'asked parameter the script lacks',
        edit: (y) => y.replace('ask: [Name]', 'ask: [Name, Age]'),
        expect: (y) => `catalog.yaml:${lineOf(y, 'ask: [Name, Age]')} actions[0].ask[1]: script "greet" has no parameter "Age"`,
      },
      {
        name: 'mandatory parameter neither asked nor fixed',
        edit: (y) => y.replace('ask: [Name]', 'ask: [Token]'),
        expect: (y) => `catalog.yaml:${lineOf(y, 'ask: [Token]')} actions[0].ask: mandatory parameter(s) neither asked nor fixed: Name`,
      },
      {
        name: 'a secret written into the catalog',
        edit: (y) => y.replace('fixed: { greeting: Hello }', 'fixed: { greeting: Hello, Token: hunter2 }'),
        expect: (y) => `catalog.yaml:${lineOf(y, 'hunter2')} actions[0].fixed.Token: a secret parameter cannot have a value in catalog.yaml`,
      },
      {
        name: 'a fixed value the field refuses',
        edit: (y) => y.replace('runAs: process:deputy-run', 'runAs: process:deputy-run\n    fixed: { N: 12 }'),
        expect: (y) => `catalog.yaml:${lineOf(y, 'N: 12')} actions[1].fixed.N: N must be between 1 and 9.`,
      },
      {
        name: 'missing script file',
        edit: (y) => y.replace('scripts/Other.ps1', 'scripts/Gone.ps1'),
        expect: (y) => `catalog.yaml:${lineOf(y, 'Gone.ps1')} scripts[1].file: scripts/Gone.ps1: file not found`,
      },
      {
        name: 'script file outside the catalog folder',
        edit: (y) => y.replace('scripts/Other.ps1', '../../etc/passwd'),
        expect: (y) => `catalog.yaml:${lineOf(y, 'passwd')} scripts[1].file: "../../etc/passwd" must be a path inside the catalog folder`,
      },
      {
        name: 'duplicate id',
        edit: (y) => y.replace('- { id: cid, name: Cid', '- { id: bob, name: Cid'),
        expect: (y) => `catalog.yaml:${lineOf(y, 'id: bob, name: Cid')} principals[2].id: duplicate id "bob" (first defined on line ${lineOf(y, 'id: bob, name: Bob')})`,
      },
      {
        name: 'bad run-as value',
        edit: (y) => y.replace('runAs: pool', 'runAs: sometimes'),
        expect: (y) => `catalog.yaml:${lineOf(y, 'sometimes')} actions[0].runAs: expected service, pool, pool:<account> or process:<account>`,
      },
      {
        name: 'bad role',
        edit: (y) => y.replace('roles: [read-only]', 'roles: [superuser]'),
        expect: (y) => `catalog.yaml:${lineOf(y, 'superuser')} principals[2].roles[0]: must be one of: company-admin, cyber-admin, administrator, read-only, user`,
      },
      {
        name: 'bad timeout',
        edit: (y) => y.replace('timeoutSeconds: 30', 'timeoutSeconds: soon'),
        expect: (y) => `catalog.yaml:${lineOf(y, 'soon')} actions[0].timeoutSeconds: must be a number`,
      },
      {
        name: 'missing key',
        edit: (y) => y.replace('    title: Other\n', ''),
        expect: (y) => `catalog.yaml:${lineOf(y, '- id: other')} actions[1].title: is required`,
      },
      {
        name: 'unknown key',
        edit: (y) => y.replace('    timeoutSeconds: 30', '    timeoutSeconds: 30\n    aprovers: [bob]'),
        expect: (y) => `catalog.yaml:${lineOf(y, 'aprovers')} actions[0].aprovers: unknown key`,
      },
      {
        name: 'identity claimed twice',
        edit: (y) => y.replace('identities: { webchat: bob }', 'identities: { webchat: ann }'),
        expect: (y) => `catalog.yaml:${lineOf(y, 'identities: { webchat: ann }')} principals[1].identities.webchat: this identity already belongs to principal "ann"`,
      },
      {
        name: 'action sideways to its script tenant',
        edit: (y) => y.replace('{ id: other, file: scripts/Other.ps1, tenant: acme }', '{ id: other, file: scripts/Other.ps1, tenant: south }'),
        expect: (y) => `catalog.yaml:${lineOf(y, 'tenant: north', '- id: other')} actions[1].tenant: tenant "north" is not "south" (the script's tenant) or below it`,
      },
      {
        name: 'pinned version the script never had',
        edit: (y) => y.replace('title: Other', `title: Other\n    version: ${'a'.repeat(64)}`),
        expect: (y) => `catalog.yaml:${lineOf(y, 'aaaa')} actions[1].version: script "other" has no version ${'a'.repeat(64)}`,
      },
    ];

    for (const { name, edit, expect, also } of cases) {
      it(`reports ${name} with file, line and key`, async () => {
        const yaml = edit(MINI_YAML);
        assert.notEqual(yaml, MINI_YAML, 'the edit applies');
        assert.deepEqual(await problems(yaml), [expect(yaml), ...(also?.(yaml) ?? [])]);
      });
    }

    it('reports YAML syntax errors with their line', async () => {
      const yaml = MINI_YAML.replace('  - { id: bob, name: Bob', '  - { id: bob, name: Bob: [');
      const [first, ...rest] = await problems(yaml);
      assert.match(first ?? '', new RegExp(`^catalog\\.yaml:${lineOf(yaml, 'name: Bob: [')} `));
      assert.ok(rest.every((line) => line.startsWith('catalog.yaml:')));
    });

    it('collects every problem, not just the first', async () => {
      const yaml = MINI_YAML.replace('script: greet', 'script: set-oof').replace('notify: [bob]', 'notify: [bobby]').replace('roles: [read-only]', 'roles: [root]');
      assert.equal((await problems(yaml)).length, 3);
    });

    it('accepts a pinned version hash the script has', async () => {
      const yaml = MINI_YAML.replace('title: Other', `title: Other\n    version: ${sha256(OTHER)}`);
      const folder = tempFolder();
      writeCatalog(folder, yaml);
      const { snapshot } = await importCatalog({ folder, previous: base, pwshPath: NO_PWSH, clock });
      assert.equal(snapshot.actions.find((a) => a.id === 'other')?.version, sha256(OTHER));
    });

    it('rejects a script with parse errors, naming its file and line', async () => {
      const broken = "param(\n  [string] $Name\n\n'unclosed'\n";
      const lines = await problems(MINI_YAML, { 'Greet.ps1': GREET, 'Other.ps1': broken, 'Third.ps1': THIRD }, pwsh);
      assert.ok(lines.length >= 1);
      assert.match(lines[0] ?? '', new RegExp(`^catalog\\.yaml:${lineOf(MINI_YAML, 'Other.ps1')} scripts\\[1\\]\\.file: scripts/Other\\.ps1 line \\d+: `));
    });

    it('refuses two scripts with the same text: a version belongs to one script', async () => {
      assert.deepEqual(await problems(MINI_YAML, { 'Greet.ps1': GREET, 'Other.ps1': THIRD, 'Third.ps1': THIRD }), [
        `catalog.yaml:${lineOf(MINI_YAML, 'Other.ps1')} scripts[1].file: scripts/Other.ps1 has the same text as script "third"; give each script its own file`,
      ]);
    });

    it('says so when catalog.yaml is missing', async () => {
      const folder = tempFolder();
      await assert.rejects(importCatalog({ folder, previous: base, pwshPath: NO_PWSH, clock }), (error: unknown) => isDeputyError(error) && /^catalog\.yaml:1: cannot be read \(ENOENT\)/.test(error.message));
    });
  });
  describe('files that lead out of the catalog folder (symbolic links)', () => {
    let base: CatalogSnapshot;
    /** Another instance's data folder on the same machine: what a hostile catalog would like to read. */
    let otherInstance: string;
    const SECRET = 'c2VjcmV0LWtleS1vZi1hbm90aGVyLWluc3RhbmNlLTMyYg==';
    before(async () => {
      const folder = tempFolder();
      writeCatalog(folder, MINI_YAML);
      base = (await importCatalog({ folder, previous: empty(), pwshPath: pwsh, clock })).snapshot;
      otherInstance = tempFolder();
      writeFileSync(join(otherInstance, 'secret.key'), `${SECRET}\n`, { mode: 0o600 });
      writeFileSync(join(otherInstance, 'executor-token'), 'a-token-that-only-the-bot-should-hold-0123456789\n', { mode: 0o600 });
    });

    /** A mini catalog changed by `prepare`; returns the import's problem lines (it must be refused). */
    async function refusal(prepare: (folder: string) => void): Promise<{ folder: string; lines: string[] }> {
      const folder = tempFolder();
      writeCatalog(folder, MINI_YAML);
      prepare(folder);
      const frozen = structuredClone(base);
      try {
        await importCatalog({ folder, previous: base, pwshPath: NO_PWSH, clock });
      } catch (error) {
        assert.ok(isDeputyError(error), String(error));
        assert.equal(error.code, 'DEPUTY_E_CATALOG_INVALID');
        assert.deepEqual(base, frozen);
        assert.ok(!error.message.includes(SECRET));
        return { folder, lines: error.message.split('\n') };
      }
      return assert.fail('the import was accepted');
    }
    const relink = (folder: string, name: string, target: string) => {
      rmSync(join(folder, name), { recursive: true, force: true });
      symlinkSync(target, join(folder, name));
    };
    const outside = (name: string, target: string, folder: string) => `${name} leads to ${realpathSync(target)}, outside the imported folder ${realpathSync(folder)}; links out of it are refused`;

    it('refuses a script file that links to /etc/passwd or to another instance\'s secret.key or executor-token, naming both paths', async () => {
      for (const target of ['/etc/passwd', join(otherInstance, 'secret.key'), join(otherInstance, 'executor-token')]) {
        const { folder, lines } = await refusal((folder) => relink(folder, 'scripts/Other.ps1', target));
        assert.deepEqual(lines, [`catalog.yaml:${lineOf(MINI_YAML, 'Other.ps1')} scripts[1].file: ${outside('scripts/Other.ps1', target, folder)}`]);
      }
    });

    it('refuses a scripts/ folder that links elsewhere, and a relative link that climbs out', async () => {
      const stolen = join(otherInstance, 'scripts');
      mkdirSync(stolen, { recursive: true });
      writeFileSync(join(stolen, 'Greet.ps1'), GREET);
      writeFileSync(join(stolen, 'Other.ps1'), OTHER);
      writeFileSync(join(stolen, 'Third.ps1'), THIRD);
      const folderLink = await refusal((folder) => relink(folder, 'scripts', stolen));
      assert.deepEqual(folderLink.lines, [
        `catalog.yaml:${lineOf(MINI_YAML, 'Greet.ps1')} scripts[0].file: ${outside('scripts/Greet.ps1', join(stolen, 'Greet.ps1'), folderLink.folder)}`,
        `catalog.yaml:${lineOf(MINI_YAML, 'Other.ps1')} scripts[1].file: ${outside('scripts/Other.ps1', join(stolen, 'Other.ps1'), folderLink.folder)}`,
        `catalog.yaml:${lineOf(MINI_YAML, 'Third.ps1')} scripts[2].file: ${outside('scripts/Third.ps1', join(stolen, 'Third.ps1'), folderLink.folder)}`,
      ]);
      const climbing = await refusal((folder) => relink(folder, 'scripts/Third.ps1', join('..', '..', otherInstance.split('/').pop() ?? '', 'secret.key')));
      assert.deepEqual(climbing.lines, [`catalog.yaml:${lineOf(MINI_YAML, 'Third.ps1')} scripts[2].file: ${outside('scripts/Third.ps1', join(otherInstance, 'secret.key'), climbing.folder)}`]);
    });

    it('refuses a catalog.yaml that links elsewhere', async () => {
      const elsewhere = join(otherInstance, 'catalog.yaml');
      writeFileSync(elsewhere, MINI_YAML);
      const { folder, lines } = await refusal((folder) => relink(folder, 'catalog.yaml', elsewhere));
      assert.deepEqual(lines, [`catalog.yaml:1: ${outside('catalog.yaml', elsewhere, folder)}`]);
    });

    it('refuses a FIFO in place of a script at once instead of waiting on it', async () => {
      const { lines } = await refusal((folder) => {
        rmSync(join(folder, 'scripts', 'Other.ps1'));
        execFileSync('mkfifo', [join(folder, 'scripts', 'Other.ps1')]);
      });
      assert.deepEqual(lines, [`catalog.yaml:${lineOf(MINI_YAML, 'Other.ps1')} scripts[1].file: scripts/Other.ps1 is not a regular file`]);
    });

    it('does not copy a demo directory seed that links out of the catalog folder into the data folder', async () => {
      const folder = tempFolder();
      cpSync(FIXTURE_CATALOG, folder, { recursive: true });
      symlinkSync(join(otherInstance, 'secret.key'), join(folder, 'demo-directory.json'));
      const executor = await startTestExecutor({ catalog: folder });
      try {
        assert.equal(existsSync(join(executor.dataDir, 'demo-directory.json')), false);
      } finally {
        await executor.dispose();
      }
    });

    it('accepts links that stay inside the catalog folder, and a catalog folder that is itself a link', async () => {
      const folder = tempFolder();
      writeCatalog(folder, MINI_YAML);
      mkdirSync(join(folder, 'shared'));
      writeFileSync(join(folder, 'shared', 'Other.ps1'), OTHER);
      relink(folder, 'scripts/Other.ps1', join('..', 'shared', 'Other.ps1'));
      const named = join(tempFolder(), 'catalog-link');
      symlinkSync(folder, named);
      const { snapshot } = await importCatalog({ folder: named, previous: base, pwshPath: NO_PWSH, clock });
      assert.equal(snapshot.scripts.find((script) => script.id === 'other')?.currentHash, sha256(OTHER));
    });
  });
});

describe('importScriptFolder', () => {
  const previous: CatalogSnapshot = { ...empty(), tenants: [{ id: 'acme', name: 'Acme' }] };
  const folder = mkdtempSync(join(tmpdir(), 'deputy-folder-'));
  after(() => rmSync(folder, { recursive: true, force: true }));

  it('imports bare scripts as Draft, idempotently, and a change as a new Draft version', async () => {
    writeFileSync(join(folder, 'Set-OutOfOffice.ps1'), GREET);
    writeFileSync(join(folder, 'GetADUser.ps1'), OTHER);
    writeFileSync(join(folder, 'notes.txt'), 'not a script');
    const first = await importScriptFolder({ folder, tenant: 'acme', previous, pwshPath: pwsh, clock });
    assert.deepEqual(first.snapshot.scripts.map((s) => [s.id, s.name, s.status, s.tenant]), [
      ['get-ad-user', 'GetADUser', 'draft', 'acme'],
      ['set-out-of-office', 'Set-OutOfOffice', 'draft', 'acme'],
    ]);
    assert.deepEqual(first.changes.map((c) => [c.id, c.change]), [['get-ad-user', 'added'], ['set-out-of-office', 'added']]);
    assert.deepEqual(first.snapshot.tenants, previous.tenants);

    const again = await importScriptFolder({ folder, tenant: 'acme', previous: first.snapshot, pwshPath: NO_PWSH, clock });
    assert.deepEqual(again.changes, []);
    assert.deepEqual(again.snapshot, first.snapshot);

    // An admin approved it in chat; a new text goes back to Draft and keeps the approved hash.
    const approved = structuredClone(first.snapshot);
    Object.assign(approved.scripts[0] ?? assert.fail(), { status: 'approved', approvedHash: sha256(OTHER) });
    writeFileSync(join(folder, 'GetADUser.ps1'), THIRD);
    const changed = await importScriptFolder({ folder, tenant: 'acme', previous: approved, pwshPath: pwsh, clock });
    // A version belongs to one script: the same text under a second name is refused.
    writeFileSync(join(folder, 'Copy-OfOther.ps1'), THIRD);
    await assert.rejects(importScriptFolder({ folder, tenant: 'acme', previous: changed.snapshot, pwshPath: NO_PWSH, clock }), {
      message: 'Copy-OfOther.ps1: has the same text as script "get-ad-user"; give each script its own text',
    });
    const script = changed.snapshot.scripts[0];
    assert.deepEqual([script?.status, script?.currentHash, script?.approvedHash], ['draft', sha256(THIRD), sha256(OTHER)]);
    assert.deepEqual(changed.changes.map((c) => [c.id, c.change]), [['get-ad-user', 'new-version']]);
  });

  it('refuses a script that links out of the folder, naming it, instead of skipping it in silence', async () => {
    const linked = mkdtempSync(join(tmpdir(), 'deputy-folder-linked-'));
    const otherInstance = mkdtempSync(join(tmpdir(), 'deputy-other-instance-'));
    try {
      writeFileSync(join(otherInstance, 'secret.key'), 'c2VjcmV0\n', { mode: 0o600 });
      symlinkSync(join(otherInstance, 'secret.key'), join(linked, 'Leak.ps1'));
      await assert.rejects(importScriptFolder({ folder: linked, tenant: 'acme', previous, pwshPath: NO_PWSH, clock }), {
        message: `Leak.ps1 leads to ${realpathSync(join(otherInstance, 'secret.key'))}, outside the imported folder ${realpathSync(linked)}; links out of it are refused`,
      });
    } finally {
      rmSync(linked, { recursive: true, force: true });
      rmSync(otherInstance, { recursive: true, force: true });
    }
  });

  it('refuses an unknown tenant and scripts with parse errors', async () => {
    const broken = mkdtempSync(join(tmpdir(), 'deputy-folder-broken-'));
    try {
      writeFileSync(join(broken, 'Broken.ps1'), 'param(\n[int]$x');
      await assert.rejects(importScriptFolder({ folder: broken, tenant: 'nowhere', previous, pwshPath: pwsh, clock }), (error: unknown) => {
        assert.ok(isDeputyError(error));
        const lines = error.message.split('\n');
        assert.ok(lines.some((line) => line.endsWith(': unknown tenant "nowhere"')));
        assert.ok(lines.some((line) => /^Broken\.ps1 line \d+: /.test(line)));
        return true;
      });
    } finally {
      rmSync(broken, { recursive: true, force: true });
    }
  });
});
