/**
 * Property tests over random catalogs: random tenant trees (with the odd cycle and missing
 * parent), principals with random roles and tenants, scripts in random statuses, actions with
 * random allow-lists, tenants, versions and workload bindings. The oracles below are written
 * apart from the policy's own code.
 */
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ROLES, SCRIPT_STATUSES, type ScriptStatus } from '../../../executor/contract/index.ts';
import type { Action, Principal, Script, ScriptVersion, Tenant } from '../../../executor/domain.ts';
import { Policy } from '../../../executor/policy/policy.ts';
import { PLAN_VERBS, SCRIPT_VERBS } from '../../../executor/policy/rights.ts';
import { action, hashOf, memoryCatalog, type CatalogData } from './fixture.ts';

const WORKLOADS = ['w1', 'w2', 'w3'];
const ROLE_POOL = [...ROLES, 'superuser'];

const tenantsArb: fc.Arbitrary<Tenant[]> = fc.integer({ min: 1, max: 6 }).chain((count) =>
  fc.tuple(
    ...Array.from({ length: count }, (_, index) =>
      fc
        .oneof(
          { arbitrary: fc.constant<string | undefined>(undefined), weight: 3 },
          // Mostly a tree (a parent listed earlier); rarely any tenant, which may close a cycle.
          { arbitrary: fc.nat({ max: 20 }).map((n) => (index === 0 ? undefined : `t${n % index}`)), weight: 14 },
          { arbitrary: fc.nat({ max: 20 }).map((n) => `t${n % count}`), weight: 1 },
          { arbitrary: fc.constant('ghost-parent'), weight: 1 },
        )
        .map((parent): Tenant => ({ id: `t${index}`, name: `Tenant ${index}`, ...(parent === undefined ? {} : { parent }) })),
    ),
  ),
);

function tenantIdArb(tenants: Tenant[]): fc.Arbitrary<string> {
  return fc.oneof({ arbitrary: fc.constantFrom(...tenants.map((tenant) => tenant.id)), weight: 19 }, { arbitrary: fc.constant('nowhere'), weight: 1 });
}

