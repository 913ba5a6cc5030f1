/** Which target systems an action runs on, read from the catalog as it is now. */
import type { Action, Target } from '../domain.ts';

/** True when `tenant` is `ancestor` or lies below it (the catalog's tenant tree). */
export type WithinTenant = (tenant: string, ancestor: string) => boolean;

/**
 * The targets an action names, in catalog order: the listed ids that exist, or every target of
 * the named tenant and the tenants below it. Empty for an action that runs on the executor.
 */
export function targetsOfAction(action: Pick<Action, 'targets'>, targets: readonly Target[], within: WithinTenant): Target[] {
  const named = action.targets;
  if (named === undefined) return [];
  if (Array.isArray(named)) {
    const byId = new Map(targets.map((target) => [target.id, target]));
    return named.flatMap((id) => byId.get(id) ?? []);
  }
  return targets.filter((target) => within(target.tenant, named.tenant));
}

/** The run request's `target` as a list of ids, duplicates removed, order kept. */
export function requestedTargetIds(target: string | readonly string[] | undefined): string[] {
  if (target === undefined) return [];
  return [...new Set(typeof target === 'string' ? [target] : target)];
}
