/** The `targets:` section of catalog.yaml and the targets of actions and plans, as the import checks them. */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { importCatalog } from '../../../executor/catalog/import.ts';
import { isDeputyError } from '../../../executor/contract/index.ts';
import { parseHostKey } from '../../../executor/targets/host-key.ts';
import type { CatalogSnapshot } from '../../../executor/store/port.ts';
import { ManualClock } from '../../../lib/clock.ts';
import { generateKeyPair } from '../../helpers/sshd.ts';
import { pwshPath } from '../pwsh/helpers.ts';

const clock = new ManualClock(Date.UTC(2026, 2, 1));
const empty = (): CatalogSnapshot => ({ tenants: [], principals: [], scripts: [], versions: [], actions: [] });
const HOST_KEY = generateKeyPair().publicKey;

const HEAD = `tenants:
  - { id: acme, name: Acme }
  - { id: north, name: North, parent: acme }
  - { id: south, name: South, parent: acme }
principals:
  - { id: ann, name: Ann, tenant: north, roles: [administrator] }
  - { id: sam, name: Sam, tenant: south, roles: [user] }
credentials:
  - { id: fleet, tenant: acme, kind: secret }
  - { id: south-key, tenant: south, kind: secret }
  - { id: login, tenant: acme, kind: pscredential }
scripts:
  - { id: greet, file: scripts/Greet.ps1, tenant: acme, status: approved }
`;

async function importYaml(yaml: string) {
  const folder = mkdtempSync(join(tmpdir(), 'deputy-target-catalog-'));
  try {
    mkdirSync(join(folder, 'scripts'));
    writeFileSync(join(folder, 'scripts', 'Greet.ps1'), 'param([string]$Name = "x")\n"hi $Name"\n');
    writeFileSync(join(folder, 'catalog.yaml'), yaml);
    return await importCatalog({ folder, previous: empty(), pwshPath: pwshPath(), clock });
  } finally {
    rmSync(folder, { recursive: true, force: true });
  }
}

async function problemsOf(yaml: string): Promise<string[]> {
  try {
    await importYaml(yaml);
  } catch (error) {
    assert.ok(isDeputyError(error) && error.code === 'DEPUTY_E_CATALOG_INVALID', String(error));
    return error.message.split('\n');
  }
  assert.fail('the import was expected to fail');
}

