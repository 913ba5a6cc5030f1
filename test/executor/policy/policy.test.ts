import assert from 'node:assert/strict';
import { DeputyError } from '../../../executor/contract/index.ts';
import { Policy, throwIfDenied, type RunRef } from '../../../executor/policy/policy.ts';
import { assertAllowed, assertDenied, demoCatalog, HASH } from './demo-catalog.ts';
import { memoryCatalog } from './fixture.ts';

const policy = new Policy(memoryCatalog(demoCatalog()));

describe('Policy.mayRunAction', () => {
  describe('refuses when it cannot decide', () => {
    it('an unknown principal is not enrolled', () => {
      assertDenied(policy.mayRunAction('nobody', 'disk-usage'), 'DEPUTY_E_NOT_ENROLLED', /unknown principal/);
    });
    it('a principal with no roles', () => {
      assertDenied(policy.mayRunAction('nora', 'set-ooo', { Identity: 'nora' }), 'DEPUTY_E_FORBIDDEN', /no roles/);
    });
    it('a principal with an unknown role', () => {
      assertDenied(policy.mayRunAction('zed', 'disk-usage'), 'DEPUTY_E_FORBIDDEN', /unknown roles: superuser/);
    });
    it('a principal whose tenant is unknown', () => {
      assertDenied(policy.mayRunAction('lost', 'disk-usage'), 'DEPUTY_E_FORBIDDEN', /tenant "atlantis"/);
    });
    it('a principal whose tenant sits in a cycle', () => {
      assertDenied(policy.mayRunAction('looped', 'looped-action'), 'DEPUTY_E_FORBIDDEN', /parent chain is broken/);
    });
    it('an unknown action', () => {
      assertDenied(policy.mayRunAction('alex', 'no-such-action'), 'DEPUTY_E_NOT_FOUND', /unknown action/);
    });
    it('an action whose tenant sits in a cycle', () => {
      assertDenied(policy.mayRunAction('cyra', 'looped-action'), 'DEPUTY_E_FORBIDDEN', /tenant "loop-a"/);
    });
    it('an action naming an unknown script', () => {
      assertDenied(policy.mayRunAction('alex', 'ghost-script'), 'DEPUTY_E_NOT_FOUND', /unknown script "ghost"/);
    });
    it('an action wrapping a script from outside its tenant line', () => {
      assertDenied(policy.mayRunAction('alex', 'crossed'), 'DEPUTY_E_FORBIDDEN', /outside its tenant line/);
    });
    it('a pinned hash that is not a version of the script', () => {
      assertDenied(policy.mayRunAction('alex', 'bad-pin'), 'DEPUTY_E_NOT_FOUND', /pinned version/);
    });
    it('a version the script lists but the catalog does not hold', () => {
      assertDenied(policy.mayRunAction('alex', 'unstored-run'), 'DEPUTY_E_NOT_FOUND', /not in the catalog/);
    });
    it('"latest approved" of a script that was never approved', () => {
      assertDenied(policy.mayRunAction('cyra', 'probe-latest'), 'DEPUTY_E_CONFLICT', /no approved version/);
    });
  });

  describe('tenant scope', () => {
    it('runs an action of the own tenant', () => {
      assertAllowed(policy.mayRunAction('alex', 'set-ooo', { Identity: 'anyone' }));
      assertAllowed(policy.mayRunAction('ada', 'named'));
    });
    it('runs an action applied from an ancestor tenant', () => {
      assertAllowed(policy.mayRunAction('alex', 'disk-usage'));
      assertAllowed(policy.mayRunAction('paul', 'disk-usage'), 'grandchild runs the root tenant’s action');
    });
    it('runs an action of a descendant tenant', () => {
      assertAllowed(policy.mayRunAction('alex', 'port-tool'));
      assertAllowed(policy.mayRunAction('cyra', 'port-tool'));
    });
    it('never sideways: a sibling tenant’s action is not even found', () => {
      assertDenied(policy.mayRunAction('mia', 'set-ooo', { Identity: 'x' }), 'DEPUTY_E_NOT_FOUND', /sideways/);
      assertDenied(policy.mayRunAction('alex', 'munich-only'), 'DEPUTY_E_NOT_FOUND', /sideways/);
      assertDenied(policy.mayRunAction('mcadmin', 'port-tool'), 'DEPUTY_E_NOT_FOUND', /sideways/);
    });
  });

  describe('allow-list', () => {
    it('refuses a principal whose roles are not assigned and who is not named', () => {
      assertDenied(policy.mayRunAction('rob', 'disk-usage'), 'DEPUTY_E_FORBIDDEN', /not assigned/);
      assertDenied(policy.mayRunAction('alex', 'named'), 'DEPUTY_E_FORBIDDEN', /not assigned/);
      assertDenied(policy.mayRunAction('cora', 'disk-usage'), 'DEPUTY_E_FORBIDDEN', /not assigned/);
    });
    it('lets a principal named on the list run with their own roles', () => {
      assertAllowed(policy.mayRunAction('ada', 'named'));
    });
  });

  describe('script status', () => {
    it('Draft: nobody runs it, not even a cyber admin', () => {
      assertDenied(policy.mayRunAction('cyra', 'wip-run'), 'DEPUTY_E_FORBIDDEN', /draft script/);
      assertDenied(policy.mayRunAction('cora', 'wip-run'), 'DEPUTY_E_FORBIDDEN', /draft script/);
      assertDenied(policy.mayRunAction('alex', 'wip-run'), 'DEPUTY_E_FORBIDDEN', /draft script/);
    });
    it('Testing: only cyber and company admins', () => {
      assertAllowed(policy.mayRunAction('cyra', 'probe-run'));
      assertAllowed(policy.mayRunAction('cora', 'probe-run'));
      assertDenied(policy.mayRunAction('alex', 'probe-run'), 'DEPUTY_E_FORBIDDEN', /testing script/);
    });
    it('Approved: administrators too', () => {
      assertAllowed(policy.mayRunAction('alex', 'disk-usage'));
    });
    it('a changed script keeps running its approved hash under "latest approved", not the new Draft', () => {
      assertAllowed(policy.mayRunAction('alex', 'changed-latest'));
      assertDenied(policy.mayRunAction('cyra', 'changed-current'), 'DEPUTY_E_FORBIDDEN', /draft script/);
    });
    it('a superseded version counts as Draft', () => {
      assertDenied(policy.mayRunAction('cyra', 'changed-old'), 'DEPUTY_E_FORBIDDEN', /draft script/);
    });
  });

  describe('User role: own workloads only', () => {
    it('runs on one of their workloads, or on their own account id', () => {
      assertAllowed(policy.mayRunAction('uma', 'set-ooo', { Identity: 'uma-laptop' }));
      assertAllowed(policy.mayRunAction('uma', 'set-ooo', { Identity: 'uma@contoso.example' }));
      assertAllowed(policy.mayRunAction('uma', 'set-ooo', { Identity: 'uma' }));
    });
    it('refuses someone else’s workload', () => {
      assertDenied(policy.mayRunAction('uma', 'set-ooo', { Identity: 'alex-laptop' }), 'DEPUTY_E_FORBIDDEN', /not among the own workloads/);
      assertDenied(policy.mayRunAction('uma', 'set-ooo', { Identity: 'UMA-LAPTOP' }), 'DEPUTY_E_FORBIDDEN', /own workloads/);
    });
    it('refuses a value that is not a single string', () => {
      assertDenied(policy.mayRunAction('uma', 'set-ooo', { Identity: ['uma-laptop'] }), 'DEPUTY_E_FORBIDDEN', /own workloads/);
      assertDenied(policy.mayRunAction('uma', 'set-ooo', { Identity: 42 }), 'DEPUTY_E_FORBIDDEN', /own workloads/);
    });
    it('refuses without the workload input (it cannot decide)', () => {
      assertDenied(policy.mayRunAction('uma', 'set-ooo'), 'DEPUTY_E_FORBIDDEN', /no value for own-workload parameter/);
      assertDenied(policy.mayRunAction('uma', 'set-ooo', {}), 'DEPUTY_E_FORBIDDEN', /no value/);
      assertDenied(policy.mayRunAction('uma', 'set-ooo', { identity: 'uma-laptop' }), 'DEPUTY_E_FORBIDDEN', /no value/);
    });
    it('does not read inherited properties as inputs', () => {
      const proto = policy.mayRunAction('uma', 'set-ooo', Object.create({ Identity: 'uma-laptop' }) as Record<string, unknown>);
      assertDenied(proto, 'DEPUTY_E_FORBIDDEN', /no value/);
    });
    it('refuses an action not bound to an own workload', () => {
      assertDenied(policy.mayRunAction('uma', 'user-unbound', { Identity: 'uma-laptop' }), 'DEPUTY_E_FORBIDDEN', /not bound to an own workload/);
    });
    it('checks a fixed workload value, whatever the inputs say', () => {
      assertDenied(policy.mayRunAction('uma', 'user-fixed', { Identity: 'uma-laptop' }), 'DEPUTY_E_FORBIDDEN', /"ceo"/);
      assertAllowed(policy.mayRunAction('uma', 'user-fixed-own', { Identity: 'someone-else' }));
    });
    it('does not limit a principal who also runs through the administrator role', () => {
      assertAllowed(policy.mayRunAction('ulf', 'set-ooo', { Identity: 'alex-laptop' }));
    });
    it('limits a principal whose only assigned run role is user, even if they hold another role', () => {
      assertDenied(policy.mayRunAction('ulf', 'user-unbound', {}), 'DEPUTY_E_FORBIDDEN', /not bound to an own workload/);
    });
  });
});

