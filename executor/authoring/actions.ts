/**
 * Actions created, changed and deleted through the API: the same entry as in catalog.yaml,
 * checked by the same builder (script, version, parameters, credentials, principals), by the
 * Cyber and Company administrators of the action's tenant (`Policy.mayManageActions`).
 */
import { z } from 'zod';
import { buildAction, type ActionContext } from '../catalog/actions.ts';
import type { CatalogEditor } from '../catalog/editor.ts';
import { ActionEntrySchema } from '../catalog/file.ts';
import { formatPath, type KeyPath } from '../catalog/yaml-source.ts';
import { DeputyError } from '../contract/index.ts';
import type { Action, Principal, RunAs } from '../domain.ts';
import type { Policy } from '../policy/index.ts';
import { TenantTree } from '../policy/tenants.ts';
import type { RequestContext } from '../runs/service.ts';
import type { CatalogSnapshot } from '../store/port.ts';
import type { ExecutorStore } from '../store/state-port.ts';
import { knownPrincipal, recordAttempt, refusal, type AttemptRecorder } from './audit.ts';

const PrincipalField = { principalId: z.string().min(1).max(200) };
/** `POST /v1/actions`: the catalog.yaml action entry, and who asks. */
export const CreateActionRequestSchema = ActionEntrySchema.omit({ basedOn: true }).extend(PrincipalField);
/** `PUT /v1/actions/<id>`: the whole entry again (its id is the path's). */
export const UpdateActionRequestSchema = ActionEntrySchema.omit({ id: true, basedOn: true }).extend(PrincipalField);
export type CreateActionRequest = z.infer<typeof CreateActionRequestSchema>;
export type UpdateActionRequest = z.infer<typeof UpdateActionRequestSchema>;

export interface ActionAuthoringOptions {
  store: ExecutorStore;
  policy: Pick<Policy, 'mayManageActions'>;
  editor: CatalogEditor;
  /** Throws DEPUTY_E_MODE_UNAVAILABLE for an execution mode this executor cannot provide. */
  assertModeAvailable: (runAs: RunAs) => void;
}

export class ActionAuthoring {
  private readonly tenants: TenantTree;

  constructor(private readonly options: ActionAuthoringOptions) {
    this.tenants = new TenantTree((id) => options.store.catalog.getTenant(id));
  }

  async create(request: CreateActionRequest, context: RequestContext): Promise<Action> {
    const { principalId, ...entry } = request;
    const attempt = this.attempt('action.create', principalId, entry.id, context);
    const principal = await knownPrincipal(this.options.store.catalog, attempt, principalId);
    return this.options.editor.exclusive(async () => {
      const snapshot = this.options.editor.snapshot();
      const action = await this.built(attempt, principal, entry, snapshot);
      if (snapshot.actions.some((candidate) => candidate.id === action.id)) {
        return attempt.refuse(refusal('DEPUTY_E_CONFLICT', `An action with the id ${action.id} exists already; choose another id.`, undefined, { id: 'taken' }));
      }
      await this.options.editor.replace({ ...snapshot, actions: [...snapshot.actions, action] });
      await attempt.allowed(summary(action));
      return action;
    });
  }

  async update(actionId: string, request: UpdateActionRequest, context: RequestContext): Promise<Action> {
    const { principalId, ...rest } = request;
    const attempt = this.attempt('action.update', principalId, actionId, context);
    const principal = await knownPrincipal(this.options.store.catalog, attempt, principalId);
    return this.options.editor.exclusive(async () => {
      const snapshot = this.options.editor.snapshot();
      const existing = await this.manageable(attempt, principal, actionId, snapshot);
      const action = await this.built(attempt, principal, { ...rest, id: actionId }, snapshot);
      await this.options.editor.replace({ ...snapshot, actions: snapshot.actions.map((candidate) => (candidate.id === actionId ? action : candidate)) });
      await attempt.allowed({ ...summary(action), previous: summary(existing) });
      return action;
    });
  }

