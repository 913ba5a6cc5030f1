/**
 * What changes about a plan at run time, kept in `<dataDir>/plans-state.json` (0600): enabled
 * or disabled through the API, revoked, and how far its schedule has been handled. The last
 * point is written *before* a run starts, so a crash or restart can never fire a time twice.
 */
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { isMissingFile, writeFileDurably } from '../store/files.ts';

const PlanStateSchema = z.object({
  /** Set by enable/disable; absent: the catalog's `enabled`. */
  enabled: z.boolean().optional(),
  revoked: z.boolean().optional(),
  /** Every fire time up to here is handled (fired, reported as missed, or skipped while disabled). */
  handledUntil: z.number(),
  lastFiredAt: z.number().optional(),
});
export type PlanState = z.infer<typeof PlanStateSchema>;
const FileSchema = z.record(z.string(), PlanStateSchema);

export class PlanStateStore {
  private readonly states: Map<string, PlanState>;
  private writing: Promise<void> = Promise.resolve();

  constructor(private readonly path: string) {
    let raw: unknown = {};
    try {
      raw = JSON.parse(readFileSync(path, 'utf8'));
    } catch (error) {
      if (!isMissingFile(error)) throw error;
    }
    this.states = new Map(Object.entries(FileSchema.parse(raw)));
  }

  get(planId: string): PlanState | undefined {
    const state = this.states.get(planId);
    return state && { ...state };
  }

  /** Durable when the promise resolves. */
  async put(planId: string, state: PlanState): Promise<void> {
    this.states.set(planId, { ...state });
    const snapshot = `${JSON.stringify(Object.fromEntries(this.states), null, 2)}\n`;
    const next = this.writing.then(() => writeFileDurably(this.path, snapshot));
    this.writing = next.catch(() => undefined);
    await next;
  }
}
