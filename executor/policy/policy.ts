/**
 * The policy check: every request passes through here before anything happens.
 *
 * It reads the catalog as it is at the moment of the question and answers with a Decision.
 * When it cannot decide (an unknown principal, role, tenant, action, script or version, a
 * broken tenant chain, a missing workload value) it refuses: a gap in the data never turns
 * into a right. A refusal carries a registry code (what the user is told) and a reason
 * (what the log and the audit entry get; never shown in chat).
 */
import { DeputyError, type ErrorCode, type Role, type ScriptStatus } from '../contract/index.ts';
import type { Action, Principal, Target } from '../domain.ts';
import { targetsOfAction } from '../targets/resolve.ts';
import type { CatalogSnapshot, CatalogStore } from '../store/port.ts';
import {
  hasRight,
  isRole,
  isScriptStatus,
  READ_ONLY_FROM_BELOW,
  WORKLOAD_BOUND_VERBS,
  type PlanVerb,
  type PolicyObject,
  type ScriptVerb,
  type VerbOf,
} from './rights.ts';
import { TenantTree } from './tenants.ts';
import { resolveActionVersion, versionStatus } from './versions.ts';

export type Decision = { allowed: true } | { allowed: false; code: ErrorCode; reason: string };
export type Denied = Extract<Decision, { allowed: false }>;

/** The part of the catalog the policy reads. A `CatalogStore` is one. */
export interface PolicyCatalog
  extends Pick<CatalogStore, 'getTenant' | 'getPrincipal' | 'getScript' | 'getVersion' | 'getAction' | 'listActions' | 'getTarget' | 'listTargets'> {
  /** Only `principals` is read, to find approvers. */
  snapshot(): Pick<CatalogSnapshot, 'principals'>;
}

/** What the policy needs to know about a run (a `RunRecord` is one). */
export interface RunRef {
  principalId: string;
  actionId: string;
  tenant: string;
  /** The run's script and exact hash; when absent, taken from the action as it is now. */
  scriptId?: string;
  scriptHash?: string;
  /** The target systems the run is on, if any. */
  targets?: readonly { id: string }[];
}

/** A scripting plan as far as rights go: its tenant, the status column it falls in, and the workloads it is applied to. */
export interface PlanRef {
  tenant: string;
  status: ScriptStatus;
  workloads?: readonly string[];
  /** The target systems the plan runs on; a User-only right needs them all to be the principal's own. */
  targets?: readonly string[];
}

/** Something whose approvers are asked: a script moved to Testing, or a four-eyes run. */
export type ApprovalSubject = { scriptId: string } | { run: RunRef };

/** Cyber and Company administrators: change script status, approve, run Testing scripts. */
export const ADMIN_ROLES: readonly Role[] = ['company-admin', 'cyber-admin'];

/**
 * Script status changes. Forward one step at a time (Draft → Testing → Approved); back to
 * Draft from Testing (a rejection) or from Approved (withdrawn, or the text changed).
 */
export const STATUS_TRANSITIONS: Readonly<Record<ScriptStatus, readonly ScriptStatus[]>> = {
  draft: ['testing'],
  testing: ['approved', 'draft'],
  approved: ['draft'],
};

const ALLOWED: Decision = Object.freeze({ allowed: true });

function deny(code: ErrorCode, reason: string): Denied {
  return { allowed: false, code, reason };
}

function isDenied<T>(value: T | Denied): value is Denied {
  return typeof value === 'object' && value !== null && (value as Partial<Denied>).allowed === false;
}

/** Throws the decision's registry error (the reason goes into `detail`, for the log only). */
export function throwIfDenied(decision: Decision): void {
  if (!decision.allowed) throw new DeputyError(decision.code, { detail: decision.reason });
}

interface Actor {
  principal: Principal;
  roles: readonly Role[];
}

/** `manage`: own tenant or below. `from-above`: an ancestor's object, read-only. */
type Scope = 'manage' | 'from-above';

/**
 * How far `mayRunAction` checks what a run acts on: the User-role workload against given inputs
 * and the targets named, or only that the action is bound to a workload and has a usable target.
 */
