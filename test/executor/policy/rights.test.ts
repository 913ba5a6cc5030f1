/**
 * One test per cell of the rights table (role group × object × status).
 *
 * The expected cells are an independent literal copy of the seed table
 * (seeds/003_bd7a080f20978879.txt), so a change to executor/policy/rights.ts that breaks the
 * table fails here. Each cell is checked both in the data (`rightsFor`) and through the
 * policy check itself, for every role of the group: every verb of the cell is allowed and
 * every other verb denied.
 */
import assert from 'node:assert/strict';
import { ROLES, type ScriptStatus } from '../../../executor/contract/index.ts';
import { Policy } from '../../../executor/policy/policy.ts';
import { PLAN_VERBS, rightsFor, SCRIPT_VERBS, type PlanVerb, type ScriptVerb } from '../../../executor/policy/rights.ts';
import { memoryCatalog, principal, script } from './fixture.ts';

type Cells<V> = Record<ScriptStatus, V[]>;
interface SeedRow {
  group: string;
  roles: string[];
  script: Cells<ScriptVerb>;
  plan: Cells<PlanVerb>;
}

/** The seed table, typed out again by hand. */
const SEED_TABLE: SeedRow[] = [
  {
    group: 'Cyber administrator / Company administrator',
    roles: ['cyber-admin', 'company-admin'],
    script: {
      draft: ['create', 'edit', 'change-status', 'clone', 'delete', 'cancel-running'],
      testing: ['create', 'edit', 'change-status', 'run', 'clone', 'delete', 'cancel-running'],
      approved: ['create', 'edit', 'change-status', 'run', 'clone', 'delete', 'cancel-running'],
    },
    plan: {
      draft: ['edit-remove-draft', 'delete', 'revoke', 'disable', 'stop'],
      testing: ['create', 'edit', 'apply', 'enable', 'run', 'delete', 'revoke', 'disable', 'stop'],
      approved: ['create', 'edit', 'apply', 'enable', 'run', 'delete', 'revoke', 'disable', 'stop'],
    },
  },
  {
    group: 'Administrator / User (own workloads)',
    roles: ['administrator', 'user'],
    script: {
      draft: ['create', 'edit', 'clone', 'delete', 'cancel-running'],
      testing: ['view', 'clone', 'cancel-running'],
      approved: ['run', 'clone', 'cancel-running'],
    },
    plan: {
      draft: ['view', 'edit', 'revoke', 'disable', 'stop'],
      testing: ['view', 'cancel-run'],
      approved: ['create', 'edit', 'apply', 'enable', 'run', 'delete', 'revoke', 'disable', 'stop'],
    },
  },
  {
    group: 'Read-only administrator',
    roles: ['read-only'],
    script: { draft: ['view'], testing: ['view'], approved: ['view'] },
    plan: { draft: ['view'], testing: ['view'], approved: ['view'] },
  },
];

/** The two rights the seed leaves unsaid (docs/policy.md): anyone with a right may view; a full edit includes removing a draft. */
function withImplied(object: 'script' | 'plan', verbs: readonly string[]): Set<string> {
  const expected = new Set(verbs);
  if (expected.size > 0) expected.add('view');
  if (object === 'plan' && expected.has('edit')) expected.add('edit-remove-draft');
  return expected;
}

const STATUSES: ScriptStatus[] = ['draft', 'testing', 'approved'];
const TENANT = 'contoso';
const OWN_WORKLOAD = 'own-laptop';

function policyWith(role: string, status: ScriptStatus): Policy {
  const { script: subject, versions } = script('subject', TENANT, status);
  return new Policy(
    memoryCatalog({
      tenants: [{ id: TENANT, name: 'Contoso' }],
      principals: [principal('someone', TENANT, [role], [OWN_WORKLOAD])],
      scripts: [subject],
      versions,
      actions: [],
    }),
  );
}

describe('rights table: one test per cell', () => {
  it('every role of the contract has exactly one row', () => {
    const listed = SEED_TABLE.flatMap((row) => row.roles).sort();
    assert.deepEqual(listed, [...ROLES].sort());
  });

  for (const row of SEED_TABLE) {
    for (const status of STATUSES) {
      it(`${row.group} × script × ${status}`, () => {
        const expected = withImplied('script', row.script[status]);
        for (const role of row.roles) {
          assert.deepEqual(new Set(rightsFor(role, 'script', status)), expected, `data for ${role}`);
          const policy = policyWith(role, status);
          for (const verb of SCRIPT_VERBS) {
            const decision = policy.mayOnScript('someone', 'subject', verb, { workload: OWN_WORKLOAD });
            assert.equal(decision.allowed, expected.has(verb), `${role} ${verb} on a ${status} script`);
            if (!decision.allowed) assert.equal(decision.code, 'DEPUTY_E_FORBIDDEN');
          }
        }
      });

      it(`${row.group} × scripting plan × ${status}`, () => {
        const expected = withImplied('plan', row.plan[status]);
        for (const role of row.roles) {
          assert.deepEqual(new Set(rightsFor(role, 'plan', status)), expected, `data for ${role}`);
          const policy = policyWith(role, status);
          for (const verb of PLAN_VERBS) {
            const decision = policy.mayOnPlan('someone', { tenant: TENANT, status, workloads: [OWN_WORKLOAD] }, verb);
            assert.equal(decision.allowed, expected.has(verb), `${role} ${verb} on a ${status} plan`);
            if (!decision.allowed) assert.equal(decision.code, 'DEPUTY_E_FORBIDDEN');
          }
        }
      });
    }
  }

  it('knows nothing outside the table: unknown role, object or status give no rights', () => {
    assert.equal(rightsFor('superuser', 'script', 'approved'), undefined);
    assert.equal(rightsFor('cyber-admin', 'script', 'retired'), undefined);
    assert.equal(rightsFor('cyber-admin', 'mailbox' as 'script', 'approved'), undefined);
  });
});
