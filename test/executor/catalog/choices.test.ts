/** catalog.yaml's `queries:` and `actions[].choices`, and fixed values against parameter sets: every mistake named with its line. */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isDeputyError } from '../../../executor/contract/index.ts';
import { importCatalog } from '../../../executor/catalog/import.ts';
import { locatePwsh, PROJECT_ROOT } from '../../../executor/pwsh/locate.ts';
import type { CatalogSnapshot } from '../../../executor/store/port.ts';
import { ManualClock } from '../../../lib/clock.ts';

const pwsh = locatePwsh(process.env, PROJECT_ROOT)?.path ?? assert.fail('pwsh not found');
const clock = new ManualClock(Date.UTC(2026, 2, 1));
const empty = (): CatalogSnapshot => ({ tenants: [], principals: [], scripts: [], versions: [], actions: [] });

const SCRIPTS = {
  'Offices.ps1': "'HAM'\n'MUC'\n",
  'Users.ps1': 'param([Parameter(Mandatory)][string]$Office, [string]$Filter)\n"$Office-user"\n',
  'Move.ps1': 'param([Parameter(Mandatory)][string]$Office, [Parameter(Mandatory)][string]$User, [string]$Note, [securestring]$Pin, [switch]$Force)\n"$User"\n',
  'Sets.ps1': `param(
  [Parameter(Mandatory, ParameterSetName = 'ById')] [string] $Id,
  [Parameter(Mandatory, ParameterSetName = 'ByName')] [string] $Name,
  [Parameter(ParameterSetName = 'ByName')] [string] $Domain
)\n$PSCmdlet.ParameterSetName\n`,
};

const YAML = `tenants:
  - { id: acme, name: Acme }
principals:
  - { id: ann, name: Ann, tenant: acme, roles: [administrator] }
scripts:
  - { id: offices, file: scripts/Offices.ps1, tenant: acme, status: approved }
  - { id: users, file: scripts/Users.ps1, tenant: acme, status: approved }
  - { id: move, file: scripts/Move.ps1, tenant: acme, status: approved }
  - { id: sets, file: scripts/Sets.ps1, tenant: acme, status: approved }
queries:
  - { id: offices, script: offices, runAs: pool }
  - { id: users, script: users, runAs: pool, inputs: { filter: '*' }, cacheSeconds: 30 }
actions:
  - id: move
    script: move
    title: Move
    runAs: pool
    allow: { roles: [administrator] }
    choices:
      office: { query: offices }
      USER: { query: users, inputs: { office: "$form.office" } }
  - id: by-name
    script: sets
    title: By name
    runAs: pool
    allow: { roles: [administrator] }
    fixed: { Domain: contoso }
`;

function lineOf(yaml: string, needle: string): number {
  const index = yaml.split('\n').findIndex((line) => line.includes(needle));
  assert.ok(index >= 0, needle);
  return index + 1;
}

