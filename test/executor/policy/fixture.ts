/**
 * An in-memory catalog view built from plain arrays, plus builders for its records. The
 * policy only reads data, so tests hand it data.
 */
import { createHash } from 'node:crypto';
import type { Role, ScriptStatus } from '../../../executor/contract/index.ts';
import { ActionSchema, type Action, type Principal, type Script, type ScriptVersion, type Target, type Tenant } from '../../../executor/domain.ts';
import type { PolicyCatalog } from '../../../executor/policy/policy.ts';

export interface CatalogData {
  tenants: Tenant[];
  principals: Principal[];
  scripts: Script[];
  versions: ScriptVersion[];
  actions: Action[];
  targets?: Target[];
}

/** First match wins, like a lookup over a list; the tenant tree itself treats duplicates by its own rule. */
export function memoryCatalog(data: CatalogData): PolicyCatalog {
  return {
    getTenant: (id) => data.tenants.find((tenant) => tenant.id === id),
    getPrincipal: (id) => data.principals.find((principal) => principal.id === id),
    getScript: (id) => data.scripts.find((script) => script.id === id),
    getVersion: (hash) => data.versions.find((version) => version.hash === hash),
    getAction: (id) => data.actions.find((action) => action.id === id),
    listActions: () => [...data.actions],
    getTarget: (id) => data.targets?.find((target) => target.id === id),
    listTargets: () => [...(data.targets ?? [])],
    snapshot: () => ({ principals: [...data.principals] }),
  };
}

export function hashOf(label: string): string {
  return createHash('sha256').update(label).digest('hex');
}

export function principal(id: string, tenant: string, roles: readonly string[], workloads: string[] = []): Principal {
  // Roles are cast on purpose: tests also feed the policy roles the schema would reject.
  return { id, name: id, tenant, roles: roles as Role[], identities: {}, workloads };
}

/**
 * A script and its version records. `versions` are labels, oldest first; the last is current.
 * `approved` names the label of the last approved version, if any.
 */
export function script(
  id: string,
  tenant: string,
  status: ScriptStatus,
  options: { versions?: string[]; approved?: string } = {},
): { script: Script; versions: ScriptVersion[] } {
  const labels = options.versions ?? [`${id}-v1`];
  const versions = labels.map((label) => ({
    hash: hashOf(label),
    scriptId: id,
    text: `# ${label}`,
    parameters: [],
    createdAt: '2024-01-01T00:00:00.000Z',
  }));
  const current = versions.at(-1);
  if (current === undefined) throw new Error('a script needs a version');
  const approvedHash = options.approved === undefined ? (status === 'approved' ? current.hash : undefined) : hashOf(options.approved);
  return {
    script: {
      id,
      name: id,
      tenant,
      status,
      currentHash: current.hash,
      ...(approvedHash === undefined ? {} : { approvedHash }),
      versions: versions.map((version) => version.hash),
    },
    versions,
  };
}

/** An action through the real schema, so its defaults are the real ones. */
export function action(fields: {
  id: string;
  scriptId: string;
  tenant: string;
  version?: string;
  roles?: string[];
  principals?: string[];
  ownWorkloadParameter?: string;
  fixed?: Record<string, string>;
  targets?: Action['targets'];
}): Action {
  return ActionSchema.parse({
    id: fields.id,
    title: fields.id,
    scriptId: fields.scriptId,
    version: fields.version ?? 'latest-approved',
    tenant: fields.tenant,
    runAs: { kind: 'service' },
    fixed: fields.fixed ?? {},
    allow: { roles: fields.roles ?? [], principals: fields.principals ?? [] },
    ...(fields.ownWorkloadParameter === undefined ? {} : { ownWorkloadParameter: fields.ownWorkloadParameter }),
    ...(fields.targets === undefined ? {} : { targets: fields.targets }),
  });
}

/** A target system record; only its tenant and owner matter to the policy. */
export function target(id: string, tenant: string, owner?: string): Target {
  return {
    id,
    name: `Machine ${id}`,
    tenant,
    host: `${id}.example`,
    port: 22,
    user: 'deputy',
    credential: `${id}-key`,
    hostKey: 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIP0000000000000000000000000000000000000000000',
    pwsh: 'pwsh',
    ...(owner === undefined ? {} : { owner }),
  };
}
