/**
 * The plan API's rules: who sees which plan, who may create, change, apply, run, enable,
 * disable, stop, revoke or delete it, decided by the roles table's plan rights
 * (`Policy.mayOnPlan`, including "read-only from below" for plans of a parent tenant). A plan's
 * status column is the status of the script version its action runs. Every request is an audit
 * entry, allowed or denied.
 *
 * A plan runs as the principal who last defined it (created or edited it): whoever changes
 * what a plan does takes it over, so nobody makes a plan run something in another person's name.
 */
import { isDeepStrictEqual } from 'node:util';
import { knownPrincipal, recordAttempt, refusal, type AttemptRecorder } from '../authoring/audit.ts';
import { cronProblem } from '../catalog/automation.ts';
import { checkPlanTargets } from '../catalog/targets.ts';
import { formatPath } from '../catalog/yaml-source.ts';
import type { CatalogEditor } from '../catalog/editor.ts';
import {
  DeputyError,
  PLAN_COMMANDS,
  TARGET_FIELD,
  type CreatePlanRequest,
  type PlanCommand,
  type PlanCommandRequest,
  type PlanPermission,
  type PlanView,
  type ScriptStatus,
  type UpdatePlanRequest,
} from '../contract/index.ts';
import type { Action, Plan, Principal } from '../domain.ts';
import type { PlanRef, Policy } from '../policy/index.ts';
import { TenantTree } from '../policy/tenants.ts';
import { resolveActionVersion, versionStatus } from '../policy/versions.ts';
import type { ChoiceChecker, InputValidator, RequestContext, RunService } from '../runs/service.ts';
import { askedFields } from '../runs/views.ts';
import type { CatalogSnapshot } from '../store/port.ts';
import type { ExecutorStore } from '../store/state-port.ts';
import { isEnabled, nextFireTime, planVia } from './scheduler.ts';
import { updateRecord } from '../store/record-update.ts';
import type { PlanState, PlanStates } from './state.ts';

export { PLAN_COMMANDS, PlanViewSchema, type PlanCommand, type PlanView } from '../contract/index.ts';

export interface PlanServiceOptions {
  store: ExecutorStore;
  policy: Pick<Policy, 'mayOnPlan' | 'mayRunAction'>;
  runs: Pick<RunService, 'cancel' | 'create'>;
  states: PlanStates;
  /** Plan definitions live in the catalog snapshot: changes take their turn with every other catalog change. */
  editor: CatalogEditor;
  validateInputs: InputValidator;
  /** Values of query-bound fields must be among what the query offers the plan's principal. */
  choices?: ChoiceChecker;
  now: () => number;
}

export class PlanService {
  private readonly tenants: TenantTree;

  constructor(private readonly options: PlanServiceOptions) {
    this.tenants = new TenantTree((id) => options.store.catalog.getTenant(id));
  }

  /** The plans this principal may view. */
  async list(principalId: string, context: RequestContext): Promise<PlanView[]> {
    const plans = (this.options.store.catalog.snapshot().plans ?? []).filter((plan) => this.options.policy.mayOnPlan(principalId, this.ref(plan), 'view').allowed);
    await this.options.store.audit.append({ type: 'plans.list', outcome: 'allowed', correlationId: context.correlationId, actor: principalId, via: context.via, detail: { count: plans.length } });
    return Promise.all(plans.map((plan) => this.view(plan, principalId)));
  }