describe('Policy.visibleActions', () => {
  const ids = (principalId: string) => policy.visibleActions(principalId).map((action) => action.id).sort();

  it('lists what an administrator may run, across the tenant line but never sideways', () => {
    assert.deepEqual(ids('alex'), ['changed-latest', 'disk-usage', 'port-tool', 'set-ooo']);
  });
  it('lists Testing actions for admins', () => {
    assert.deepEqual(ids('cora'), ['port-tool', 'probe-run']);
    assert.deepEqual(ids('cyra'), ['disk-usage', 'munich-only', 'port-tool', 'probe-run']);
  });
  it('lists only own-workload-bound actions for a user, leaving the input check for the run', () => {
    assert.deepEqual(ids('uma'), ['set-ooo', 'user-fixed-own']);
  });
  it('lists nothing for read-only, unknown or role-less principals', () => {
    assert.deepEqual(ids('rob'), []);
    assert.deepEqual(ids('nobody'), []);
    assert.deepEqual(ids('nora'), []);
    assert.deepEqual(ids('lost'), []);
  });
});

describe('Policy.mayOnScript and mayOnPlan: read-only from below, nothing sideways', () => {
  it('an admin manages scripts of their tenant and below', () => {
    assertAllowed(policy.mayOnScript('cyra', 'ooo', 'edit'));
    assertAllowed(policy.mayOnScript('cora', 'wip', 'delete'));
  });
  it('an ancestor tenant’s script is visible, usable and clonable below, never changed', () => {
    assertAllowed(policy.mayOnScript('cora', 'disk', 'view'));
    assertAllowed(policy.mayOnScript('cora', 'disk', 'run'));
    assertAllowed(policy.mayOnScript('cora', 'disk', 'clone'), 'a site clones the central script and adapts its copy');
    for (const verb of ['edit', 'delete', 'change-status', 'cancel-running', 'create'] as const) {
      assertDenied(policy.mayOnScript('cora', 'disk', verb), 'DEPUTY_E_FORBIDDEN', /read-only from below/);
    }
  });
  it('an ancestor tenant’s plan is view-only below', () => {
    const plan = { tenant: 'contoso', status: 'approved' as const };
    assertAllowed(policy.mayOnPlan('alex', plan, 'view'));
    for (const verb of ['edit', 'revoke', 'delete', 'disable', 'stop', 'run'] as const) {
      assertDenied(policy.mayOnPlan('alex', plan, verb), 'DEPUTY_E_FORBIDDEN', /read-only from below/);
    }
    assertAllowed(policy.mayOnPlan('cyra', { tenant: 'hamburg', status: 'approved' }, 'revoke'), 'applied from above, revoked from above');
  });
  it('a sibling tenant’s script or plan is not found', () => {
    assertDenied(policy.mayOnScript('mia', 'ooo', 'view'), 'DEPUTY_E_NOT_FOUND', /sideways/);
    assertDenied(policy.mayOnPlan('mia', { tenant: 'hamburg', status: 'approved' }, 'view'), 'DEPUTY_E_NOT_FOUND');
  });
  it('refuses an unknown script or a plan of an unknown tenant', () => {
    assertDenied(policy.mayOnScript('cyra', 'ghost', 'view'), 'DEPUTY_E_NOT_FOUND', /unknown script/);
    assertDenied(policy.mayOnPlan('cyra', { tenant: 'atlantis', status: 'approved' }, 'view'), 'DEPUTY_E_FORBIDDEN', /atlantis/);
  });
  it('a user’s workload-bound rights need their own workloads named', () => {
    assertAllowed(policy.mayOnPlan('uma', { tenant: 'hamburg', status: 'approved', workloads: ['uma-laptop'] }, 'create'));
    assertDenied(policy.mayOnPlan('uma', { tenant: 'hamburg', status: 'approved' }, 'create'), 'DEPUTY_E_FORBIDDEN', /none was named/);
    assertDenied(
      policy.mayOnPlan('uma', { tenant: 'hamburg', status: 'approved', workloads: ['uma-laptop', 'file-server'] }, 'run'),
      'DEPUTY_E_FORBIDDEN',
      /file-server/,
    );
    assertDenied(policy.mayOnScript('uma', 'ooo', 'run'), 'DEPUTY_E_FORBIDDEN', /none was named/);
    assertAllowed(policy.mayOnScript('uma', 'ooo', 'run', { workload: 'uma-laptop' }));
    assertAllowed(policy.mayOnScript('uma', 'ooo', 'clone'), 'clone acts on no workload');
  });
});

