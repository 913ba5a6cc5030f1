/**
 * Fires scheduled plans on the injected clock. Each tick looks at the fire times (croner) that
 * passed since a plan was last handled: the newest one, when it is at most `graceMs` old, runs
 * through the run service as the plan's principal (origin `schedule`, so the policy and the
 * inputs are checked like any request); older ones (the executor was down) are reported once per
 * plan, as an audit entry and a `plan.missed` event, and never run late.
 */
import { Cron } from 'croner';
import type { Logger } from 'pino';
import type { Clock } from '../../lib/clock.ts';
import { newCorrelationId } from '../../lib/ids.ts';
import type { CreateRunRequest } from '../contract/index.ts';
import type { Plan, RunRecord } from '../domain.ts';
import type { EventStream } from '../event-stream.ts';
import type { RequestContext } from '../runs/service.ts';
import type { AuditLog, CatalogStore } from '../store/port.ts';
import type { PlanState, PlanStates } from './state.ts';

export const DEFAULT_GRACE_MS = 60_000;
/** Enough to know a schedule was missed many times without walking years of minutes. */
const MAX_COUNTED_FIRES = 10_000;

export interface SchedulerOptions {
  catalog: Pick<CatalogStore, 'snapshot'>;
  states: PlanStates;
  runs: { create(request: CreateRunRequest, context: RequestContext): Promise<RunRecord> };
  events: Pick<EventStream, 'publish'>;
  audit: AuditLog;
  clock: Clock;
  logger: Logger;
  graceMs?: number;
}

export function planVia(planId: string): string {
  return `plan:${planId}`;
}

export function isEnabled(plan: Plan, state: PlanState | undefined): boolean {
  return !state?.revoked && (state?.enabled ?? plan.enabled);
}

export function nextFireTime(plan: Plan, after: number): number | undefined {
  if (!plan.schedule) return undefined;
  return new Cron(plan.schedule, { paused: true }).nextRun(new Date(after))?.getTime();
}

export class PlanScheduler {
  private ticking: Promise<void> = Promise.resolve();
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly options: SchedulerOptions) {}

  /**
   * Ticks every `intervalMs` of real time (the clock still decides what is due). In a cluster,
   * `asDuty` runs the tick only on the executor holding the scheduler's lease, so a time fires once.
   */
  start(intervalMs: number, asDuty: (tick: () => Promise<void>) => Promise<unknown> = (tick) => tick()): void {
    this.timer = setInterval(() => void asDuty(() => this.tick()).catch((error: unknown) => this.options.logger.error({ err: error }, 'plan scheduler tick failed')), intervalMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.ticking;
  }

  /** Handles every plan once; ticks never overlap. */
  tick(): Promise<void> {
    const next = this.ticking.then(() => this.handleAll());
    this.ticking = next.catch(() => undefined);
    return next;
  }

  private async handleAll(): Promise<void> {
    const now = this.options.clock.now();
    for (const plan of this.options.catalog.snapshot().plans ?? []) {
      if (!plan.schedule) continue;
      try {
        await this.handle(plan, now);
      } catch (error) {
        this.options.logger.error({ err: error, plan: plan.id }, 'plan could not be handled');
      }
    }
  }

  private async handle(plan: Plan, now: number): Promise<void> {
    const { states } = this.options;
    const stored = await states.get(plan.id);
    if (!stored) {
      // A plan seen for the first time starts from now: nothing before it was ever due.
      await states.compareAndSet(plan.id, undefined, { handledUntil: now });
      return;
    }
    const { value: state, revision } = stored;
    if (!isEnabled(plan, state)) {
      // Times skipped while disabled or revoked are not "missed".
      if (state.handledUntil < now) await states.compareAndSet(plan.id, revision, { ...state, handledUntil: now });
      return;
    }
    const due: number[] = [];
    for (let at = nextFireTime(plan, state.handledUntil); at !== undefined && at <= now && due.length < MAX_COUNTED_FIRES; at = nextFireTime(plan, at)) due.push(at);
    if (due.length === 0) return;
    const newest = due[due.length - 1] as number;
    const onTime = now - newest <= (this.options.graceMs ?? DEFAULT_GRACE_MS);
    const missed = onTime ? due.slice(0, -1) : due;
    // Recorded before anything runs: whatever happens next, these times are never fired again.
    // Should the state have changed since it was read (a disable, another executor's tick), this
    // tick does nothing for the plan; the next one decides on what is stored then.
    const recorded = await states.compareAndSet(plan.id, revision, { ...state, handledUntil: now, ...(onTime ? { lastFiredAt: newest } : {}) });
    if (recorded === undefined) return;
    if (missed.length > 0) await this.reportMissed(plan, missed);
    if (onTime) await this.fire(plan, newest);
  }

  private async reportMissed(plan: Plan, missed: number[]): Promise<void> {
    const first = new Date(missed[0] as number).toISOString();
    const last = new Date(missed[missed.length - 1] as number).toISOString();
    await this.options.audit.append({
      type: 'plan.missed',
      outcome: 'info',
      correlationId: newCorrelationId(),
      actor: planVia(plan.id),
      via: planVia(plan.id),
      subject: plan.id,
      detail: { count: missed.length, first, last, action: plan.action },
    });
    await this.options.events.publish({
      type: 'plan.missed',
      plan: { id: plan.id, tenant: plan.tenant, principalId: plan.principal, actionId: plan.action },
      missed: { count: missed.length, first, last },
      notify: [plan.principal],
    });
    this.options.logger.warn({ plan: plan.id, count: missed.length, first, last }, 'plan fire times missed while the executor was down');
  }

  private async fire(plan: Plan, at: number): Promise<void> {
    const correlationId = newCorrelationId();
    try {
      const run = await this.options.runs.create(
        {
          actionId: plan.action,
          principalId: plan.principal,
          inputs: plan.inputs,
          ...(plan.targets ? { target: plan.targets } : {}),
          origin: { kind: 'schedule', conversationId: plan.id, messageId: new Date(at).toISOString() },
        },
        { correlationId, via: planVia(plan.id) },
      );
      this.options.logger.info({ plan: plan.id, runId: run.id, correlationId }, 'plan fired');
    } catch (error) {
      // The run service audited the refusal (policy, validation, busy); the log names the plan.
      this.options.logger.warn({ err: error, plan: plan.id, correlationId }, 'plan fire refused');
    }
  }
}
