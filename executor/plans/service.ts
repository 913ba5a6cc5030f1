/**
 * The plan API's rules: who sees which plan and who may enable, disable, stop or revoke it,
 * decided by the roles table's plan rights (`Policy.mayOnPlan`, including "read-only from
 * below" for plans applied from a parent tenant). A plan's status column is the status of the
 * script version its action runs. Every decision is an audit entry.
 */
import { z } from 'zod';
import { DeputyError, type ScriptStatus } from '../contract/index.ts';
import type { Plan } from '../domain.ts';
import type { PlanRef, Policy } from '../policy/index.ts';
import { resolveActionVersion, versionStatus } from '../policy/versions.ts';
import type { RequestContext, RunService } from '../runs/service.ts';
import type { Store } from '../store/port.ts';
import { isEnabled, nextFireTime } from './scheduler.ts';
import type { PlanStateStore } from './state.ts';

export const PLAN_COMMANDS = ['enable', 'disable', 'stop', 'revoke'] as const;
export type PlanCommand = (typeof PLAN_COMMANDS)[number];

export const PlanViewSchema = z.object({
  id: z.string(),
  tenant: z.string(),
  principalId: z.string(),
  actionId: z.string(),
  schedule: z.string().optional(),
  trigger: z.object({ connector: z.string() }).optional(),
  status: z.enum(['draft', 'testing', 'approved']),
  /** The target systems each firing runs on. */
  targets: z.array(z.string()).optional(),
  enabled: z.boolean(),
  revoked: z.boolean(),
  lastFiredAt: z.string().optional(),
  nextRunAt: z.string().optional(),
  /** The commands this principal may give on it (empty: view only). */
  allowed: z.array(z.enum(PLAN_COMMANDS)),
});
export type PlanView = z.infer<typeof PlanViewSchema>;

export interface PlanServiceOptions {
  store: Store;
  policy: Pick<Policy, 'mayOnPlan'>;
  runs: Pick<RunService, 'cancel'>;
  states: PlanStateStore;
  now: () => number;
}

export class PlanService {
  constructor(private readonly options: PlanServiceOptions) {}

  /** The plans this principal may view. */
  async list(principalId: string, context: RequestContext): Promise<PlanView[]> {
    const plans = (this.options.store.catalog.snapshot().plans ?? []).filter((plan) => this.options.policy.mayOnPlan(principalId, this.ref(plan), 'view').allowed);
    await this.options.store.audit.append({ type: 'plans.list', outcome: 'allowed', correlationId: context.correlationId, actor: principalId, via: context.via, detail: { count: plans.length } });
    return plans.map((plan) => this.view(plan, principalId));
  }

  async command(planId: string, command: PlanCommand, principalId: string, context: RequestContext): Promise<PlanView> {
    const { store, policy, states } = this.options;
    const plan = store.catalog.snapshot().plans?.find((candidate) => candidate.id === planId);
    const decision = plan ? policy.mayOnPlan(principalId, this.ref(plan), command) : { allowed: false as const, code: 'DEPUTY_E_NOT_FOUND' as const, reason: `unknown plan ${planId}` };
    const audit = (outcome: 'allowed' | 'denied', detail: Record<string, unknown>) =>
      store.audit.append({ type: `plan.${command}`, outcome, correlationId: context.correlationId, actor: principalId, via: context.via, subject: planId, detail });
    if (!plan || !decision.allowed) {
      await audit('denied', decision.allowed ? {} : { code: decision.code, reason: decision.reason });
      throw new DeputyError(decision.allowed ? 'DEPUTY_E_NOT_FOUND' : decision.code, { detail: decision.allowed ? planId : decision.reason });
    }
    const state = states.get(plan.id) ?? { handledUntil: this.options.now() };
    if (state.revoked && command === 'enable') {
      await audit('denied', { reason: 'revoked' });
      throw new DeputyError('DEPUTY_E_CONFLICT', { message: 'This plan was revoked; it cannot be enabled again.' });
    }
    let cancelled: string[] = [];
    switch (command) {
      case 'enable':
        // Fire times while it was off are not owed: the schedule resumes from now.
        await states.put(plan.id, { ...state, enabled: true, handledUntil: Math.max(state.handledUntil, this.options.now()) });
        break;
      case 'disable':
        await states.put(plan.id, { ...state, enabled: false });
        break;
      case 'revoke':
        await states.put(plan.id, { ...state, revoked: true, enabled: false });
        cancelled = await this.cancelRuns(plan, context);
        break;
      case 'stop':
        cancelled = await this.cancelRuns(plan, context);
        break;
    }
    await audit('allowed', { cancelled });
    return this.view(plan, principalId);
  }

  private async cancelRuns(plan: Plan, context: RequestContext): Promise<string[]> {
    const running = this.options.store.runs.unfinished().filter((run) => run.origin.kind === 'schedule' && run.origin.conversationId === plan.id);
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

  private view(plan: Plan, principalId: string): PlanView {
    const state = this.options.states.get(plan.id);
    const enabled = isEnabled(plan, this.options.states);
    const next = enabled ? nextFireTime(plan, Math.max(state?.handledUntil ?? 0, this.options.now())) : undefined;
    return {
      id: plan.id,
      tenant: plan.tenant,
      principalId: plan.principal,
      actionId: plan.action,
      ...(plan.schedule ? { schedule: plan.schedule } : {}),
      ...(plan.trigger ? { trigger: plan.trigger } : {}),
      status: this.status(plan),
      ...(plan.targets ? { targets: plan.targets } : {}),
      enabled,
      revoked: state?.revoked ?? false,
      ...(state?.lastFiredAt !== undefined ? { lastFiredAt: new Date(state.lastFiredAt).toISOString() } : {}),
      ...(next !== undefined ? { nextRunAt: new Date(next).toISOString() } : {}),
      allowed: PLAN_COMMANDS.filter((command) => this.options.policy.mayOnPlan(principalId, this.ref(plan), command).allowed),
    };
  }
}
