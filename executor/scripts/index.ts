/** The script lifecycle (status changes, reviews, approvals list): import from here. */
import type { ScriptReviewState } from '../contract/index.ts';
import type { RouteKit } from '../http/routes.ts';
import type { RecordMap } from '../store/state-port.ts';
import { ReviewStore } from './reviews.ts';
import { scriptRoutes } from './routes.ts';
import { ScriptService, type ScriptServiceOptions } from './service.ts';

export { unifiedDiff } from './diff.ts';
export type { DiffOptions, UnifiedDiff } from './diff.ts';
export { ScriptService } from './service.ts';

export interface Scripts {
  service: ScriptService;
  routes: (kit: RouteKit) => void;
}

/** The review records are the backend's (executor/backend.ts): shared by every executor of a cluster. */
export function startScripts(options: Omit<ScriptServiceOptions, 'reviews'> & { reviews: RecordMap<ScriptReviewState> }): Scripts {
  const service = new ScriptService({ ...options, reviews: new ReviewStore(options.reviews) });
  return { service, routes: scriptRoutes(service) };
}