  async command(planId: string, command: PlanCommand, request: PlanCommandRequest, context: RequestContext): Promise<PlanView> {
    const { store, policy, states } = this.options;
    const { principalId } = request;
    const attempt = recordAttempt(store.audit, { type: `plan.${command}`, actor: principalId, subject: planId, context });
    const plan = store.catalog.snapshot().plans?.find((candidate) => candidate.id === planId);
    if (!plan) return attempt.refuse(new DeputyError('DEPUTY_E_NOT_FOUND', { detail: `unknown plan ${planId}` }));
    if (command === 'apply') return this.apply(attempt, plan, request);
    const decision = policy.mayOnPlan(principalId, this.ref(plan), command);
    if (!decision.allowed) return attempt.deny(decision);
    const state = (await states.get(plan.id))?.value;
    if (state?.revoked && (command === 'enable' || command === 'run')) {
      return attempt.refuse(refusal('DEPUTY_E_CONFLICT', `This plan was revoked; it cannot be ${command === 'enable' ? 'enabled' : 'run'} again.`, 'revoked'));
    }
    let cancelled: string[] = [];
    // Each change is made on the state as stored when it is written: another executor's tick or command in between is kept.
    const change = (apply: (current: PlanState) => PlanState) => updateRecord(states, plan.id, (current) => apply(current ?? { handledUntil: this.options.now() }));
    switch (command) {
      case 'enable':
        // Fire times while it was off are not owed: the schedule resumes from now.
        await change((current) => ({ ...current, enabled: true, handledUntil: Math.max(current.handledUntil, this.options.now()) }));
        break;
      case 'disable':
        await change((current) => ({ ...current, enabled: false }));
        break;
      case 'revoke':
        await change((current) => ({ ...current, revoked: true, enabled: false }));
        cancelled = await this.cancelRuns(plan, context);
        break;
      case 'stop':
        cancelled = await this.cancelRuns(plan, context);
        break;
      case 'run': {
        // Once, now, exactly as a scheduled fire: as the plan's principal, checked again by the run service.
        const run = await this.options.runs
          .create(
            {
              actionId: plan.action,
              principalId: plan.principal,
              inputs: plan.inputs,
              ...(plan.targets ? { target: plan.targets } : {}),
              origin: { kind: 'schedule', conversationId: plan.id, messageId: `run-now:${new Date(this.options.now()).toISOString()}` },
            },
            { correlationId: context.correlationId, via: planVia(plan.id) },
          )
          .catch((error: unknown) => attempt.refuse(error instanceof DeputyError ? error : new DeputyError('DEPUTY_E_INTERNAL', { cause: error }), { runAs: plan.principal }));
        await attempt.allowed({ runId: run.id, runAs: plan.principal });
        return { ...(await this.view(plan, principalId)), runId: run.id };
      }
    }
    await attempt.allowed({ cancelled });
    return this.view(plan, principalId);
  }

  async create(request: CreatePlanRequest, context: RequestContext): Promise<PlanView> {
    const attempt = recordAttempt(this.options.store.audit, { type: 'plan.create', actor: request.principalId, subject: request.id, context });
    const principal = await knownPrincipal(this.options.store.catalog, attempt, request.principalId);
    const creation = async (snapshot: CatalogSnapshot): Promise<Plan> => {
      const plan = this.definition(request.id, principal, request, request.tenant ?? principal.tenant);
      await this.refuseUnknownAction(attempt, plan);
      const decision = this.options.policy.mayOnPlan(principal.id, this.ref(plan), 'create');
      if (!decision.allowed) return attempt.deny(decision, describe(plan));
      if ((snapshot.plans ?? []).some((candidate) => candidate.id === plan.id)) {
        return attempt.refuse(refusal('DEPUTY_E_CONFLICT', `A plan with the id ${plan.id} exists already; choose another id.`, undefined, { id: 'taken' }), describe(plan));
      }
      return plan;
    };
    // Only for whoever may define the plan at all (the check runs the query as them), and before the catalog is held.
    const offered = await this.refuseValuesNotOffered(attempt, await creation(this.options.editor.snapshot()), context);
    return this.options.editor.exclusive(async () => {
      const snapshot = this.options.editor.snapshot();
      const plan = await creation(snapshot);
      await this.refuseValuesNotOfferedAgain(attempt, plan, offered, context);
      await this.checkDefinition(attempt, principal, plan, snapshot);
      await this.options.editor.replace({ ...snapshot, plans: [...(snapshot.plans ?? []), plan] });
      await attempt.allowed(describe(plan));
      return this.view(plan, principal.id);
    });
  }