describe('Policy.mayChangeScriptStatus', () => {
  it('cyber and company admins of the script’s tenant or an ancestor move it along the lifecycle', () => {
    assertAllowed(policy.mayChangeScriptStatus('cora', 'wip', 'testing'));
    assertAllowed(policy.mayChangeScriptStatus('cyra', 'probe', 'approved'));
    assertAllowed(policy.mayChangeScriptStatus('cyra', 'probe', 'draft'), 'rejection');
    assertAllowed(policy.mayChangeScriptStatus('cyra', 'ooo', 'draft'));
  });
  it('refuses transitions outside the lifecycle', () => {
    assertDenied(policy.mayChangeScriptStatus('cyra', 'wip', 'approved'), 'DEPUTY_E_CONFLICT', /from draft to approved/);
    assertDenied(policy.mayChangeScriptStatus('cyra', 'ooo', 'testing'), 'DEPUTY_E_CONFLICT');
    assertDenied(policy.mayChangeScriptStatus('cyra', 'wip', 'draft'), 'DEPUTY_E_CONFLICT');
  });
  it('refuses everyone else', () => {
    assertDenied(policy.mayChangeScriptStatus('alex', 'wip', 'testing'), 'DEPUTY_E_FORBIDDEN', /change-status/);
    assertDenied(policy.mayChangeScriptStatus('uma', 'wip', 'testing'), 'DEPUTY_E_FORBIDDEN');
    assertDenied(policy.mayChangeScriptStatus('rob', 'wip', 'testing'), 'DEPUTY_E_FORBIDDEN');
    assertDenied(policy.mayChangeScriptStatus('cora', 'disk', 'draft'), 'DEPUTY_E_FORBIDDEN', /read-only from below/);
    assertDenied(policy.mayChangeScriptStatus('mcadmin', 'wip', 'testing'), 'DEPUTY_E_NOT_FOUND');
    assertDenied(policy.mayChangeScriptStatus('cyra', 'ghost', 'testing'), 'DEPUTY_E_NOT_FOUND');
  });
});