const catalogArb: fc.Arbitrary<CatalogData> = tenantsArb.chain((tenants) => {
  const tenantId = tenantIdArb(tenants);
  const principalsArb = fc.integer({ min: 1, max: 6 }).chain((count) =>
    fc.tuple(
      ...Array.from({ length: count }, (_, index) =>
        fc.record({
          tenant: tenantId,
          roles: fc.oneof(
            { arbitrary: fc.subarray([...ROLES], { minLength: 1, maxLength: 2 }), weight: 8 },
            { arbitrary: fc.subarray(ROLE_POOL, { maxLength: 3 }), weight: 2 },
          ),
          workloads: fc.subarray(WORKLOADS),
        }).map(({ tenant, roles, workloads }): Principal => ({
          id: `p${index}`, name: `P${index}`, tenant, roles: roles as Principal['roles'], identities: {}, workloads,
        })),
      ),
    ),
  );
  const scriptsArb = fc.integer({ min: 1, max: 4 }).chain((count) =>
    fc.tuple(
      ...Array.from({ length: count }, (_, index) =>
        fc.record({
          tenant: tenantId,
          status: fc.oneof({ arbitrary: fc.constant<ScriptStatus>('approved'), weight: 3 }, { arbitrary: fc.constantFrom(...SCRIPT_STATUSES), weight: 2 }),
          versionCount: fc.integer({ min: 1, max: 3 }),
          approvedIndex: fc.option(fc.nat({ max: 2 }), { nil: undefined }),
          storeAll: fc.oneof({ arbitrary: fc.constant(true), weight: 9 }, { arbitrary: fc.constant(false), weight: 1 }),
        }).map(({ tenant, status, versionCount, approvedIndex, storeAll }) => {
          const hashes = Array.from({ length: versionCount }, (_, v) => hashOf(`s${index}-v${v}`));
          const current = hashes.at(-1) ?? '';
          const approvedHash = status === 'approved' ? current : approvedIndex === undefined ? undefined : hashes[approvedIndex % versionCount];
          const script: Script = { id: `s${index}`, name: `S${index}`, tenant, status, currentHash: current, versions: hashes, ...(approvedHash ? { approvedHash } : {}) };
          // Now and then a version record is missing from the catalog.
          const stored = storeAll ? hashes : hashes.slice(1);
          const versions: ScriptVersion[] = stored.map((hash) => ({ hash, scriptId: script.id, text: '', parameters: [], createdAt: '2024-01-01T00:00:00Z' }));
          return { script, versions };
        }),
      ),
    ),
  );
  return fc.tuple(principalsArb, scriptsArb).chain(([principals, scripts]) => {
    const scriptTenants = new Map([...scripts.map((entry): [string, string] => [entry.script.id, entry.script.tenant]), ['ghost-script', 't0']]);
    const allHashes = scripts.flatMap((entry) => entry.script.versions);
    const scriptHashes = new Map(scripts.map((entry) => [entry.script.id, entry.script.versions]));
    const actionsArb = fc.integer({ min: 1, max: 6 }).chain((count) =>
      fc.tuple(
        ...Array.from({ length: count }, (_, index) =>
          fc.constantFrom(...scriptTenants.keys()).chain((scriptId) => fc.record({
            scriptId: fc.constant(scriptId),
            // Usually the script's own tenant (the catalog's default), sometimes anywhere.
            tenant: fc.oneof({ arbitrary: fc.constant(scriptTenants.get(scriptId) ?? 't0'), weight: 3 }, { arbitrary: tenantId, weight: 2 }),
            version: fc.oneof(
              { arbitrary: fc.constant('latest-approved'), weight: 3 },
              { arbitrary: fc.constantFrom(...(scriptHashes.get(scriptId) ?? allHashes)), weight: 2 },
              { arbitrary: fc.constantFrom(...allHashes), weight: 1 },
            ),
            roles: fc.subarray([...ROLES], { minLength: 1 }),
            principals: fc.subarray(principals.map((p) => p.id)),
            bound: fc.boolean(),
            fixed: fc.option(fc.constantFrom(...WORKLOADS, 'p0'), { nil: undefined, freq: 3 }),
          })).map((fields): Action =>
            action({
              id: `a${index}`,
              scriptId: fields.scriptId,
              tenant: fields.tenant,
              version: fields.version,
              roles: fields.roles,
              principals: fields.principals,
              ...(fields.bound ? { ownWorkloadParameter: 'Target' } : {}),
              ...(fields.fixed === undefined ? {} : { fixed: { Target: fields.fixed } }),
            }),
          ),
        ),
      ),
    );
    return actionsArb.map((actions) => ({
      tenants,
      principals,
      scripts: scripts.map((entry) => entry.script),
      versions: scripts.flatMap((entry) => entry.versions),
      actions,
    }));
  });
});

// ---------------------------------------------------------------- oracles, apart from the policy

/** The tenant and its ancestors, or undefined when unknown, looping or dangling: a bounded walk. */
function lineOf(tenants: Tenant[], id: string): string[] | undefined {
  const line: string[] = [];
  let current: string | undefined = id;
  for (let step = 0; step <= tenants.length; step += 1) {
    if (current === undefined) return line;
    const tenant = tenants.find((candidate) => candidate.id === current);
    if (tenant === undefined) return undefined;
    line.push(tenant.id);
    current = tenant.parent;
  }
  return undefined;
}

function relatedVertically(tenants: Tenant[], a: string, b: string): boolean {
  const lineA = lineOf(tenants, a);
  const lineB = lineOf(tenants, b);
  return lineA !== undefined && lineB !== undefined && (lineA.includes(b) || lineB.includes(a));
}

function isStrictAncestor(tenants: Tenant[], ancestor: string, of: string): boolean {
  return ancestor !== of && (lineOf(tenants, of)?.includes(ancestor) ?? false);
}

function onAllowList(principal: Principal, candidate: Action): boolean {
  return candidate.allow.principals.includes(principal.id) || candidate.allow.roles.some((role) => principal.roles.includes(role));
}

/** Inputs naming a workload that is certainly the principal's own: their id. */
function ownInputs(principal: Principal, candidate: Action): Record<string, unknown> {
  return { [candidate.ownWorkloadParameter ?? 'Target']: principal.id };
}