  async update(planId: string, request: UpdatePlanRequest, context: RequestContext): Promise<PlanView> {
    const attempt = recordAttempt(this.options.store.audit, { type: 'plan.update', actor: request.principalId, subject: planId, context });
    const principal = await knownPrincipal(this.options.store.catalog, attempt, request.principalId);
    const revision = async (snapshot: CatalogSnapshot): Promise<{ plan: Plan; existing: Plan }> => {
      const existing = (snapshot.plans ?? []).find((candidate) => candidate.id === planId);
      if (!existing) return attempt.refuse(new DeputyError('DEPUTY_E_NOT_FOUND', { detail: `unknown plan ${planId}` }));
      const plan = { ...this.definition(planId, principal, request, request.tenant ?? existing.tenant), ...(existing.trigger ? { trigger: existing.trigger } : {}) };
      await this.refuseUnknownAction(attempt, plan);
      const before = this.ref(existing);
      const after = this.ref(plan);
      // The seed's Draft column: administrators may edit such a plan only to take its Draft script out.
      const verb = before.status === 'draft' && after.status !== 'draft' ? 'edit-remove-draft' : 'edit';
      const onExisting = this.options.policy.mayOnPlan(principal.id, before, verb);
      if (!onExisting.allowed) return attempt.deny(onExisting, { ...describe(plan), previous: describe(existing) });
      const onChanged = this.options.policy.mayOnPlan(principal.id, after, 'edit');
      if (!onChanged.allowed) return attempt.deny(onChanged, { ...describe(plan), previous: describe(existing) });
      return { plan, existing };
    };
    const offered = await this.refuseValuesNotOffered(attempt, (await revision(this.options.editor.snapshot())).plan, context);
    return this.options.editor.exclusive(async () => {
      const snapshot = this.options.editor.snapshot();
      const { plan, existing } = await revision(snapshot);
      await this.refuseValuesNotOfferedAgain(attempt, plan, offered, context);
      await this.checkDefinition(attempt, principal, plan, snapshot);
      await this.options.editor.replace({ ...snapshot, plans: (snapshot.plans ?? []).map((candidate) => (candidate.id === planId ? plan : candidate)) });
      const { enabled } = request;
      if (enabled !== undefined) await updateRecord(this.options.states, planId, (current) => current && { ...current, enabled });
      await attempt.allowed({ ...describe(plan), previous: describe(existing) });
      return this.view(plan, principal.id);
    });
  }

  async delete(planId: string, principalId: string, context: RequestContext): Promise<string> {
    const attempt = recordAttempt(this.options.store.audit, { type: 'plan.delete', actor: principalId, subject: planId, context });
    const principal = await knownPrincipal(this.options.store.catalog, attempt, principalId);
    return this.options.editor.exclusive(async () => {
      const snapshot = this.options.editor.snapshot();
      const plans = snapshot.plans ?? [];
      const existing = plans.find((candidate) => candidate.id === planId);
      if (!existing) return attempt.refuse(new DeputyError('DEPUTY_E_NOT_FOUND', { detail: `unknown plan ${planId}` }));
      const decision = this.options.policy.mayOnPlan(principal.id, this.ref(existing), 'delete');
      if (!decision.allowed) return attempt.deny(decision, describe(existing));
      const remaining = plans.filter((candidate) => candidate.id !== planId);
      const { plans: _plans, ...rest } = snapshot;
      await this.options.editor.replace(remaining.length > 0 ? { ...rest, plans: remaining } : rest);
      await this.options.states.delete(planId);
      await attempt.allowed(describe(existing));
      return planId;
    });
  }

  // ------------------------------------------------------------------ internals

  /** Applies the plan to target systems and/or workloads: what it acts on from its next firing. */
  private async apply(attempt: AttemptRecorder, plan: Plan, request: PlanCommandRequest): Promise<PlanView> {
    if (request.targets === undefined && request.workloads === undefined) {
      return attempt.refuse(refusal('DEPUTY_E_VALIDATION', 'Name the targets or workloads to apply the plan to.', undefined, { targets: 'Name the targets or the workloads.' }));
    }
    const applied: Plan = { ...plan, ...(request.targets ? { targets: request.targets } : {}), ...(request.workloads ? { workloads: request.workloads } : {}) };
    const detail = { targets: applied.targets, workloads: applied.workloads, previous: { targets: plan.targets, workloads: plan.workloads } };
    // The User role's limit looks at what the plan will act on.
    const decision = this.options.policy.mayOnPlan(request.principalId, this.ref(applied), 'apply');
    if (!decision.allowed) return attempt.deny(decision, detail);
    await this.options.editor.exclusive(async () => {
      const snapshot = this.options.editor.snapshot();
      const problems = planTargetProblems(applied, snapshot);
      if (Object.keys(problems).length > 0) await attempt.refuse(invalidPlan(problems), detail);
      await this.options.editor.replace({ ...snapshot, plans: (snapshot.plans ?? []).map((candidate) => (candidate.id === plan.id ? applied : candidate)) });
    });
    await attempt.allowed(detail);
    return this.view(applied, request.principalId);
  }

