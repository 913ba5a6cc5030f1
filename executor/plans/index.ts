/** Scripting plans: state file, scheduler and the `/v1/plans` routes. */
import { join } from 'node:path';
import type { Logger } from 'pino';
import { z } from 'zod';
import type { Clock } from '../../lib/clock.ts';
import { DeputyError } from '../contract/index.ts';
import type { EventBus } from '../events.ts';
import type { RouteKit } from '../http/routes.ts';
import type { Policy } from '../policy/index.ts';
import type { RunService } from '../runs/service.ts';
import type { Store } from '../store/port.ts';
import { PlanScheduler } from './scheduler.ts';
import { PLAN_COMMANDS, PlanService, type PlanCommand } from './service.ts';
import { PlanStateStore } from './state.ts';
import { ConnectorTriggers } from './triggers.ts';

export { PlanScheduler } from './scheduler.ts';
export { PlanService, PlanViewSchema, type PlanView } from './service.ts';
export { ConnectorTriggers } from './triggers.ts';

export const PLAN_STATE_FILE = 'plans-state.json';

const PrincipalQuerySchema = z.strictObject({ principal: z.string().min(1).max(200) });
const CommandBodySchema = z.object({ principalId: z.string().min(1).max(200) });

export interface Plans {
  scheduler: PlanScheduler;
  service: PlanService;
  /** The run service as web service connectors should see it: hooks for connector-triggered plans start the plan. */
  triggers: ConnectorTriggers;
  routes: (kit: RouteKit) => void;
  close(): Promise<void>;
}

export function startPlans(options: {
  store: Store;
  runs: RunService;
  policy: Pick<Policy, 'mayOnPlan'>;
  events: EventBus;
  clock: Clock;
  logger: Logger;
  dataDir: string;
  /** Real-time interval between scheduler ticks; 0: no timer (tests tick by hand). */
  tickMs: number;
}): Plans {
  const states = new PlanStateStore(join(options.dataDir, PLAN_STATE_FILE));
  const scheduler = new PlanScheduler({ catalog: options.store.catalog, states, runs: options.runs, events: options.events, audit: options.store.audit, clock: options.clock, logger: options.logger });
  const service = new PlanService({ store: options.store, policy: options.policy, runs: options.runs, states, now: () => options.clock.now() });
  const triggers = new ConnectorTriggers({ catalog: options.store.catalog, states, runs: options.runs, audit: options.store.audit, clock: options.clock });
  if (options.tickMs > 0) scheduler.start(options.tickMs);
  return {
    scheduler,
    service,
    triggers,
    routes(kit) {
      kit.get('/v1/plans', { auth: 'bearer', query: PrincipalQuerySchema }, async (_req, res, context, { query }) => {
        if (!options.store.catalog.getPrincipal(query.principal)) throw new DeputyError('DEPUTY_E_NOT_ENROLLED', { detail: `unknown principal ${query.principal}` });
        res.send(200, { plans: await service.list(query.principal, context) });
      });
      kit.post('/v1/plans/:id/:command', { auth: 'bearer', body: CommandBodySchema }, async (req, res, context, { body }) => {
        const command = String(req.params.command);
        if (!(PLAN_COMMANDS as readonly string[]).includes(command)) throw new DeputyError('DEPUTY_E_NOT_FOUND', { detail: `no plan command ${command}` });
        res.send(200, await service.command(String(req.params.id), command as PlanCommand, body.principalId, context));
      });
    },
    close: () => scheduler.stop(),
  };
}