describe('Policy.mayCancelRun', () => {
  const umaRun: RunRef = { principalId: 'uma', actionId: 'set-ooo', tenant: 'hamburg' };

  it('the requester always may', () => {
    assertAllowed(policy.mayCancelRun('uma', umaRun));
    assertAllowed(policy.mayCancelRun('nora', { principalId: 'nora', actionId: 'gone', tenant: 'hamburg' }));
  });
  it('admins and administrators of the run’s tenant or an ancestor may', () => {
    assertAllowed(policy.mayCancelRun('alex', umaRun));
    assertAllowed(policy.mayCancelRun('cyra', umaRun));
    assertAllowed(policy.mayCancelRun('cyra', { ...umaRun, actionId: 'gone', scriptId: 'ooo' }), 'the run names its script');
  });
  it('nobody below, sideways, read-only, or a user for someone else', () => {
    assertDenied(policy.mayCancelRun('paul', umaRun), 'DEPUTY_E_FORBIDDEN', /read-only from below/);
    assertDenied(policy.mayCancelRun('mia', umaRun), 'DEPUTY_E_NOT_FOUND');
    assertDenied(policy.mayCancelRun('rob', umaRun), 'DEPUTY_E_FORBIDDEN', /cancel-running/);
    assertDenied(policy.mayCancelRun('uma', { ...umaRun, principalId: 'alex' }), 'DEPUTY_E_FORBIDDEN', /own workloads/);
    assertDenied(policy.mayCancelRun('nobody', umaRun), 'DEPUTY_E_NOT_ENROLLED');
  });
  it('refuses when the run’s script or version cannot be found', () => {
    assertDenied(policy.mayCancelRun('cyra', { ...umaRun, actionId: 'gone' }), 'DEPUTY_E_NOT_FOUND', /names no script/);
    assertDenied(policy.mayCancelRun('cyra', { ...umaRun, scriptHash: HASH.wip }), 'DEPUTY_E_NOT_FOUND', /not a version/);
  });
  it('uses the run’s exact hash for the status', () => {
    assertAllowed(policy.mayCancelRun('alex', { principalId: 'ada', actionId: 'changed-latest', tenant: 'hamburg', scriptHash: HASH.changedV1 }));
  });
});