type WorkloadCheck = { inputs: Readonly<Record<string, unknown>> | undefined; targets: readonly string[] } | 'binding-only';

/** The roles through which a run is allowed (each grants `run` and is assigned by the action). */
interface RunGrant {
  roles: readonly Role[];
}

export class Policy {
  private readonly tenants: TenantTree;

  constructor(private readonly catalog: PolicyCatalog) {
    this.tenants = new TenantTree((id) => catalog.getTenant(id));
  }

  /**
   * May this principal run this action with these inputs? All of:
   * tenant scope (the action's tenant is the principal's own, an ancestor or a descendant),
   * the allow-list (the principal, or one of their roles), the `run` right for the status of
   * the version the action runs (Draft: nobody; Testing: admins; Approved: also
   * administrator and user), and for a principal allowed only through the User role, an
   * action bound to an own workload whose value is one of theirs. Without `inputs`, a
   * User-only principal is refused: there is nothing to check the workload against.
   */
  mayRunAction(principalId: string, actionId: string, inputs?: Readonly<Record<string, unknown>>, targets: readonly string[] = []): Decision {
    const grant = this.evaluateRun(principalId, actionId, { inputs, targets });
    return isDenied(grant) ? grant : ALLOWED;
  }

  /**
   * The targets this principal may run this action on (its form's choices): the action's
   * targets in the principal's tenant or below it, and for a principal allowed only through
   * the User role, only those the principal owns. Empty when the action may not run at all.
   */
  usableTargets(principalId: string, actionId: string): Target[] {
    const grant = this.evaluateRun(principalId, actionId, 'binding-only');
    const actor = this.actor(principalId);
    const action = this.catalog.getAction(actionId);
    if (isDenied(grant) || isDenied(actor) || !action) return [];
    const userOnly = grant.roles.every((role) => role === 'user');
    return this.actionTargets(action).filter((target) => !isDenied(this.reachTarget(actor, target, userOnly)));
  }

  /** The actions `mayRunAction` allows, leaving out only the per-input workload check (for `GET /v1/actions`). */
  visibleActions(principalId: string): Action[] {
    return this.catalog.listActions().filter((action) => !isDenied(this.evaluateRun(principalId, action.id, 'binding-only')));
  }

  /** Generic check of a script verb from the table, with the tenant rules; `workload` is what a User-only `run`/`cancel-running` acts on. */
  mayOnScript(principalId: string, scriptId: string, verb: ScriptVerb, context: { workload?: string } = {}): Decision {
    const actor = this.actor(principalId);
    if (isDenied(actor)) return actor;
    const script = this.catalog.getScript(scriptId);
    if (script === undefined) return deny('DEPUTY_E_NOT_FOUND', `unknown script "${scriptId}"`);
    if (!isScriptStatus(script.status)) return deny('DEPUTY_E_FORBIDDEN', `script "${scriptId}" has an unknown status "${script.status}"`);
    const scope = this.scope(actor, script.tenant, `script "${scriptId}"`);
    if (isDenied(scope)) return scope;
    return this.grant(actor, 'script', script.status, verb, scope, context.workload === undefined ? undefined : [context.workload]);
  }

  /** Generic check of a plan verb from the table, with the tenant rules; a User-only right needs `plan.workloads`, all their own. */
  mayOnPlan(principalId: string, plan: PlanRef, verb: PlanVerb): Decision {
    const actor = this.actor(principalId);
    if (isDenied(actor)) return actor;
    if (!isScriptStatus(plan.status)) return deny('DEPUTY_E_FORBIDDEN', `plan has an unknown status "${plan.status}"`);
    const scope = this.scope(actor, plan.tenant, 'plan');
    if (isDenied(scope)) return scope;
    return this.grant(actor, 'plan', plan.status, verb, scope, plan.workloads, plan.targets);
  }

