/**
 * What changes about a plan at run time, kept in `<dataDir>/plans-state.json` (0600): enabled
 * or disabled through the API, revoked, and how far its schedule has been handled. The last
 * point is written *before* a run starts, so a crash or restart can never fire a time twice.
 */
import { z } from 'zod';
import { DurableJsonMap } from '../store/json-map.ts';

export const PlanStateSchema = z.object({
  /** Set by enable/disable; absent: the catalog's `enabled`. */
  enabled: z.boolean().optional(),
  revoked: z.boolean().optional(),
  /** Every fire time up to here is handled (fired, reported as missed, or skipped while disabled). */
  handledUntil: z.number(),
  lastFiredAt: z.number().optional(),
});
export type PlanState = z.infer<typeof PlanStateSchema>;

export class PlanStateStore {
  private readonly states: DurableJsonMap<PlanState>;

  constructor(path: string) {
    this.states = new DurableJsonMap(path, PlanStateSchema);
  }

  get(planId: string): PlanState | undefined {
    return this.states.get(planId);
  }

  /** Durable when the promise resolves. */
  put(planId: string, state: PlanState): Promise<void> {
    return this.states.set(planId, state);
  }

  /** A deleted plan's state goes with it: a new plan of the same id starts afresh. */
  forget(planId: string): Promise<void> {
    return this.states.delete(planId);
  }
}