describe('Policy.mayDecideRun (four-eyes)', () => {
  const alexRun: RunRef = { principalId: 'alex', actionId: 'set-ooo', tenant: 'hamburg' };

  it('never the requester, whatever their roles', () => {
    assertDenied(policy.mayDecideRun('alex', alexRun), 'DEPUTY_E_SELF_APPROVAL');
    assertDenied(policy.mayDecideRun('cyra', { ...alexRun, principalId: 'cyra' }), 'DEPUTY_E_SELF_APPROVAL');
    assertDenied(policy.mayDecideRun('nora', { ...alexRun, principalId: 'nora' }), 'DEPUTY_E_SELF_APPROVAL', /cannot decide/);
  });
  it('a cyber or company admin of the run’s tenant or an ancestor', () => {
    assertAllowed(policy.mayDecideRun('cyra', alexRun));
    assertAllowed(policy.mayDecideRun('cora', alexRun));
  });
  it('a second administrator who may run the action themselves', () => {
    assertAllowed(policy.mayDecideRun('ada', alexRun));
    assertDenied(policy.mayDecideRun('ada', { ...alexRun, actionId: 'probe-run' }), 'DEPUTY_E_FORBIDDEN', /testing script/);
  });
  it('not a user, a read-only admin, an admin below or sideways', () => {
    assertDenied(policy.mayDecideRun('uma', alexRun), 'DEPUTY_E_FORBIDDEN');
    assertDenied(policy.mayDecideRun('ulf', { ...alexRun, actionId: 'ulf-fixed' }), 'DEPUTY_E_FORBIDDEN', /only through the user role/);
    assertDenied(policy.mayDecideRun('rob', alexRun), 'DEPUTY_E_FORBIDDEN');
    assertDenied(policy.mayDecideRun('paul', alexRun), 'DEPUTY_E_FORBIDDEN', /read-only from below/);
    assertDenied(policy.mayDecideRun('mcadmin', alexRun), 'DEPUTY_E_NOT_FOUND');
    assertDenied(policy.mayDecideRun('nobody', alexRun), 'DEPUTY_E_NOT_ENROLLED');
  });
});

describe('Policy.approversFor', () => {
  it('names who may approve a script: cyber and company admins managing its tenant', () => {
    assert.deepEqual(policy.approversFor({ scriptId: 'probe' }), ['cora', 'cyra']);
    assert.deepEqual(policy.approversFor({ scriptId: 'disk' }), ['cyra']);
    assert.deepEqual(policy.approversFor({ scriptId: 'ghost' }), []);
  });
  it('names who may decide a run, never the requester', () => {
    assert.deepEqual(policy.approversFor({ run: { principalId: 'alex', actionId: 'set-ooo', tenant: 'hamburg' } }), ['ada', 'cora', 'cyra', 'ulf']);
    assert.deepEqual(policy.approversFor({ run: { principalId: 'cora', actionId: 'set-ooo', tenant: 'hamburg' } }), ['ada', 'alex', 'cyra', 'ulf']);
  });
});

describe('throwIfDenied', () => {
  it('throws the registry error with the reason as log detail only', () => {
    assert.doesNotThrow(() => throwIfDenied(policy.mayRunAction('alex', 'disk-usage')));
    assert.throws(
      () => throwIfDenied(policy.mayRunAction('mia', 'set-ooo')),
      (error: unknown) =>
        error instanceof DeputyError &&
        error.code === 'DEPUTY_E_NOT_FOUND' &&
        error.status === 404 &&
        !error.message.includes('hamburg') &&
        (error.detail ?? '').includes('sideways'),
    );
  });
});