  async delete(actionId: string, principalId: string, context: RequestContext): Promise<string> {
    const attempt = this.attempt('action.delete', principalId, actionId, context);
    const principal = await knownPrincipal(this.options.store.catalog, attempt, principalId);
    return this.options.editor.exclusive(async () => {
      const snapshot = this.options.editor.snapshot();
      const existing = await this.manageable(attempt, principal, actionId, snapshot);
      const plans = (snapshot.plans ?? []).filter((plan) => plan.action === actionId).map((plan) => plan.id);
      const connectors = (snapshot.connectors ?? []).filter((connector) => connector.actions.includes(actionId)).map((connector) => connector.id);
      if (plans.length + connectors.length > 0) {
        const uses = [...(plans.length > 0 ? [`plan${plans.length === 1 ? '' : 's'} ${plans.join(', ')}`] : []), ...(connectors.length > 0 ? [`connector${connectors.length === 1 ? '' : 's'} ${connectors.join(', ')}`] : [])];
        return attempt.refuse(refusal('DEPUTY_E_CONFLICT', `Action ${actionId} is still used by ${uses.join(' and ')}; change or delete them first.`), { plans, connectors });
      }
      const runs = (await this.options.store.runs.unfinished()).filter((run) => run.actionId === actionId).map((run) => run.id);
      if (runs.length > 0) {
        return attempt.refuse(refusal('DEPUTY_E_CONFLICT', `Action ${actionId} has runs still waiting or running (${runs.join(', ')}); delete it once they end.`), { runs });
      }
      await this.options.editor.replace({ ...snapshot, actions: snapshot.actions.filter((candidate) => candidate.id !== actionId) });
      await attempt.allowed(summary(existing));
      return actionId;
    });
  }

  // ------------------------------------------------------------------ internals

  private attempt(type: string, actor: string, subject: string, context: RequestContext): AttemptRecorder {
    return recordAttempt(this.options.store.audit, { type, actor, subject, context });
  }


  /** An existing action the principal may manage (its tenant's administrators). */
  private async manageable(attempt: AttemptRecorder, principal: Principal, actionId: string, snapshot: CatalogSnapshot): Promise<Action> {
    const existing = snapshot.actions.find((candidate) => candidate.id === actionId);
    if (!existing) return attempt.refuse(new DeputyError('DEPUTY_E_NOT_FOUND', { detail: `unknown action ${actionId}` }));
    const decision = this.options.policy.mayManageActions(principal.id, existing.tenant);
    if (!decision.allowed) return attempt.deny(decision, { tenant: existing.tenant });
    return existing;
  }

  /**
   * The entry as the catalog importer would build it, in a tenant the principal manages. Without
   * a tenant it lives where its script does, or in the principal's own tenant when the script
   * comes from above (a central script, a local action).
   */
  private async built(attempt: AttemptRecorder, principal: Principal, entry: z.infer<typeof ActionEntrySchema>, snapshot: CatalogSnapshot): Promise<Action> {
    const script = snapshot.scripts.find((candidate) => candidate.id === entry.script);
    const scriptAbove = script !== undefined && this.tenants.isAncestor(script.tenant, principal.tenant);
    const tenant = entry.tenant ?? (scriptAbove || !script ? principal.tenant : script.tenant);
    const decision = this.options.policy.mayManageActions(principal.id, tenant);
    if (!decision.allowed) return attempt.deny(decision, { tenant });

    const fields: Record<string, string> = {};
    const source = {
      problem(path: KeyPath, message: string): string {
        // Paths arrive as the importer's `actions[i].<key>`; the request's field is what follows.
        const key = formatPath(path.slice(2)) || '_body';
        fields[key] ??= message;
        return `${key}: ${message}`;
      },
    };
    const context: ActionContext = {
      source,
      scripts: new Map(snapshot.scripts.map((candidate) => [candidate.id, candidate])),
      parameters: new Map(snapshot.versions.map((version) => [version.hash, version.parameters])),
      parameterSets: new Map(snapshot.versions.flatMap((version) => (version.parameterSets ? [[version.hash, version.parameterSets] as const] : []))),
      queries: new Map((snapshot.queries ?? []).map((query) => [query.id, query])),
      tenantParents: new Map(snapshot.tenants.map((candidate) => [candidate.id, candidate.parent])),
      principals: new Set(snapshot.principals.map((candidate) => candidate.id)),
      credentials: new Map((snapshot.credentials ?? []).map((credential) => [credential.id, { tenant: credential.tenant }])),
      targets: snapshot.targets ?? [],
      problems: [],
    };
    const action = buildAction({ index: 0, entry: { ...entry, tenant } }, context);
    if (action) {
      try {
        this.options.assertModeAvailable(action.runAs);
      } catch (error) {
        fields.runAs = error instanceof DeputyError ? error.message : String(error);
      }
    }
    if (!action || Object.keys(fields).length > 0) {
      const problems = Object.entries(fields).map(([key, message]) => `${key}: ${message}`);
      return attempt.refuse(new DeputyError('DEPUTY_E_VALIDATION', { message: `The action is not valid: ${problems.join('; ')}`, fields, detail: problems.join('; ') }), { tenant });
    }
    return action;
  }
}

function summary(action: Action): Record<string, unknown> {
  return { tenant: action.tenant, script: action.scriptId, version: action.version, runAs: action.runAs.kind, approval: action.approval };
}
