/**
 * The `targets:` section of catalog.yaml and the `targets` keys of actions and plans
 * (docs/targets.md). Every target pins its host key: one without is refused, never trusted on
 * first use. Each problem is reported with its line, like the other sections.
 */
import { z } from 'zod';
import { IdSchema, TargetSchema, type ActionTargets, type CredentialRef, type RunAs, type Target } from '../domain.ts';
import { parseHostKey } from '../targets/host-key.ts';
import { targetsOfAction } from '../targets/resolve.ts';
import type { Located } from './file.ts';
import { checkUniqueIds, isWithin } from './references.ts';
import type { KeyPath, YamlSource } from './yaml-source.ts';

/** A name or an address; never something ssh could read as an option. */
const HostSchema = z.string().regex(/^[A-Za-z0-9_][A-Za-z0-9_.:-]{0,252}$/, 'a host name or an address');
/** The target's pwsh: a command name or an absolute path, of characters that need no quoting in a shell. */
const PwshSchema = z.string().regex(/^(\/[A-Za-z0-9_.+-]+)+$|^[A-Za-z0-9_][A-Za-z0-9_.+-]*$/, 'a command name or an absolute path (letters, digits, / . _ + -)');

export const TargetEntrySchema = z.strictObject({
  id: IdSchema,
  name: z.string().min(1),
  tenant: IdSchema,
  host: HostSchema,
  port: z.number().int().min(1).max(65_535).optional(),
  user: z.string().regex(/^[A-Za-z_][A-Za-z0-9_.-]{0,31}$/, 'an account name'),
  credential: IdSchema,
  hostKey: z.string().min(1, 'pin the host key ("ssh-ed25519 AAAA…", from ssh-keyscan); a target without one is refused'),
  owner: IdSchema.optional(),
  pwsh: PwshSchema.optional(),
  description: z.string().optional(),
});
export type TargetEntry = z.infer<typeof TargetEntrySchema>;

/** `targets: [web-01, web-02]` or `targets: { tenant: hamburg }` on an action. */
export const ActionTargetsEntrySchema = z.union([z.array(IdSchema).min(1), z.strictObject({ tenant: IdSchema })]);

export interface TargetContext {
  source: YamlSource;
  tenantParents: ReadonlyMap<string, string | undefined>;
  principals: ReadonlyMap<string, { tenant: string }>;
  credentials: readonly CredentialRef[];
  problems: string[];
}

export function buildTargets(entries: Located<TargetEntry>[], context: TargetContext): Target[] {
  const { source, problems, tenantParents } = context;
  checkUniqueIds(source, 'targets', entries, problems);
  const targets: Target[] = [];
  for (const { index, entry } of entries) {
    const at = (...path: (string | number)[]): KeyPath => ['targets', index, ...path];
    const before = problems.length;
    const report = (path: KeyPath, message: string) => problems.push(source.problem(path, message));
    if (!tenantParents.has(entry.tenant)) report(at('tenant'), `unknown tenant "${entry.tenant}"`);
    const credential = context.credentials.find((candidate) => candidate.id === entry.credential);
    if (!credential) report(at('credential'), `unknown credential "${entry.credential}" (declare it under credentials:)`);
    else if (credential.kind !== 'secret') report(at('credential'), `credential "${credential.id}" must be of kind secret (its value is the private key)`);
    else if (tenantParents.has(entry.tenant) && !isWithin(entry.tenant, credential.tenant, tenantParents)) {
      report(at('credential'), `credential "${credential.id}" belongs to tenant "${credential.tenant}", not "${entry.tenant}" or above it`);
    }
    const hostKey = parseHostKey(entry.hostKey);
    if (typeof hostKey === 'string') report(at('hostKey'), hostKey);
    if (entry.owner !== undefined) {
      const owner = context.principals.get(entry.owner);
      if (!owner) report(at('owner'), `unknown principal "${entry.owner}"`);
      else if (tenantParents.has(entry.tenant) && !isWithin(owner.tenant, entry.tenant, tenantParents)) {
        report(at('owner'), `principal "${entry.owner}" (tenant "${owner.tenant}") cannot reach a target of tenant "${entry.tenant}"`);
      }
    }
    if (problems.length > before) continue;
    targets.push(TargetSchema.parse({ ...entry, port: entry.port ?? 22, pwsh: entry.pwsh ?? 'pwsh' }));
  }
  return targets;
}

/**
 * An action's targets must exist and lie in the action's tenant or below it; a target runs
 * scripts as its own `user`, so the action's runAs may only say how (`service`: a new session
 * per run; `pool`: warm sessions), never as which local account.
 */
export function checkActionTargets(
  named: z.infer<typeof ActionTargetsEntrySchema>,
  context: { at: (...path: (string | number)[]) => KeyPath; tenant: string; runAs: RunAs | undefined; targets: readonly Target[]; tenantParents: ReadonlyMap<string, string | undefined> },
  report: (path: KeyPath, message: string) => void,
): ActionTargets | undefined {
  const { at, tenant, tenantParents } = context;
  let failed = false;
  const fail = (path: KeyPath, message: string) => {
    failed = true;
    report(path, message);
  };
  if (context.runAs && (context.runAs.kind === 'process' || (context.runAs.kind === 'pool' && context.runAs.account !== undefined))) {
    fail(at('runAs'), 'an action with targets runs as each target\'s user: runAs must be service (a new session per run) or pool (warm sessions)');
  }
  if (Array.isArray(named)) {
    named.forEach((id, i) => {
      const target = context.targets.find((candidate) => candidate.id === id);
      if (!target) fail(at('targets', i), `unknown target "${id}"`);
      else if (!isWithin(target.tenant, tenant, tenantParents)) fail(at('targets', i), `target "${id}" belongs to tenant "${target.tenant}", not "${tenant}" or below it`);
    });
  } else if (!tenantParents.has(named.tenant)) fail(at('targets', 'tenant'), `unknown tenant "${named.tenant}"`);
  else if (!isWithin(named.tenant, tenant, tenantParents)) fail(at('targets', 'tenant'), `tenant "${named.tenant}" is not "${tenant}" (the action's tenant) or below it`);
  return failed ? undefined : named;
}

/** A plan of an action with targets names the targets it runs on, each one of the action's. */
export function checkPlanTargets(
  plan: { targets?: string[] | undefined },
  action: { id: string; targets?: ActionTargets | undefined } | undefined,
  context: { at: (...path: (string | number)[]) => KeyPath; targets: readonly Target[]; tenantParents: ReadonlyMap<string, string | undefined> },
  report: (path: KeyPath, message: string) => void,
): void {
  if (!action) return;
  const { at } = context;
  if (action.targets === undefined) {
    if (plan.targets !== undefined) report(at('targets'), `action "${action.id}" runs on the executor, not on targets`);
    return;
  }
  if (plan.targets === undefined) {
    report(at('targets'), `action "${action.id}" runs on targets: name the plan's targets`);
    return;
  }
  const allowed = new Set(targetsOfAction(action, context.targets, (tenant, ancestor) => isWithin(tenant, ancestor, context.tenantParents)).map((target) => target.id));
  plan.targets.forEach((id, i) => {
    if (!allowed.has(id)) report(at('targets', i), `"${id}" is not one of action "${action.id}"'s targets`);
  });
}
