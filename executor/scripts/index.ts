/** The script lifecycle (status changes, reviews, approvals list): import from here. */
import { join } from 'node:path';
import type { RouteKit } from '../http/routes.ts';
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

/** The review records live in `<dataDir>/script-reviews.json`. */
export function startScripts(options: Omit<ScriptServiceOptions, 'reviews'> & { dataDir: string }): Scripts {
  const { dataDir, ...rest } = options;
  const service = new ScriptService({ ...rest, reviews: new ReviewStore(join(dataDir, 'script-reviews.json')) });
  return { service, routes: scriptRoutes(service) };
}