  /** A plan's status column comes from its action: without one there is nothing to decide on. */
  /**
   * A value of a query-bound field the query does not offer the plan's principal would fail every
   * fire (each is checked again): refused when the plan is defined, as a run submitted by hand is.
   * A query may take up to its timeout, so this runs before the catalog is held; it returns the
   * choices it checked against, for refuseValuesNotOfferedAgain.
   */
  private async refuseValuesNotOffered(attempt: AttemptRecorder, plan: Plan, context: RequestContext): Promise<Action['choices']> {
    const action = this.options.store.catalog.getAction(plan.action);
    if (!action?.choices || !this.options.choices) return undefined;
    const problems = await this.options.choices.check(action, plan.principal, plan.inputs, context);
    if (Object.keys(problems).length > 0) {
      await attempt.refuse(invalidPlan(Object.fromEntries(Object.entries(problems).map(([name, message]) => [`inputs.${name}`, message]))), describe(plan));
    }
    return action.choices;
  }

  /** Under the catalog's hold: the check again only if the action's choices changed since it ran (rare). */
  private async refuseValuesNotOfferedAgain(attempt: AttemptRecorder, plan: Plan, checked: Action['choices'], context: RequestContext): Promise<void> {
    if (isDeepStrictEqual(this.options.store.catalog.getAction(plan.action)?.choices, checked)) return;
    await this.refuseValuesNotOffered(attempt, plan, context);
  }

  private async refuseUnknownAction(attempt: AttemptRecorder, plan: Plan): Promise<void> {
    if (this.options.store.catalog.getAction(plan.action)) return;
    await attempt.refuse(
      new DeputyError('DEPUTY_E_VALIDATION', { message: `The plan is not valid: there is no action ${plan.action}.`, fields: { action: `there is no action ${plan.action}` } }),
      describe(plan),
    );
  }


  private definition(id: string, principal: Principal, request: UpdatePlanRequest, tenant: string): Plan {
    return {
      id,
      tenant,
      principal: principal.id,
      action: request.action,
      inputs: request.inputs,
      schedule: request.schedule,
      enabled: request.enabled ?? true,
      workloads: request.workloads ?? [],
      ...(request.targets ? { targets: request.targets } : {}),
    };
  }

  /**
   * What makes a plan runnable at all: a valid schedule, an action of the plan's tenant or
   * above that its principal may run with its inputs, and inputs the action's form accepts
   * (never a secret: a plan is stored in the catalog).
   */
  private async checkDefinition(attempt: AttemptRecorder, principal: Principal, plan: Plan, snapshot: CatalogSnapshot): Promise<void> {
    const fields: Record<string, string> = {};
    const cron = cronProblem(plan.schedule ?? '');
    if (cron) fields.schedule = cron;
    if (!snapshot.tenants.some((tenant) => tenant.id === plan.tenant)) fields.tenant = `unknown tenant ${plan.tenant}`;
    const action = snapshot.actions.find((candidate) => candidate.id === plan.action);
    const script = action && snapshot.scripts.find((candidate) => candidate.id === action.scriptId);
    const resolution = action && script ? resolveActionVersion(action, script) : undefined;
    // The form the inputs must fit: the version the action runs, or (a plan of a Draft script) the script's current one.
    const hash = resolution?.ok ? resolution.hash : script?.currentHash;
    const version = snapshot.versions.find((candidate) => candidate.hash === hash);
    if (!action || !version) fields.action = `there is no action ${plan.action}`;
    else if (!fields.tenant && !this.tenants.isSelfOrDescendant(plan.tenant, action.tenant)) fields.action = `${action.id} belongs to tenant ${action.tenant}, not ${plan.tenant} or a tenant above it`;
    Object.assign(fields, planTargetProblems(plan, snapshot));
    if (action && version) {
      const asked = askedFields(action, version).filter((field) => field.name !== TARGET_FIELD);
      for (const field of asked.filter((candidate) => candidate.kind === 'secret')) {
        if (field.required || Object.hasOwn(plan.inputs, field.name)) fields[`inputs.${field.name}`] = 'A plan cannot hold a secret: bind this parameter to a stored credential in the action.';
      }
      const prefills = Object.fromEntries(asked.flatMap((field) => (field.default === undefined ? [] : [[field.name, field.default]])));
      const checked = this.options.validateInputs(asked.filter((field) => field.kind !== 'secret'), { ...prefills, ...plan.inputs });
      if (!checked.ok) for (const [name, message] of Object.entries(checked.fields)) fields[`inputs.${name}`] ??= message;
    }
    if (Object.keys(fields).length > 0) await attempt.refuse(invalidPlan(fields), describe(plan));
    // Whoever defines a plan is who it runs as: they must be able to run its action, with these
    // inputs. A plan of a Draft script runs nothing until the script is approved; the table lets
    // an Administrator edit it meanwhile, and every fire is checked again anyway.
    if (this.ref(plan).status === 'draft') return;
    const runnable = this.options.policy.mayRunAction(principal.id, plan.action, plan.inputs, plan.targets ?? []);
    if (!runnable.allowed) {
      await attempt.deny({ ...runnable, message: runnable.message ?? `You may not run ${plan.action} yourself, so a plan you define cannot run it either.` }, describe(plan));
    }
  }

