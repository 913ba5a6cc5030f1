/** Scripting plans: state file, scheduler and the `/v1/plans` routes. */
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { Server } from 'restify';
import { z } from 'zod';
import type { Clock } from '../../lib/clock.ts';
import type { CatalogEditor } from '../catalog/editor.ts';
import {
  CreatePlanRequestSchema,
  DeleteQuerySchema,
  DeputyError,
  PLAN_COMMANDS,
  PlanCommandRequestSchema,
  PlanDefinitionSchema,
  type PlanCommand,
} from '../contract/index.ts';
import type { EventBus } from '../events.ts';
import { parseRequest } from '../http/parse.ts';
import type { RouteKit } from '../http/server.ts';
import type { Policy } from '../policy/index.ts';
import type { InputValidator, RunService } from '../runs/service.ts';
import type { Store } from '../store/port.ts';
import { PlanScheduler } from './scheduler.ts';
import { PlanService } from './service.ts';
import { PlanStateStore } from './state.ts';
import { ConnectorTriggers } from './triggers.ts';

export { PlanScheduler } from './scheduler.ts';
export { PlanService, PlanViewSchema, type PlanView } from './service.ts';
export { ConnectorTriggers } from './triggers.ts';

export const PLAN_STATE_FILE = 'plans-state.json';

const PrincipalQuerySchema = z.object({ principal: z.string().min(1) });

export interface Plans {
  scheduler: PlanScheduler;
  service: PlanService;
  /** The run service as web service connectors should see it: hooks for connector-triggered plans start the plan. */
  triggers: ConnectorTriggers;
  routes: (server: Server, kit: RouteKit) => void;
  close(): Promise<void>;
}

export function startPlans(options: {
  store: Store;
  runs: RunService;
  policy: Pick<Policy, 'mayOnPlan' | 'mayRunAction'>;
  events: EventBus;
  editor: CatalogEditor;
  validateInputs: InputValidator;
  clock: Clock;
  logger: Logger;
  dataDir: string;
  /** Real-time interval between scheduler ticks; 0: no timer (tests tick by hand). */
  tickMs: number;
}): Plans {
  const states = new PlanStateStore(join(options.dataDir, PLAN_STATE_FILE));
  const scheduler = new PlanScheduler({ catalog: options.store.catalog, states, runs: options.runs, events: options.events, audit: options.store.audit, clock: options.clock, logger: options.logger });
  const service = new PlanService({
    store: options.store,
    policy: options.policy,
    runs: options.runs,
    states,
    editor: options.editor,
    validateInputs: options.validateInputs,
    now: () => options.clock.now(),
  });
  const triggers = new ConnectorTriggers({ catalog: options.store.catalog, states, runs: options.runs, audit: options.store.audit, clock: options.clock });
  if (options.tickMs > 0) scheduler.start(options.tickMs);
  return {
    scheduler,
    service,
    triggers,
    routes(server, kit) {
      server.get(
        '/v1/plans',
        kit.route(async (req, res, context) => {
          const { principal } = parseRequest(PrincipalQuerySchema, req.query);
          if (!options.store.catalog.getPrincipal(principal)) throw new DeputyError('DEPUTY_E_NOT_ENROLLED', { detail: `unknown principal ${principal}` });
          res.send(200, { plans: await service.list(principal, context) });
        }),
      );
      server.post(
        '/v1/plans',
        kit.route(async (req, res, context) => {
          res.send(201, { plan: await service.create(parseRequest(CreatePlanRequestSchema, req.body), context) });
        }),
      );
      server.put(
        '/v1/plans/:id',
        kit.route(async (req, res, context) => {
          res.send(200, { plan: await service.update(String(req.params.id), parseRequest(PlanDefinitionSchema, req.body), context) });
        }),
      );
      server.del(
        '/v1/plans/:id',
        kit.route(async (req, res, context) => {
          const { principal } = parseRequest(DeleteQuerySchema, req.query);
          res.send(200, { deleted: await service.delete(String(req.params.id), principal, context) });
        }),
      );
      server.post(
        '/v1/plans/:id/:command',
        kit.route(async (req, res, context) => {
          const command = String(req.params.command);
          if (!(PLAN_COMMANDS as readonly string[]).includes(command)) throw new DeputyError('DEPUTY_E_NOT_FOUND', { detail: `no plan command ${command}` });
          const request = parseRequest(PlanCommandRequestSchema, req.body);
          res.send(command === 'run' ? 202 : 200, await service.command(String(req.params.id), command as PlanCommand, request, context));
        }),
      );
    },
    close: () => scheduler.stop(),
  };
}