  /**
   * Status changes are for Cyber and Company administrators of the script's tenant or an
   * ancestor of it (the table's `change-status`), along `STATUS_TRANSITIONS` only.
   */
  mayChangeScriptStatus(principalId: string, scriptId: string, to: ScriptStatus): Decision {
    const right = this.mayOnScript(principalId, scriptId, 'change-status');
    if (!right.allowed) return right;
    const from = this.catalog.getScript(scriptId)?.status;
    if (from === undefined) return deny('DEPUTY_E_NOT_FOUND', `script "${scriptId}" disappeared`);
    if (!STATUS_TRANSITIONS[from].includes(to)) {
      return deny('DEPUTY_E_CONFLICT', `script "${scriptId}" cannot move from ${from} to ${to}`);
    }
    return ALLOWED;
  }

  /**
   * The requester may always cancel their own run. Anyone else needs `cancel-running` on the
   * run's script version, in a tenant they manage (the run's tenant or an ancestor of it);
   * a User-only principal cancels only their own runs.
   */
  mayCancelRun(principalId: string, run: RunRef): Decision {
    const principal = this.catalog.getPrincipal(principalId);
    if (principal === undefined) return deny('DEPUTY_E_NOT_ENROLLED', `unknown principal "${principalId}"`);
    if (principal.id === run.principalId) return ALLOWED;
    const actor = this.actor(principalId);
    if (isDenied(actor)) return actor;
    const scope = this.managedScope(actor, run.tenant, 'run');
    if (isDenied(scope)) return scope;
    const status = this.runScriptStatus(run);
    if (isDenied(status)) return status;
    return this.grant(actor, 'script', status, 'cancel-running', scope, undefined);
  }

  /**
   * Who may approve or reject a four-eyes run: never the requester; someone who manages the
   * run's tenant (it or an ancestor) and is either a Cyber/Company administrator, or an
   * Administrator who could run the action themselves (through a role other than User: a
   * User acts only on their own workloads, never on someone else's request).
   */
  mayDecideRun(principalId: string, run: RunRef): Decision {
    // Self-approval is named as such before anything else, whatever the requester's roles.
    if (this.catalog.getPrincipal(principalId) !== undefined && principalId === run.principalId) {
      return deny('DEPUTY_E_SELF_APPROVAL', `principal "${principalId}" requested run of "${run.actionId}" and cannot decide it`);
    }
    const actor = this.actor(principalId);
    if (isDenied(actor)) return actor;
    const scope = this.managedScope(actor, run.tenant, 'run');
    if (isDenied(scope)) return scope;
    // Deciding is acting on the run's targets: an approver must reach each of them.
    for (const { id } of run.targets ?? []) {
      const target = this.catalog.getTarget(id);
      if (target === undefined) return deny('DEPUTY_E_NOT_FOUND', `run's target "${id}" is not in the catalog`);
      const reach = this.reachTarget(actor, target, false);
      if (isDenied(reach)) return reach;
    }
    if (actor.roles.some((role) => ADMIN_ROLES.includes(role))) return ALLOWED;
    const grant = this.evaluateRun(principalId, run.actionId, 'binding-only');
    if (isDenied(grant)) return deny('DEPUTY_E_FORBIDDEN', `approver must be a cyber/company admin or able to run the action: ${grant.reason}`);
    if (!grant.roles.includes('administrator')) {
      return deny('DEPUTY_E_FORBIDDEN', `principal "${principalId}" may run "${run.actionId}" only through the user role, which does not approve`);
    }
    return ALLOWED;
  }

  /** Principal ids (sorted) who may approve: a script (change its status) or a run (decide it). */
  approversFor(subject: ApprovalSubject): string[] {
    const mayApprove =
      'run' in subject
        ? (id: string) => this.mayDecideRun(id, subject.run)
        : (id: string) => this.mayOnScript(id, subject.scriptId, 'change-status');
    return this.catalog
      .snapshot()
      .principals.map((principal) => principal.id)
      .filter((id) => mayApprove(id).allowed)
      .sort();
  }

  // ------------------------------------------------------------------ internals

