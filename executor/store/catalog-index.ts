/**
 * The catalog held in memory with its lookup maps, shared by every backend. A snapshot is
 * validated and indexed in full before it replaces the current one, so a catalog with two
 * principals claiming the same chat identity (or two records with one id) is refused whole.
 */
import { z } from 'zod';
import { DeputyError } from '../contract/errors.ts';
import type { ChatIdentity } from '../contract/index.ts';
import { ActionSchema, ConnectorSchema, CredentialRefSchema, PlanSchema, PrincipalSchema, ScriptSchema, ScriptVersionSchema, TargetSchema, TenantSchema } from '../domain.ts';
import type { Action, Principal, Script, ScriptVersion, Target, Tenant } from '../domain.ts';
import type { CatalogSnapshot, CatalogStore } from './port.ts';

export const CatalogSnapshotSchema = z.object({
  tenants: z.array(TenantSchema),
  principals: z.array(PrincipalSchema),
  scripts: z.array(ScriptSchema),
  versions: z.array(ScriptVersionSchema),
  actions: z.array(ActionSchema),
  connectors: z.array(ConnectorSchema).optional(),
  credentials: z.array(CredentialRefSchema).optional(),
  plans: z.array(PlanSchema).optional(),
  targets: z.array(TargetSchema).optional(),
});

export const EMPTY_CATALOG: CatalogSnapshot = { tenants: [], principals: [], scripts: [], versions: [], actions: [] };

/**
 * One key per verified identity. Teams ids are GUIDs, which Microsoft writes in either case,
 * so they are compared lower-cased; Slack and web chat ids are compared exactly.
 */
function identityKey(identity: ChatIdentity): string {
  switch (identity.channel) {
    case 'teams':
      return JSON.stringify(['teams', identity.tenantId.toLowerCase(), identity.aadObjectId.toLowerCase()]);
    case 'slack':
      return JSON.stringify(['slack', identity.teamId, identity.userId]);
    case 'webchat':
      return JSON.stringify(['webchat', identity.persona]);
  }
}

function identitiesOf(principal: Principal): ChatIdentity[] {
  const { webchat, slack, teams } = principal.identities;
  const identities: ChatIdentity[] = [];
  if (webchat !== undefined) identities.push({ channel: 'webchat', persona: webchat });
  if (slack) identities.push({ channel: 'slack', ...slack });
  if (teams) identities.push({ channel: 'teams', ...teams });
  return identities;
}

function byId<T>(records: T[], key: (record: T) => string, kind: string): Map<string, T> {
  const map = new Map<string, T>();
  for (const record of records) {
    const id = key(record);
    if (map.has(id)) throw new DeputyError('DEPUTY_E_CATALOG_INVALID', { message: `The catalog holds two ${kind} with the id "${id}".` });
    map.set(id, record);
  }
  return map;
}

/** Validates a snapshot (throws DEPUTY_E_CATALOG_INVALID) and returns it parsed. */
export function parseSnapshot(next: unknown): CatalogSnapshot {
  const parsed = CatalogSnapshotSchema.safeParse(next);
  if (!parsed.success) {
    throw new DeputyError('DEPUTY_E_CATALOG_INVALID', { detail: z.prettifyError(parsed.error) });
  }
  return parsed.data;
}

export class CatalogIndex {
  private readonly tenants: Map<string, Tenant>;
  private readonly principals: Map<string, Principal>;
  private readonly scripts: Map<string, Script>;
  private readonly versions: Map<string, ScriptVersion>;
  private readonly actions: Map<string, Action>;
  private readonly targets: Map<string, Target>;
  private readonly principalByIdentity = new Map<string, Principal>();

  constructor(private readonly data: CatalogSnapshot) {
    this.tenants = byId(data.tenants, (tenant) => tenant.id, 'tenants');
    this.principals = byId(data.principals, (principal) => principal.id, 'principals');
    this.scripts = byId(data.scripts, (script) => script.id, 'scripts');
    this.versions = byId(data.versions, (version) => version.hash, 'script versions');
    this.actions = byId(data.actions, (action) => action.id, 'actions');
    this.targets = byId(data.targets ?? [], (target) => target.id, 'targets');
    for (const principal of data.principals) {
      for (const identity of identitiesOf(principal)) {
        const key = identityKey(identity);
        const holder = this.principalByIdentity.get(key);
        if (holder) {
          throw new DeputyError('DEPUTY_E_CATALOG_INVALID', {
            message: `Principals "${holder.id}" and "${principal.id}" claim the same ${identity.channel} identity.`,
          });
        }
        this.principalByIdentity.set(key, principal);
      }
    }
  }

  // Callers get copies: a record changed by a caller must not change the store behind its back.
  snapshot(): CatalogSnapshot {
    return structuredClone(this.data);
  }
  getTenant(id: string): Tenant | undefined {
    return copy(this.tenants.get(id));
  }
  getPrincipal(id: string): Principal | undefined {
    return copy(this.principals.get(id));
  }
  findPrincipalByIdentity(identity: ChatIdentity): Principal | undefined {
    return copy(this.principalByIdentity.get(identityKey(identity)));
  }
  getScript(id: string): Script | undefined {
    return copy(this.scripts.get(id));
  }
  getVersion(hash: string): ScriptVersion | undefined {
    return copy(this.versions.get(hash));
  }
  getAction(id: string): Action | undefined {
    return copy(this.actions.get(id));
  }
  listActions(): Action[] {
    return structuredClone(this.data.actions);
  }
  getTarget(id: string): Target | undefined {
    return copy(this.targets.get(id));
  }
  listTargets(): Target[] {
    return structuredClone(this.data.targets ?? []);
  }
}

function copy<T>(record: T | undefined): T | undefined {
  return record === undefined ? undefined : structuredClone(record);
}

/** The read side of CatalogStore over a replaceable index; backends add `replace`. */
export abstract class IndexedCatalog implements CatalogStore {
  protected index = new CatalogIndex(EMPTY_CATALOG);

  abstract replace(next: CatalogSnapshot): Promise<void>;

  snapshot(): CatalogSnapshot {
    return this.index.snapshot();
  }
  getTenant(id: string): Tenant | undefined {
    return this.index.getTenant(id);
  }
  getPrincipal(id: string): Principal | undefined {
    return this.index.getPrincipal(id);
  }
  findPrincipalByIdentity(identity: ChatIdentity): Principal | undefined {
    return this.index.findPrincipalByIdentity(identity);
  }
  getScript(id: string): Script | undefined {
    return this.index.getScript(id);
  }
  getVersion(hash: string): ScriptVersion | undefined {
    return this.index.getVersion(hash);
  }
  getAction(id: string): Action | undefined {
    return this.index.getAction(id);
  }
  listActions(): Action[] {
    return this.index.listActions();
  }
  getTarget(id: string): Target | undefined {
    return this.index.getTarget(id);
  }
  listTargets(): Target[] {
    return this.index.listTargets();
  }
}
