/** Scripting plans: state file, scheduler and the `/v1/plans` routes. */
import type { Logger } from 'pino';
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
import type { EventStream } from '../event-stream.ts';
import type { RouteKit } from '../http/routes.ts';
import type { Policy } from '../policy/index.ts';
import type { ChoiceChecker, InputValidator, RunService } from '../runs/service.ts';
import type { ExecutorStore } from '../store/state-port.ts';
import { PlanScheduler } from './scheduler.ts';
import { PlanService } from './service.ts';
import type { PlanStates } from './state.ts';
import { ConnectorTriggers } from './triggers.ts';

export { PlanScheduler } from './scheduler.ts';
export { PlanService, PlanViewSchema, type PlanView } from './service.ts';
export { ConnectorTriggers } from './triggers.ts';

export const PLAN_STATE_FILE = 'plans-state.json';

const PrincipalQuerySchema = z.strictObject({ principal: z.string().min(1).max(200) });

export interface Plans {
  scheduler: PlanScheduler;
  service: PlanService;
  /** The run service as web service connectors should see it: hooks for connector-triggered plans start the plan. */
  triggers: ConnectorTriggers;
  routes: (kit: RouteKit) => void;
  close(): Promise<void>;
}

export function startPlans(options: {
  store: ExecutorStore;
  runs: RunService;
  policy: Pick<Policy, 'mayOnPlan' | 'mayRunAction'>;
  events: Pick<EventStream, 'publish'>;
  editor: CatalogEditor;
  validateInputs: InputValidator;
  /** Checks values of query-bound fields when a plan is defined (every fire checks them again). */
  choices?: ChoiceChecker;
  clock: Clock;
  logger: Logger;
  /** Plan states, shared by every executor of a cluster. */
  states: PlanStates;
  /** Real-time interval between scheduler ticks; 0: no timer (tests tick by hand). */
  tickMs: number;
  /** Runs a tick only where the scheduler's duty lease is held (one executor of a cluster). */
  asDuty?: (tick: () => Promise<void>) => Promise<unknown>;
}): Plans {
  const { states } = options;
  const scheduler = new PlanScheduler({ catalog: options.store.catalog, states, runs: options.runs, events: options.events, audit: options.store.audit, clock: options.clock, logger: options.logger });
  const service = new PlanService({
    store: options.store,
    policy: options.policy,
    runs: options.runs,
    states,
    editor: options.editor,
    validateInputs: options.validateInputs,
    ...(options.choices ? { choices: options.choices } : {}),
    now: () => options.clock.now(),
  });
  const triggers = new ConnectorTriggers({ catalog: options.store.catalog, states, runs: options.runs, audit: options.store.audit, clock: options.clock });
  if (options.tickMs > 0) scheduler.start(options.tickMs, options.asDuty);
  return {
    scheduler,
    service,
    triggers,
    routes(kit) {
      kit.get('/v1/plans', { auth: 'bearer', query: PrincipalQuerySchema }, async (_req, res, context, { query }) => {
        if (!options.store.catalog.getPrincipal(query.principal)) throw new DeputyError('DEPUTY_E_NOT_ENROLLED', { detail: `unknown principal ${query.principal}` });
        res.send(200, { plans: await service.list(query.principal, context) });
      });
      kit.post('/v1/plans', { auth: 'bearer', body: CreatePlanRequestSchema }, async (_req, res, context, { body }) => {
        res.send(201, { plan: await service.create(body, context) });
      });
      kit.put('/v1/plans/:id', { auth: 'bearer', body: PlanDefinitionSchema }, async (req, res, context, { body }) => {
        res.send(200, { plan: await service.update(String(req.params.id), body, context) });
      });
      kit.del('/v1/plans/:id', { auth: 'bearer', query: DeleteQuerySchema }, async (req, res, context, { query }) => {
        res.send(200, { deleted: await service.delete(String(req.params.id), query.principal, context) });
      });
      kit.post('/v1/plans/:id/:command', { auth: 'bearer', body: PlanCommandRequestSchema }, async (req, res, context, { body }) => {
        const command = String(req.params.command);
        if (!(PLAN_COMMANDS as readonly string[]).includes(command)) throw new DeputyError('DEPUTY_E_NOT_FOUND', { detail: `no plan command ${command}` });
        res.send(command === 'run' ? 202 : 200, await service.command(String(req.params.id), command as PlanCommand, body, context));
      });
    },
    close: () => scheduler.stop(),
  };
}
