/**
 * A small helpdesk catalog for the policy tests.
 *
 *        contoso                fabrikam
 *        /      \
 *   hamburg    munich
 *      |
 *   hamburg-port          (plus loop-a ⇄ loop-b, a broken branch)
 */
import type { ErrorCode } from '../../../executor/contract/index.ts';
import type { Decision } from '../../../executor/policy/policy.ts';
import { action, hashOf, principal, script, type CatalogData } from './fixture.ts';
import assert from 'node:assert/strict';

const disk = script('disk', 'contoso', 'approved');
const ooo = script('ooo', 'hamburg', 'approved');
const probe = script('probe', 'hamburg', 'testing');
const wip = script('wip', 'hamburg', 'draft');
/** Approved at v1, then changed: v2 is back in Draft; v0 is an older superseded version. */
const changed = script('changed', 'hamburg', 'draft', { versions: ['changed-v0', 'changed-v1', 'changed-v2'], approved: 'changed-v1' });
/** Its version list names a hash whose record is missing from the catalog. */
const unstored = script('unstored', 'hamburg', 'approved');
const munichScript = script('munich-script', 'munich', 'approved');

export const HASH = {
  probe: hashOf('probe-v1'),
  wip: hashOf('wip-v1'),
  changedV0: hashOf('changed-v0'),
  changedV1: hashOf('changed-v1'),
  changedV2: hashOf('changed-v2'),
};

export function demoCatalog(): CatalogData {
  return {
    tenants: [
      { id: 'contoso', name: 'Contoso' },
      { id: 'hamburg', name: 'Contoso Hamburg', parent: 'contoso' },
      { id: 'munich', name: 'Contoso Munich', parent: 'contoso' },
      { id: 'hamburg-port', name: 'Hamburg port', parent: 'hamburg' },
      { id: 'fabrikam', name: 'Fabrikam' },
      { id: 'loop-a', name: 'Loop A', parent: 'loop-b' },
      { id: 'loop-b', name: 'Loop B', parent: 'loop-a' },
    ],
    principals: [
      principal('cyra', 'contoso', ['cyber-admin']),
      principal('cora', 'hamburg', ['company-admin']),
      principal('alex', 'hamburg', ['administrator']),
      principal('ada', 'hamburg', ['administrator']),
      principal('paul', 'hamburg-port', ['administrator']),
      principal('uma', 'hamburg', ['user'], ['uma-laptop', 'uma@contoso.example']),
      principal('ulf', 'hamburg', ['user', 'administrator'], ['ulf-laptop']),
      principal('rob', 'contoso', ['read-only']),
      principal('mia', 'munich', ['administrator']),
      principal('mcadmin', 'munich', ['cyber-admin']),
      principal('nora', 'hamburg', []),
      principal('zed', 'hamburg', ['superuser']),
      principal('lost', 'atlantis', ['administrator']),
      principal('looped', 'loop-a', ['cyber-admin']),
    ],
    scripts: [disk, ooo, probe, wip, changed, unstored, munichScript].map((entry) => entry.script),
    versions: [disk, ooo, probe, wip, changed, munichScript].flatMap((entry) => entry.versions),
    actions: [
      action({ id: 'disk-usage', scriptId: 'disk', tenant: 'contoso', roles: ['administrator', 'cyber-admin'] }),
      action({ id: 'set-ooo', scriptId: 'ooo', tenant: 'hamburg', roles: ['administrator', 'user'], ownWorkloadParameter: 'Identity' }),
      action({ id: 'user-unbound', scriptId: 'ooo', tenant: 'hamburg', roles: ['user'] }),
      action({ id: 'user-fixed', scriptId: 'ooo', tenant: 'hamburg', roles: ['user'], ownWorkloadParameter: 'Identity', fixed: { Identity: 'ceo' } }),
      action({ id: 'user-fixed-own', scriptId: 'ooo', tenant: 'hamburg', roles: ['user'], ownWorkloadParameter: 'Identity', fixed: { Identity: 'uma-laptop' } }),
      action({ id: 'ulf-fixed', scriptId: 'ooo', tenant: 'hamburg', roles: ['user'], ownWorkloadParameter: 'Identity', fixed: { Identity: 'ulf-laptop' } }),
      action({ id: 'probe-run', scriptId: 'probe', tenant: 'hamburg', version: HASH.probe, roles: ['administrator', 'cyber-admin', 'company-admin'] }),
      action({ id: 'wip-run', scriptId: 'wip', tenant: 'hamburg', version: HASH.wip, roles: ['administrator', 'cyber-admin', 'company-admin'] }),
      action({ id: 'changed-latest', scriptId: 'changed', tenant: 'hamburg', roles: ['administrator'] }),
      action({ id: 'changed-current', scriptId: 'changed', tenant: 'hamburg', version: HASH.changedV2, roles: ['administrator', 'cyber-admin'] }),
      action({ id: 'changed-old', scriptId: 'changed', tenant: 'hamburg', version: HASH.changedV0, roles: ['administrator', 'cyber-admin'] }),
      action({ id: 'probe-latest', scriptId: 'probe', tenant: 'hamburg', roles: ['cyber-admin'] }),
      action({ id: 'bad-pin', scriptId: 'ooo', tenant: 'hamburg', version: hashOf('never'), roles: ['administrator'] }),
      action({ id: 'unstored-run', scriptId: 'unstored', tenant: 'hamburg', roles: ['administrator'] }),
      action({ id: 'ghost-script', scriptId: 'ghost', tenant: 'hamburg', roles: ['administrator'] }),
      action({ id: 'crossed', scriptId: 'munich-script', tenant: 'hamburg', roles: ['administrator'] }),
      action({ id: 'munich-only', scriptId: 'disk', tenant: 'munich', roles: ['administrator', 'cyber-admin'] }),
      action({ id: 'named', scriptId: 'ooo', tenant: 'hamburg', principals: ['ada'] }),
      action({ id: 'looped-action', scriptId: 'disk', tenant: 'loop-a', roles: ['administrator', 'cyber-admin'] }),
      action({ id: 'port-tool', scriptId: 'ooo', tenant: 'hamburg-port', roles: ['administrator', 'cyber-admin', 'company-admin'] }),
    ],
  };
}

export function assertAllowed(decision: Decision, message?: string): void {
  assert.deepEqual(decision, { allowed: true }, message);
}

export function assertDenied(decision: Decision, code: ErrorCode, reasonPart?: RegExp): void {
  assert.equal(decision.allowed, false, `expected ${code}, got allowed`);
  if (decision.allowed) return;
  assert.equal(decision.code, code, decision.reason);
  assert.ok(decision.reason.length > 0);
  if (reasonPart) assert.match(decision.reason, reasonPart);
}
