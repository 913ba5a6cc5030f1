/**
 * What changes about a plan at run time: enabled or disabled through the API, revoked, and how
 * far its schedule has been handled. Kept in `<dataDir>/plans-state.json` (0600) on files, in
 * `deputy.plan_state` on PostgreSQL, where every executor sees one state. The last point is
 * written *before* a run starts, by compare-and-set, so neither a crash nor a second executor
 * can fire a time twice.
 */
import { z } from 'zod';
import type { RecordMap } from '../store/state-port.ts';

export const PlanStateSchema = z.object({
  /** Set by enable/disable; absent: the catalog's `enabled`. */
  enabled: z.boolean().optional(),
  revoked: z.boolean().optional(),
  /** Every fire time up to here is handled (fired, reported as missed, or skipped while disabled). */
  handledUntil: z.number(),
  lastFiredAt: z.number().optional(),
});
export type PlanState = z.infer<typeof PlanStateSchema>;

/** Plan states by plan id, shared by every executor (files or PostgreSQL, executor/backend.ts). */
export type PlanStates = RecordMap<PlanState>;