describe('targets in the catalog', function () {
  this.timeout(60_000);

  it('imports targets, action targets (ids or a tenant) and plan targets, with defaults', async () => {
    const { snapshot, changes } = await importYaml(`${HEAD}targets:
  - { id: web-01, name: Web 01, tenant: north, host: web-01.acme.example, user: deputy, credential: fleet, hostKey: "${HOST_KEY}" }
  - { id: sams-pc, name: Sam's PC, tenant: south, host: 10.1.2.3, port: 2222, user: sam, credential: south-key, hostKey: "${HOST_KEY}", owner: sam, pwsh: /opt/microsoft/powershell/7/pwsh }
actions:
  - { id: on-web, script: greet, title: On web, runAs: pool, targets: [web-01], allow: { roles: [administrator] } }
  - { id: on-south, script: greet, title: On south, runAs: service, targets: { tenant: south }, allow: { roles: [user] } }
plans:
  - { id: nightly, principal: ann, action: on-web, schedule: "0 3 * * *", targets: [web-01] }
`);
    assert.deepEqual(snapshot.targets?.map((target) => [target.id, target.port, target.pwsh, target.owner]), [
      ['web-01', 22, 'pwsh', undefined],
      ['sams-pc', 2222, '/opt/microsoft/powershell/7/pwsh', 'sam'],
    ]);
    assert.deepEqual(snapshot.actions.map((action) => action.targets), [['web-01'], { tenant: 'south' }]);
    assert.deepEqual(snapshot.plans?.[0]?.targets, ['web-01']);
    assert.ok(changes.some((change) => change.object === 'target' && change.id === 'web-01' && change.change === 'added'));
  });

  it('refuses a target without a pinned host key, and every other mistake, each with its line', async () => {
    const yaml = `${HEAD}targets:
  - { id: no-key, name: No key, tenant: north, host: a.example, user: deputy, credential: fleet }
  - { id: bad-key, name: Bad key, tenant: north, host: b.example, user: deputy, credential: fleet, hostKey: "ssh-ed25519 bm90IGEga2V5" }
  - { id: odd-type, name: Odd, tenant: north, host: c.example, user: deputy, credential: fleet, hostKey: "ssh-dss AAAAB3NzaC1kc3M=" }
  - { id: bad-cred, name: Bad cred, tenant: north, host: d.example, user: deputy, credential: login, hostKey: "${HOST_KEY}" }
  - { id: sideways-cred, name: Sideways, tenant: north, host: e.example, user: deputy, credential: south-key, hostKey: "${HOST_KEY}" }
  - { id: bad-owner, name: Owner, tenant: north, host: f.example, user: deputy, credential: fleet, hostKey: "${HOST_KEY}", owner: sam }
  - { id: bad-host, name: Host, tenant: north, host: "-oProxyCommand=x", user: deputy, credential: fleet, hostKey: "${HOST_KEY}", pwsh: "pwsh; rm -rf /" }
  - { id: web-01, name: Web 01, tenant: north, host: web.example, user: deputy, credential: fleet, hostKey: "${HOST_KEY}" }
actions:
  - { id: as-account, script: greet, title: X, runAs: "process:svc", targets: [web-01], allow: { roles: [administrator] } }
  - { id: wrong-tenant, script: greet, title: Y, tenant: south, runAs: pool, targets: [web-01, nowhere], allow: { roles: [administrator] } }
  - { id: local, script: greet, title: Z, runAs: pool, allow: { roles: [administrator] } }
plans:
  - { id: no-targets, principal: ann, action: wrong-tenant, schedule: "0 3 * * *" }
  - { id: local-targets, principal: ann, action: local, schedule: "0 3 * * *", targets: [web-01] }
`;
    const problems = await problemsOf(yaml);
    const expect = (fragment: RegExp) => assert.ok(problems.some((problem) => fragment.test(problem)), `${fragment} not in:\n${problems.join('\n')}`);
    expect(/^catalog\.yaml:\d+ targets\[0\]\.hostKey: is required$/);
    expect(/targets\[1\]\.hostKey: the key data is not a "ssh-ed25519" key/);
    expect(/targets\[2\]\.hostKey: key type "ssh-dss" is not supported/);
    expect(/targets\[3\]\.credential: credential "login" must be of kind secret/);
    expect(/targets\[4\]\.credential: credential "south-key" belongs to tenant "south", not "north" or above it/);
    expect(/targets\[5\]\.owner: principal "sam" \(tenant "south"\) cannot reach a target of tenant "north"/);
    expect(/targets\[6\]\.host: a host name or an address/);
    expect(/targets\[6\]\.pwsh: a command name or an absolute path/);
    expect(/actions\[0\]\.runAs: an action with targets runs as each target's user/);
    expect(/actions\[1\]\.targets\[0\]: target "web-01" belongs to tenant "north", not "south" or below it/);
    expect(/actions\[1\]\.targets\[1\]: unknown target "nowhere"/);
    expect(/plans\[1\]\.targets: action "local" runs on the executor, not on targets/);
  });

  it('asks a plan of an action with targets to name them, and only the action\'s', async () => {
    const problems = await problemsOf(`${HEAD}targets:
  - { id: web-01, name: Web 01, tenant: north, host: web.example, user: deputy, credential: fleet, hostKey: "${HOST_KEY}" }
  - { id: web-02, name: Web 02, tenant: north, host: web2.example, user: deputy, credential: fleet, hostKey: "${HOST_KEY}" }
actions:
  - { id: on-web, script: greet, title: On web, runAs: pool, targets: [web-01], allow: { roles: [administrator] } }
plans:
  - { id: unnamed, principal: ann, action: on-web, schedule: "0 3 * * *" }
  - { id: other, principal: ann, action: on-web, schedule: "0 3 * * *", targets: [web-02] }
`);
    assert.ok(problems.some((problem) => /plans\[0\]\.targets: action "on-web" runs on targets: name the plan's targets/.test(problem)), problems.join('\n'));
    assert.ok(problems.some((problem) => /plans\[1\]\.targets\[0\]: "web-02" is not one of action "on-web"'s targets/.test(problem)), problems.join('\n'));
  });

  it('reads pinned keys of each supported type, and nothing else', () => {
    for (const type of ['ed25519', 'ecdsa', 'rsa'] as const) {
      const parsed = parseHostKey(generateKeyPair(type).publicKey);
      assert.ok(typeof parsed !== 'string', `${type}: ${String(parsed)}`);
      assert.match(parsed.fingerprint, /^SHA256:[A-Za-z0-9+/]{43}$/);
    }
    assert.equal(typeof parseHostKey('ssh-ed25519'), 'string');
    assert.equal(typeof parseHostKey('ssh-ed25519 !!!'), 'string');
  });
});