function randomInputsArb(): fc.Arbitrary<Record<string, unknown>> {
  return fc.dictionary(fc.constantFrom('Target', 'Other'), fc.oneof(fc.constantFrom(...WORKLOADS, 'p0', 'p1'), fc.integer()));
}

const RUNS = { numRuns: 150 };

describe('policy properties over random catalogs', () => {
  it('no principal off an action’s allow-list, or sideways of its tenant, ever may run it', () => {
    fc.assert(
      fc.property(catalogArb, randomInputsArb(), (catalog, inputs) => {
        const policy = new Policy(memoryCatalog(catalog));
        for (const principal of catalog.principals) {
          for (const candidate of catalog.actions) {
            if (!policy.mayRunAction(principal.id, candidate.id, inputs).allowed) continue;
            assert.ok(onAllowList(principal, candidate), `${principal.id} is not on the allow-list of ${candidate.id}`);
            assert.ok(relatedVertically(catalog.tenants, principal.tenant, candidate.tenant), `${principal.id} runs ${candidate.id} sideways`);
          }
        }
      }),
      RUNS,
    );
  });

  it('nothing Draft ever runs, and Testing runs only for cyber or company admins', () => {
    fc.assert(
      fc.property(catalogArb, randomInputsArb(), (catalog, inputs) => {
        const policy = new Policy(memoryCatalog(catalog));
        for (const principal of catalog.principals) {
          for (const candidate of catalog.actions) {
            if (!policy.mayRunAction(principal.id, candidate.id, inputs).allowed) continue;
            const script = catalog.scripts.find((s) => s.id === candidate.scriptId);
            assert.ok(script, 'an allowed run has a script');
            const hash = candidate.version === 'latest-approved' ? (script.status === 'approved' ? script.currentHash : script.approvedHash) : candidate.version;
            const status: ScriptStatus = hash === script.currentHash ? script.status : hash === script.approvedHash ? 'approved' : 'draft';
            assert.notEqual(status, 'draft');
            if (status === 'testing') assert.ok(principal.roles.some((role) => role === 'cyber-admin' || role === 'company-admin'));
          }
        }
      }),
      RUNS,
    );
  });

  it('a principal who is only a user runs only on their own workloads', () => {
    fc.assert(
      fc.property(catalogArb, randomInputsArb(), (catalog, inputs) => {
        const users = catalog.principals.map((p) => ({ ...p, roles: ['user' as const] }));
        const policy = new Policy(memoryCatalog({ ...catalog, principals: users }));
        for (const user of users) {
          for (const candidate of catalog.actions) {
            if (!policy.mayRunAction(user.id, candidate.id, inputs).allowed) continue;
            assert.ok(candidate.ownWorkloadParameter, `${candidate.id} is not bound to a workload`);
            const value = candidate.fixed[candidate.ownWorkloadParameter] ?? inputs[candidate.ownWorkloadParameter];
            assert.ok(typeof value === 'string' && (user.workloads.includes(value) || value === user.id), `${user.id} runs on ${String(value)}`);
          }
        }
      }),
      RUNS,
    );
  });

  it('a read-only administrator never gets anything but view', () => {
    fc.assert(
      fc.property(catalogArb, fc.constantFrom(...SCRIPT_STATUSES), (catalog, planStatus) => {
        const readers = catalog.principals.map((p) => ({ ...p, roles: ['read-only' as const] }));
        const policy = new Policy(memoryCatalog({ ...catalog, principals: readers }));
        for (const reader of readers) {
          for (const candidate of catalog.actions) {
            assert.equal(policy.mayRunAction(reader.id, candidate.id, ownInputs(reader, candidate)).allowed, false);
            const run = { principalId: 'someone-else', actionId: candidate.id, tenant: candidate.tenant };
            assert.equal(policy.mayCancelRun(reader.id, run).allowed, false);
            assert.equal(policy.mayDecideRun(reader.id, run).allowed, false);
          }
          for (const script of catalog.scripts) {
            for (const verb of SCRIPT_VERBS.filter((v) => v !== 'view')) {
              assert.equal(policy.mayOnScript(reader.id, script.id, verb, { workload: reader.id }).allowed, false, verb);
            }
            for (const to of SCRIPT_STATUSES) assert.equal(policy.mayChangeScriptStatus(reader.id, script.id, to).allowed, false);
          }
          for (const tenant of catalog.tenants) {
            for (const verb of PLAN_VERBS.filter((v) => v !== 'view')) {
              assert.equal(policy.mayOnPlan(reader.id, { tenant: tenant.id, status: planStatus, workloads: [reader.id] }, verb).allowed, false, verb);
            }
          }
          assert.deepEqual(policy.visibleActions(reader.id), []);
        }
      }),
      RUNS,
    );
  });

  it('visibleActions are exactly the actions mayRunAction allows (given own-workload inputs)', () => {
    fc.assert(
      fc.property(catalogArb, (catalog) => {
        const policy = new Policy(memoryCatalog(catalog));
        for (const principal of [...catalog.principals, { id: 'stranger' } as Principal]) {
          const visible = new Set(policy.visibleActions(principal.id).map((a) => a.id));
          const runnable = new Set(
            catalog.actions.filter((a) => policy.mayRunAction(principal.id, a.id, ownInputs(principal, a)).allowed).map((a) => a.id),
          );
          assert.deepEqual(visible, runnable, principal.id);
        }
      }),
      RUNS,
    );
  });

  it('objects are reachable only along the tenant line, and read-only from below', () => {
    fc.assert(
      fc.property(catalogArb, fc.constantFrom(...SCRIPT_VERBS), fc.constantFrom(...PLAN_VERBS), (catalog, scriptVerb, planVerb) => {
        const policy = new Policy(memoryCatalog(catalog));
        for (const principal of catalog.principals) {
          for (const script of catalog.scripts) {
            if (!policy.mayOnScript(principal.id, script.id, scriptVerb, { workload: principal.id }).allowed) continue;
            assert.ok(relatedVertically(catalog.tenants, principal.tenant, script.tenant));
            if (isStrictAncestor(catalog.tenants, script.tenant, principal.tenant)) assert.ok(['view', 'run', 'clone'].includes(scriptVerb), 'from below a script is seen, run or cloned, never changed');
          }
          for (const tenant of catalog.tenants) {
            if (!policy.mayOnPlan(principal.id, { tenant: tenant.id, status: 'approved', workloads: [principal.id] }, planVerb).allowed) continue;
            assert.ok(relatedVertically(catalog.tenants, principal.tenant, tenant.id));
            if (isStrictAncestor(catalog.tenants, tenant.id, principal.tenant)) assert.equal(planVerb, 'view');
          }
        }
      }),
      RUNS,
    );
  });

  it('nobody ever decides their own run, and deciders manage the run’s tenant', () => {
    fc.assert(
      fc.property(catalogArb, (catalog) => {
        const policy = new Policy(memoryCatalog(catalog));
        for (const decider of catalog.principals) {
          for (const candidate of catalog.actions) {
            const own = { principalId: decider.id, actionId: candidate.id, tenant: candidate.tenant };
            assert.equal(policy.mayDecideRun(decider.id, own).allowed, false);
            const other = { ...own, principalId: 'requester' };
            if (policy.mayDecideRun(decider.id, other).allowed) {
              assert.ok(lineOf(catalog.tenants, candidate.tenant)?.includes(decider.tenant), `${decider.id} decides outside their tenants`);
            }
          }
        }
      }),
      RUNS,
    );
  });

  it('decisions are deterministic: the same catalog gives the same answers, every time', () => {
    fc.assert(
      fc.property(catalogArb, randomInputsArb(), (catalog, inputs) => {
        const decide = (policy: Policy) =>
          catalog.principals.map((principal) => ({
            visible: policy.visibleActions(principal.id).map((a) => a.id),
            runs: catalog.actions.map((a) => policy.mayRunAction(principal.id, a.id, inputs)),
            scripts: catalog.scripts.map((s) => SCRIPT_VERBS.map((verb) => policy.mayOnScript(principal.id, s.id, verb))),
            approvers: catalog.actions.map((a) => policy.approversFor({ run: { principalId: principal.id, actionId: a.id, tenant: a.tenant } })),
          }));
        const policy = new Policy(memoryCatalog(catalog));
        const first = decide(policy);
        assert.deepEqual(decide(policy), first);
        assert.deepEqual(decide(new Policy(memoryCatalog(structuredClone(catalog)))), first);
      }),
      { numRuns: 60 },
    );
  });
});