describe('queries and choices in catalog.yaml', function () {
  this.timeout(60_000);
  const folders: string[] = [];
  let base: CatalogSnapshot;
  const write = (yaml: string) => {
    const folder = mkdtempSync(join(tmpdir(), 'deputy-choices-'));
    folders.push(folder);
    mkdirSync(join(folder, 'scripts'));
    writeFileSync(join(folder, 'catalog.yaml'), yaml);
    for (const [name, text] of Object.entries(SCRIPTS)) writeFileSync(join(folder, 'scripts', name), text);
    return folder;
  };
  before(async () => {
    base = (await importCatalog({ folder: write(YAML), previous: empty(), pwshPath: pwsh, clock })).snapshot;
  });
  after(() => folders.forEach((folder) => rmSync(folder, { recursive: true, force: true })));

  it('stores queries and bindings in the scripts\' spelling, and narrows a form to the set its fixed values allow', () => {
    assert.deepEqual(base.queries, [
      { id: 'offices', scriptId: 'offices', runAs: { kind: 'pool' }, inputs: {}, cacheSeconds: 60, timeoutSeconds: 30 },
      { id: 'users', scriptId: 'users', runAs: { kind: 'pool' }, inputs: { Filter: '*' }, cacheSeconds: 30, timeoutSeconds: 30 },
    ]);
    assert.deepEqual(base.actions.find((action) => action.id === 'move')?.choices, {
      Office: { query: 'offices', inputs: {} },
      User: { query: 'users', inputs: { Office: '$form.Office' } },
    });
  });

  async function problems(yaml: string): Promise<string[]> {
    try {
      await importCatalog({ folder: write(yaml), previous: base, pwshPath: '/nonexistent/pwsh', clock });
    } catch (error) {
      assert.ok(isDeputyError(error) && error.code === 'DEPUTY_E_CATALOG_INVALID', String(error));
      return error.message.split('\n');
    }
    return assert.fail('accepted');
  }

  const cases: { name: string; edit: (yaml: string) => string; expect: (yaml: string) => string }[] = [
    {
      name: 'an unknown query',
      edit: (y) => y.replace('office: { query: offices }', 'office: { query: officez }'),
      expect: (y) => `catalog.yaml:${lineOf(y, 'officez')} actions[0].choices.office.query: unknown query "officez"`,
    },
    {
      name: 'choices for a fixed parameter',
      edit: (y) => y.replace("    choices:\n      office:", "    fixed: { Office: HAM }\n    choices:\n      office:").replace('USER: { query: users, inputs: { office: "$form.office" } }', 'USER: { query: users, inputs: { office: HAM } }'),
      expect: (y) => `catalog.yaml:${lineOf(y, 'office: { query: offices }')} actions[0].choices.office: "office" is not a field of this action's form (fixed, filled from a credential, or not a parameter of the script)`,
    },
    {
      name: 'choices for a secret',
      edit: (y) => y.replace('office: { query: offices }', 'Pin: { query: offices }\n      office: { query: offices }'),
      expect: (y) => `catalog.yaml:${lineOf(y, 'Pin: { query')} actions[0].choices.Pin: "Pin" is a secret; its value cannot be chosen from a list`,
    },
    {
      name: 'a $form reference to no field',
      edit: (y) => y.replace('"$form.office"', '"$form.Ofice"'),
      expect: (y) => `catalog.yaml:${lineOf(y, '$form.Ofice')} actions[0].choices.USER.inputs.office: "$form.Ofice" names no field of this action's form`,
    },
    {
      name: 'a query input the script lacks',
      edit: (y) => y.replace("inputs: { filter: '*' }", "inputs: { filtre: '*' }"),
      expect: (y) => `catalog.yaml:${lineOf(y, 'filtre')} queries[1].inputs.filtre: script "users" has no parameter "filtre"`,
    },
    {
      name: 'a query without its mandatory input',
      edit: (y) => y.replace('USER: { query: users, inputs: { office: "$form.office" } }', 'USER: { query: users }'),
      expect: (y) => `catalog.yaml:${lineOf(y, 'USER: { query: users }')} actions[0].choices.USER: query "users" needs a value for Office`,
    },
    {
      name: 'choices that depend on each other in a circle',
      edit: (y) => y.replace('office: { query: offices }', 'office: { query: users, inputs: { office: "$form.User" } }'),
      expect: (y) => `catalog.yaml:${lineOf(y, 'office: { query: users')} actions[0].choices: the choices depend on each other in a circle: Office → User → Office`,
    },
    {
      name: 'a query of an unknown script',
      edit: (y) => y.replace('{ id: offices, script: offices, runAs: pool }', '{ id: offices, script: nowhere, runAs: pool }'),
      expect: (y) => `catalog.yaml:${lineOf(y, 'script: nowhere')} queries[0].script: unknown script "nowhere"`,
    },
    {
      name: 'fixed values of two different sets',
      edit: (y) => y.replace('fixed: { Domain: contoso }', 'fixed: { Domain: contoso, Id: "42" }'),
      expect: (y) => `catalog.yaml:${lineOf(y, 'Id: "42"')} actions[1].fixed: Domain, Id belong to different parameter sets of the script (ById, ByName) and cannot be given together`,
    },
  ];
  for (const { name, edit, expect } of cases) {
    it(`names ${name} with its line`, async () => {
      const yaml = edit(YAML);
      assert.ok((await problems(yaml)).includes(expect(yaml)), `${(await problems(yaml)).join('\n')}`);
    });
  }

  it('keeps queries an ActionPacks import made, and drops its own that the file no longer names', async () => {
    const withImported: CatalogSnapshot = { ...base, queries: [...(base.queries ?? []), { id: 'from-tree', scriptId: 'offices', runAs: { kind: 'pool' }, inputs: {}, cacheSeconds: 60, timeoutSeconds: 30, imported: true }] };
    const yaml = YAML.replace("  - { id: users, script: users, runAs: pool, inputs: { filter: '*' }, cacheSeconds: 30 }\n", '').replace('      USER: { query: users, inputs: { office: "$form.office" } }\n', '');
    const { snapshot, changes } = await importCatalog({ folder: write(yaml), previous: withImported, pwshPath: '/nonexistent/pwsh', clock });
    assert.deepEqual(snapshot.queries?.map((query) => query.id), ['offices', 'from-tree']);
    assert.ok(changes.some((change) => change.object === 'query' && change.id === 'users' && change.change === 'removed'));
  });
});