  private actor(principalId: string): Actor | Denied {
    const principal = this.catalog.getPrincipal(principalId);
    if (principal === undefined) return deny('DEPUTY_E_NOT_ENROLLED', `unknown principal "${principalId}"`);
    if (principal.roles.length === 0) return deny('DEPUTY_E_FORBIDDEN', `principal "${principalId}" has no roles`);
    const unknownRoles = principal.roles.filter((role) => !isRole(role));
    if (unknownRoles.length > 0) {
      return deny('DEPUTY_E_FORBIDDEN', `principal "${principalId}" has unknown roles: ${unknownRoles.join(', ')}`);
    }
    if (!this.tenants.isKnown(principal.tenant)) {
      return deny('DEPUTY_E_FORBIDDEN', `tenant "${principal.tenant}" of principal "${principalId}" is unknown or its parent chain is broken`);
    }
    return { principal, roles: principal.roles };
  }

  private scope(actor: Actor, objectTenant: string, what: string): Scope | Denied {
    const relation = this.tenants.relation(actor.principal.tenant, objectTenant);
    switch (relation) {
      case 'self':
      case 'descendant':
        return 'manage';
      case 'ancestor':
        return 'from-above';
      case 'unrelated':
        // NOT_FOUND, not FORBIDDEN: another branch's objects are not even acknowledged.
        return deny('DEPUTY_E_NOT_FOUND', `${what} is in tenant "${objectTenant}", sideways of "${actor.principal.tenant}"`);
      case 'unknown':
        return deny('DEPUTY_E_FORBIDDEN', `tenant "${objectTenant}" of ${what} is unknown or its parent chain is broken`);
    }
  }

  /** Like `scope`, for things only managers act on: an ancestor's object is refused. */
  private managedScope(actor: Actor, objectTenant: string, what: string): 'manage' | Denied {
    const scope = this.scope(actor, objectTenant, what);
    if (isDenied(scope)) return scope;
    if (scope === 'from-above') {
      return deny('DEPUTY_E_FORBIDDEN', `${what} belongs to tenant "${objectTenant}", above "${actor.principal.tenant}": read-only from below`);
    }
    return scope;
  }

  /** The table, the read-only-from-below rule and the User-role workload limit, for one verb. */
  private grant<O extends PolicyObject>(
    actor: Actor,
    object: O,
    status: ScriptStatus,
    verb: VerbOf<O>,
    scope: Scope,
    workloads: readonly string[] | undefined,
    targets: readonly string[] = [],
  ): Decision {
    const readOnlyFromBelow = READ_ONLY_FROM_BELOW[object] as ReadonlySet<VerbOf<O>>;
    if (scope === 'from-above' && !readOnlyFromBelow.has(verb)) {
      return deny('DEPUTY_E_FORBIDDEN', `"${verb}" on a ${object} of an ancestor tenant: read-only from below`);
    }
    const granting = actor.roles.filter((role) => hasRight(role, object, status, verb));
    if (granting.length === 0) {
      return deny('DEPUTY_E_FORBIDDEN', `no role of [${actor.roles.join(', ')}] grants "${verb}" on a ${status} ${object}`);
    }
    const workloadBound = WORKLOAD_BOUND_VERBS[object] as ReadonlySet<VerbOf<O>>;
    if (granting.every((role) => role === 'user') && workloadBound.has(verb)) {
      for (const id of targets) {
        const target = this.catalog.getTarget(id);
        if (target === undefined) return deny('DEPUTY_E_NOT_FOUND', `unknown target "${id}"`);
        const owned = this.reachTarget(actor, target, true);
        if (isDenied(owned)) return owned;
      }
      // Targets the principal owns are workloads enough; named workloads must be theirs too.
      if (targets.length > 0 && (workloads ?? []).length === 0) return ALLOWED;
      return this.ownWorkloads(actor, workloads ?? []);
    }
    return ALLOWED;
  }

  /** The action's targets as the catalog has them now. */
  private actionTargets(action: Action): Target[] {
    return targetsOfAction(action, this.catalog.listTargets(), (tenant, ancestor) => this.tenants.isSelfOrDescendant(tenant, ancestor));
  }

