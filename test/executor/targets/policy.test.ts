/** The policy's rules for target systems, on an in-memory catalog (no SSH needed). */
import assert from 'node:assert/strict';
import { Policy } from '../../../executor/policy/policy.ts';
import { bindingHash } from '../../../executor/runs/service.ts';
import { action, memoryCatalog, principal, script, target, type CatalogData } from '../policy/fixture.ts';

function catalog(): CatalogData {
  const greet = script('greet', 'contoso', 'approved');
  return {
    tenants: [
      { id: 'contoso', name: 'Contoso' },
      { id: 'hamburg', name: 'Hamburg', parent: 'contoso' },
      { id: 'hamburg-lab', name: 'Hamburg lab', parent: 'hamburg' },
      { id: 'munich', name: 'Munich', parent: 'contoso' },
    ],
    principals: [
      principal('alex', 'hamburg', ['administrator']),
      principal('bob', 'hamburg', ['administrator']),
      principal('max', 'munich', ['administrator']),
      principal('uma', 'hamburg', ['user']),
      principal('cyra', 'contoso', ['cyber-admin']),
    ],
    scripts: [greet.script],
    versions: greet.versions,
    actions: [
      action({ id: 'fleet', scriptId: 'greet', tenant: 'contoso', roles: ['administrator', 'user'], targets: { tenant: 'contoso' } }),
      action({ id: 'pair', scriptId: 'greet', tenant: 'hamburg', roles: ['administrator'], targets: ['web-01', 'lab-01'] }),
      action({ id: 'local', scriptId: 'greet', tenant: 'contoso', roles: ['administrator'] }),
    ],
    targets: [
      target('core-01', 'contoso'),
      target('web-01', 'hamburg'),
      target('lab-01', 'hamburg-lab'),
      target('munich-01', 'munich'),
      target('uma-laptop', 'hamburg', 'uma'),
    ],
  };
}

describe('policy: target systems', () => {
  const data = catalog();
  const policy = new Policy(memoryCatalog(data));
  const ids = (principalId: string, actionId: string) => policy.usableTargets(principalId, actionId).map((item) => item.id);
  const decide = (principalId: string, actionId: string, targets: string[]) => policy.mayRunAction(principalId, actionId, {}, targets);

  it('reaches the targets of the own tenant and below it, never sideways or above', () => {
    assert.deepEqual(ids('alex', 'fleet'), ['web-01', 'lab-01', 'uma-laptop']);
    assert.deepEqual(ids('max', 'fleet'), ['munich-01']);
    assert.deepEqual(ids('cyra', 'fleet'), [], 'a cyber admin is not assigned the action');
    assert.deepEqual(decide('alex', 'fleet', ['lab-01']), { allowed: true });
    const sideways = decide('alex', 'fleet', ['munich-01']);
    assert.ok(!sideways.allowed && sideways.code === 'DEPUTY_E_NOT_FOUND');
    const above = decide('alex', 'fleet', ['core-01']);
    assert.ok(!above.allowed && above.code === 'DEPUTY_E_FORBIDDEN' && /above/.test(above.reason));
  });

  it('runs only on the action\'s own targets, all of them checked', () => {
    assert.deepEqual(decide('alex', 'pair', ['web-01', 'lab-01']), { allowed: true });
    const other = decide('alex', 'pair', ['web-01', 'uma-laptop']);
    assert.ok(!other.allowed && other.code === 'DEPUTY_E_NOT_FOUND', JSON.stringify(other));
    const none = decide('alex', 'pair', []);
    assert.ok(!none.allowed && none.code === 'DEPUTY_E_VALIDATION');
    const local = decide('alex', 'local', ['web-01']);
    assert.ok(!local.allowed && local.code === 'DEPUTY_E_BAD_REQUEST');
  });

  it('lets a User run only on machines they own, and shows them only such actions', () => {
    assert.deepEqual(ids('uma', 'fleet'), ['uma-laptop']);
    assert.deepEqual(decide('uma', 'fleet', ['uma-laptop']), { allowed: true });
    const foreign = decide('uma', 'fleet', ['web-01']);
    assert.ok(!foreign.allowed && foreign.code === 'DEPUTY_E_FORBIDDEN' && /own machine/.test(foreign.reason));
    assert.deepEqual(policy.visibleActions('uma').map((item) => item.id), ['fleet']);
    const withoutMachine = new Policy(memoryCatalog({ ...data, targets: data.targets?.filter((item) => item.owner === undefined) ?? [] }));
    assert.deepEqual(withoutMachine.visibleActions('uma').map((item) => item.id), [], 'no machine of her own: nothing to run');
  });

  it('checks a User\'s plan rights against the plan\'s targets', () => {
    const mine = policy.mayOnPlan('uma', { tenant: 'hamburg', status: 'approved', targets: ['uma-laptop'] }, 'enable');
    assert.deepEqual(mine, { allowed: true });
    const theirs = policy.mayOnPlan('uma', { tenant: 'hamburg', status: 'approved', targets: ['uma-laptop', 'web-01'] }, 'enable');
    assert.ok(!theirs.allowed);
    assert.deepEqual(policy.mayOnPlan('alex', { tenant: 'hamburg', status: 'approved', targets: ['web-01'] }, 'enable'), { allowed: true });
  });

  it('refuses to let anyone decide a run whose target it cannot find', () => {
    const run = { principalId: 'alex', actionId: 'pair', tenant: 'hamburg' };
    assert.deepEqual(policy.mayDecideRun('bob', { ...run, targets: [{ id: 'web-01' }] }), { allowed: true });
    const gone = policy.mayDecideRun('cyra', { ...run, targets: [{ id: 'decommissioned' }] });
    assert.ok(!gone.allowed && gone.code === 'DEPUTY_E_NOT_FOUND');
  });

  it('binds an approval to the targets, and leaves runs without targets as they were bound before', () => {
    const hash = 'a'.repeat(64);
    assert.notEqual(bindingHash(hash, { Name: 'x' }, ['web-01']), bindingHash(hash, { Name: 'x' }, ['web-02']));
    assert.notEqual(bindingHash(hash, { Name: 'x' }, ['web-01']), bindingHash(hash, { Name: 'x' }));
    assert.equal(bindingHash(hash, { Name: 'x' }, []), bindingHash(hash, { Name: 'x' }));
  });
});
