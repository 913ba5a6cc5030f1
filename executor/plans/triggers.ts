/**
 * Connector-triggered plans. The web service connector starts runs through `create`; this puts
 * itself in between: a hook for an action that a plan with `trigger: { connector }` runs starts
 * *that plan* instead (its action, as its principal, via `plan:<id>`), with the connector's
 * mapped payload as inputs and the plan's own inputs on top (fixed: a payload cannot override
 * them, it only fills the rest). A disabled or revoked plan refuses the hook (409) rather than
 * letting the connector's own principal run what the plan owns. Everything else passes through.
 */
import type { Clock } from '../../lib/clock.ts';
import { DeputyError, type CreateRunRequest } from '../contract/index.ts';
import type { Plan, RunRecord } from '../domain.ts';
import type { RequestContext } from '../runs/service.ts';
import type { AuditLog, CatalogStore } from '../store/port.ts';
import { isEnabled, planVia } from './scheduler.ts';
import { updateRecord } from '../store/record-update.ts';
import type { PlanStates } from './state.ts';

export interface RunCreator {
  create(request: CreateRunRequest, context: RequestContext): Promise<RunRecord>;
}

export interface ConnectorTriggerOptions {
  catalog: Pick<CatalogStore, 'snapshot'>;
  states: PlanStates;
  runs: RunCreator;
  audit: AuditLog;
  clock: Clock;
}

/** The origin of a run a connector started for a plan: `schedule`, so stop and revoke find it like any plan run. */
export function triggeredOrigin(plan: Plan, connectorId: string): CreateRunRequest['origin'] {
  return { kind: 'schedule', conversationId: plan.id, messageId: `connector:${connectorId}` };
}

export class ConnectorTriggers implements RunCreator {
  constructor(private readonly options: ConnectorTriggerOptions) {}

  planFor(connectorId: string, actionId: string): Plan | undefined {
    return this.options.catalog.snapshot().plans?.find((plan) => plan.trigger?.connector === connectorId && plan.action === actionId);
  }

  async create(request: CreateRunRequest, context: RequestContext): Promise<RunRecord> {
    const connectorId = request.origin.kind === 'connector' ? request.origin.conversationId : undefined;
    const plan = connectorId === undefined ? undefined : this.planFor(connectorId, request.actionId);
    if (!plan || connectorId === undefined) return this.options.runs.create(request, context);

    const { states, audit, clock } = this.options;
    const record = (outcome: 'allowed' | 'denied', detail: Record<string, unknown>) =>
      audit.append({ type: 'plan.trigger', outcome, correlationId: context.correlationId, actor: context.via, via: context.via, subject: plan.id, detail: { connector: connectorId, action: plan.action, ...detail } });
    const state = (await states.get(plan.id))?.value;
    if (!isEnabled(plan, state)) {
      const reason = state?.revoked ? 'revoked' : 'disabled';
      await record('denied', { reason });
      throw new DeputyError('DEPUTY_E_CONFLICT', { message: `The plan this connector triggers is ${reason}.`, detail: `plan ${plan.id} is ${reason}` });
    }
    const run = await this.options.runs.create(
      {
        actionId: plan.action,
        principalId: plan.principal,
        inputs: { ...request.inputs, ...plan.inputs },
        ...(plan.targets ? { target: plan.targets } : {}),
        origin: triggeredOrigin(plan, connectorId),
      },
      { correlationId: context.correlationId, via: planVia(plan.id) },
    );
    const now = clock.now();
    await updateRecord(states, plan.id, (current) => ({ ...(current ?? { handledUntil: now }), lastFiredAt: now }));
    await record('allowed', { runId: run.id, parameters: Object.keys(request.inputs) });
    return run;
  }
}