  /**
   * A principal reaches a target of their own tenant or one below it, never one above or
   * sideways; through the User role only, only a target they own.
   */
  private reachTarget(actor: Actor, target: Target, userOnly: boolean): Decision {
    switch (this.tenants.relation(actor.principal.tenant, target.tenant)) {
      case 'self':
      case 'descendant':
        break;
      case 'unrelated':
        return deny('DEPUTY_E_NOT_FOUND', `target "${target.id}" is in tenant "${target.tenant}", sideways of "${actor.principal.tenant}"`);
      case 'ancestor':
        return deny('DEPUTY_E_FORBIDDEN', `target "${target.id}" belongs to tenant "${target.tenant}", above "${actor.principal.tenant}"`);
      case 'unknown':
        return deny('DEPUTY_E_FORBIDDEN', `tenant "${target.tenant}" of target "${target.id}" is unknown or its parent chain is broken`);
    }
    if (userOnly && target.owner !== actor.principal.id) {
      return deny('DEPUTY_E_FORBIDDEN', `target "${target.id}" is not principal "${actor.principal.id}"'s own machine`);
    }
    return ALLOWED;
  }

  /** Checks the targets a run names (or, binding-only, that at least one is usable). */
  private runTargets(actor: Actor, action: Action, userOnly: boolean, workloadCheck: WorkloadCheck): Decision {
    const requested = workloadCheck === 'binding-only' ? undefined : workloadCheck.targets;
    if (action.targets === undefined) {
      return requested && requested.length > 0 ? deny('DEPUTY_E_BAD_REQUEST', `action "${action.id}" runs on the executor and takes no target`) : ALLOWED;
    }
    const candidates = this.actionTargets(action);
    if (requested === undefined) {
      return candidates.some((target) => !isDenied(this.reachTarget(actor, target, userOnly)))
        ? ALLOWED
        : deny('DEPUTY_E_FORBIDDEN', `principal "${actor.principal.id}" may use none of action "${action.id}"'s targets`);
    }
    // A form sent without a choice: the run service shows it on the target field.
    if (requested.length === 0) return deny('DEPUTY_E_VALIDATION', `action "${action.id}" runs on targets and none was named`);
    for (const id of requested) {
      const target = candidates.find((candidate) => candidate.id === id);
      if (target === undefined) return deny('DEPUTY_E_NOT_FOUND', `"${id}" is not a target of action "${action.id}"`);
      const reach = this.reachTarget(actor, target, userOnly);
      if (isDenied(reach)) return reach;
    }
    return ALLOWED;
  }

  /** The User role's limit: every workload named must be the principal's own, and at least one must be named. */
  private ownWorkloads(actor: Actor, workloads: readonly unknown[]): Decision {
    if (workloads.length === 0) {
      return deny('DEPUTY_E_FORBIDDEN', `principal "${actor.principal.id}" acts only on own workloads, and none was named`);
    }
    const own = new Set([...actor.principal.workloads, actor.principal.id]);
    const foreign = workloads.filter((workload) => typeof workload !== 'string' || !own.has(workload));
    if (foreign.length > 0) {
      return deny('DEPUTY_E_FORBIDDEN', `${JSON.stringify(foreign)} not among the own workloads of principal "${actor.principal.id}"`);
    }
    return ALLOWED;
  }

