/** Wires the web service connector: hook service (with the backend's idempotency and signature records), callbacks and the route. */
import type { Logger } from 'pino';
import type { Clock } from '../../lib/clock.ts';
import type { EventBus } from '../events.ts';
import type { RouteKit } from '../http/routes.ts';
import type { RunService } from '../runs/service.ts';
import type { ExecutorStore, HookSignatureRecords } from '../store/state-port.ts';
import type { IdempotentOnce } from '../runs/service.ts';
import { CallbackSender } from './callbacks.ts';
import { ConnectorService } from './hooks.ts';
import type { RefusalThrottle } from '../store/refusal-audit.ts';
import { hookRoutes } from './routes.ts';

export { ConnectorService } from './hooks.ts';
export { signPayload, verifySignature, SIGNATURE_HEADER } from './signature.ts';

export const IDEMPOTENCY_FILE = 'hook-idempotency.jsonl';
export const SIGNATURES_FILE = 'hook-signatures.jsonl';

export interface Connectors {
  service: ConnectorService;
  routes: (kit: RouteKit) => void;
  close(): Promise<void>;
}

export async function startConnectors(options: {
  store: ExecutorStore;
  runs: Pick<RunService, 'create'>;
  events: EventBus;
  clock: Clock;
  logger: Logger;
  env: NodeJS.ProcessEnv;
  /** Hook Idempotency-Keys and accepted signatures: the backend's, shared by every executor of a cluster. */
  idempotency: IdempotentOnce;
  signatures: HookSignatureRecords;
  /** The executor's throttle for refusals of senders not known yet. */
  refusals: RefusalThrottle;
}): Promise<Connectors> {
  const { store, clock, logger, env, idempotency, signatures } = options;
  const service = new ConnectorService({ catalog: store.catalog, audit: store.audit, runs: options.runs, idempotency, signatures, refusals: options.refusals, clock, logger, env });
  const callbacks = new CallbackSender({ connectors: service, events: options.events, audit: store.audit, clock, logger, env });
  return {
    service,
    routes: hookRoutes(service),
    async close() {
      await callbacks.close();
    },
  };
}