  private async cancelRuns(plan: Plan, context: RequestContext): Promise<string[]> {
    const running = (await this.options.store.runs.unfinished()).filter((run) => run.origin.kind === 'schedule' && run.origin.conversationId === plan.id);
    // The plan right was checked above; the runs are the plan principal's own, so it cancels them.
    for (const run of running) await this.options.runs.cancel(run.id, plan.principal, context);
    return running.map((run) => run.id);
  }

  private ref(plan: Plan): PlanRef {
    return { tenant: plan.tenant, status: this.status(plan), workloads: plan.workloads, ...(plan.targets ? { targets: plan.targets } : {}) };
  }

  /** The status of the script version the plan's action runs; a plan whose action cannot resolve counts as Draft. */
  private status(plan: Plan): ScriptStatus {
    const action = this.options.store.catalog.getAction(plan.action);
    const script = action && this.options.store.catalog.getScript(action.scriptId);
    if (!action || !script) return 'draft';
    const resolution = resolveActionVersion(action, script);
    return (resolution.ok ? versionStatus(script, resolution.hash) : undefined) ?? 'draft';
  }

  private permissions(plan: Plan, principalId: string): PlanPermission[] {
    const ref = this.ref(plan);
    const may = (verb: Parameters<Policy['mayOnPlan']>[2]) => this.options.policy.mayOnPlan(principalId, ref, verb).allowed;
    const commands: PlanPermission[] = PLAN_COMMANDS.filter((command) => may(command));
    if (may('edit') || (ref.status === 'draft' && may('edit-remove-draft'))) commands.push('edit');
    if (may('delete')) commands.push('delete');
    return commands;
  }

  private async view(plan: Plan, principalId: string): Promise<PlanView> {
    const state = (await this.options.states.get(plan.id))?.value;
    const enabled = isEnabled(plan, state);
    const next = enabled ? nextFireTime(plan, Math.max(state?.handledUntil ?? 0, this.options.now())) : undefined;
    const viewer = this.options.store.catalog.getPrincipal(principalId);
    const action = this.options.store.catalog.getAction(plan.action);
    return {
      id: plan.id,
      tenant: plan.tenant,
      principalId: plan.principal,
      actionId: plan.action,
      ...(action ? { actionTitle: action.title } : {}),
      ...(plan.schedule ? { schedule: plan.schedule } : {}),
      ...(plan.trigger ? { trigger: plan.trigger } : {}),
      inputs: plan.inputs,
      targets: plan.targets ?? [],
      workloads: plan.workloads,
      status: this.status(plan),
      ...(plan.targets ? { targets: plan.targets } : {}),
      enabled,
      revoked: state?.revoked ?? false,
      ...(state?.lastFiredAt !== undefined ? { lastFiredAt: new Date(state.lastFiredAt).toISOString() } : {}),
      ...(next !== undefined ? { nextRunAt: new Date(next).toISOString() } : {}),
      fromTenantAbove: viewer !== undefined && this.tenants.isAncestor(plan.tenant, viewer.tenant),
      allowed: this.permissions(plan, principalId),
    };
  }
}

function describe(plan: Plan): Record<string, unknown> {
  return { tenant: plan.tenant, action: plan.action, schedule: plan.schedule, runAs: plan.principal, targets: plan.targets, workloads: plan.workloads };
}

/** A plan's targets against its action's, as the catalog import checks them (field → message). */
function planTargetProblems(plan: Plan, snapshot: CatalogSnapshot): Record<string, string> {
  const problems: Record<string, string> = {};
  const action = snapshot.actions.find((candidate) => candidate.id === plan.action);
  const tenantParents = new Map(snapshot.tenants.map((tenant) => [tenant.id, tenant.parent]));
  const at = (...path: (string | number)[]) => path;
  checkPlanTargets(plan, action, { at, targets: snapshot.targets ?? [], tenantParents }, (path, message) => {
    problems[formatPath(path)] ??= message;
  });
  return problems;
}

function invalidPlan(fields: Record<string, string>): DeputyError {
  const problems = Object.entries(fields).map(([key, message]) => `${key}: ${message}`).join('; ');
  return new DeputyError('DEPUTY_E_VALIDATION', { message: `The plan is not valid: ${problems}`, fields, detail: problems });
}