  private evaluateRun(principalId: string, actionId: string, workloadCheck: WorkloadCheck): RunGrant | Denied {
    const actor = this.actor(principalId);
    if (isDenied(actor)) return actor;
    const action = this.catalog.getAction(actionId);
    if (action === undefined) return deny('DEPUTY_E_NOT_FOUND', `unknown action "${actionId}"`);
    const scope = this.scope(actor, action.tenant, `action "${actionId}"`);
    if (isDenied(scope)) return scope;

    const script = this.catalog.getScript(action.scriptId);
    if (script === undefined) return deny('DEPUTY_E_NOT_FOUND', `action "${actionId}" names unknown script "${action.scriptId}"`);
    // An action may wrap a script of its own tenant or of one above; anything else is a catalog error.
    if (!this.tenants.isSelfOrDescendant(action.tenant, script.tenant)) {
      return deny('DEPUTY_E_FORBIDDEN', `action "${actionId}" (tenant "${action.tenant}") wraps script "${script.id}" of tenant "${script.tenant}", outside its tenant line`);
    }

    const assignedRoles = action.allow.roles.filter((role) => actor.roles.includes(role));
    const listedByName = action.allow.principals.includes(actor.principal.id);
    if (!listedByName && assignedRoles.length === 0) {
      return deny('DEPUTY_E_FORBIDDEN', `action "${actionId}" is not assigned to principal "${principalId}" or any of their roles`);
    }

    const version = resolveActionVersion(action, script);
    if (!version.ok) return deny(version.code, version.reason);
    const stored = this.catalog.getVersion(version.hash);
    if (stored === undefined || stored.scriptId !== script.id) {
      return deny('DEPUTY_E_NOT_FOUND', `version ${version.hash} of script "${script.id}" is not in the catalog`);
    }

    // A principal named on the allow-list runs with any of their roles; otherwise only
    // through the roles the action is assigned to.
    const candidates = listedByName ? actor.roles : assignedRoles;
    const runRoles = candidates.filter((role) => hasRight(role, 'script', version.status, 'run'));
    if (runRoles.length === 0) {
      return deny('DEPUTY_E_FORBIDDEN', `no role of [${candidates.join(', ')}] may run a ${version.status} script`);
    }

    const userOnly = runRoles.every((role) => role === 'user');
    const targets = this.runTargets(actor, action, userOnly, workloadCheck);
    if (isDenied(targets)) return targets;
    // For an action with targets, the target the User owns is the workload binding.
    if (userOnly && !(action.targets !== undefined && action.ownWorkloadParameter === undefined)) {
      const workload = this.userWorkload(actor, action, workloadCheck);
      if (isDenied(workload)) return workload;
    }
    return { roles: runRoles };
  }

  /** A User runs only actions bound to an own workload, and only on a value that is theirs. */
  private userWorkload(actor: Actor, action: Action, workloadCheck: WorkloadCheck): Decision {
    const parameter = action.ownWorkloadParameter;
    if (parameter === undefined) {
      return deny('DEPUTY_E_FORBIDDEN', `action "${action.id}" is not bound to an own workload, and principal "${actor.principal.id}" may run it only as a user`);
    }
    // A fixed value is what will run, whatever the inputs say.
    if (Object.hasOwn(action.fixed, parameter)) return this.ownWorkloads(actor, [action.fixed[parameter]]);
    if (workloadCheck === 'binding-only') return ALLOWED;
    const { inputs } = workloadCheck;
    if (inputs === undefined || !Object.hasOwn(inputs, parameter)) {
      return deny('DEPUTY_E_FORBIDDEN', `no value for own-workload parameter "${parameter}" of action "${action.id}"`);
    }
    return this.ownWorkloads(actor, [inputs[parameter]]);
  }

  /** The status of the script version a run uses: its exact hash when known, else the script's status now. */
  private runScriptStatus(run: RunRef): ScriptStatus | Denied {
    const scriptId = run.scriptId ?? this.catalog.getAction(run.actionId)?.scriptId;
    if (scriptId === undefined) return deny('DEPUTY_E_NOT_FOUND', `run of unknown action "${run.actionId}" names no script`);
    const script = this.catalog.getScript(scriptId);
    if (script === undefined) return deny('DEPUTY_E_NOT_FOUND', `unknown script "${scriptId}" of run of "${run.actionId}"`);
    const status = run.scriptHash === undefined ? script.status : versionStatus(script, run.scriptHash);
    if (status === undefined) return deny('DEPUTY_E_NOT_FOUND', `run's version ${run.scriptHash} is not a version of script "${scriptId}"`);
    if (!isScriptStatus(status)) return deny('DEPUTY_E_FORBIDDEN', `script "${scriptId}" has an unknown status "${status}"`);
    return status;
  }
}
