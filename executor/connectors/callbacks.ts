/**
 * When a run a connector started ends, its result goes to the connector's `callbackUrl`,
 * signed like inbound hooks (`X-Deputy-Signature` over `<t>.<body>` with the connector's key).
 * The run view is the masked one the API serves: no secret can travel this way.
 */
import type { Logger } from 'pino';
import type { Clock } from '../../lib/clock.ts';
import { newCorrelationId } from '../../lib/ids.ts';
import type { RunEvent } from '../contract/index.ts';
import type { EventBus } from '../events.ts';
import type { AuditLog } from '../store/port.ts';
import { connectorVia, type ConnectorService } from './hooks.ts';
import { connectorKey } from './secrets.ts';
import { SIGNATURE_HEADER, signPayload } from './signature.ts';

export interface CallbackOptions {
  connectors: Pick<ConnectorService, 'connector'>;
  events: EventBus;
  audit: AuditLog;
  clock: Clock;
  logger: Logger;
  env: NodeJS.ProcessEnv;
  timeoutMs?: number;
  attempts?: number;
  /** Pause between attempts; doubles each time. */
  retryDelayMs?: number;
}

export class CallbackSender {
  private readonly inFlight = new Set<Promise<void>>();
  private readonly unsubscribe: () => void;

  constructor(private readonly options: CallbackOptions) {
    this.unsubscribe = options.events.subscribe((event) => {
      if (event.type !== 'run.finished' || event.run.origin.kind !== 'connector') return;
      const delivery = this.deliver(event).catch((error: unknown) => options.logger.error({ err: error, runId: event.run.id }, 'callback failed'));
      this.inFlight.add(delivery);
      void delivery.finally(() => this.inFlight.delete(delivery));
    });
  }

  /** Stops listening and waits for deliveries under way. */
  async close(): Promise<void> {
    this.unsubscribe();
    await Promise.all([...this.inFlight]);
  }

  private async deliver(event: RunEvent): Promise<void> {
    const connectorId = event.run.origin.conversationId;
    const connector = connectorId === undefined ? undefined : this.options.connectors.connector(connectorId);
    if (!connector?.callbackUrl) return;
    const key = connectorKey(connector, this.options.env);
    const { audit, clock, logger } = this.options;
    const record = (outcome: 'info' | 'error', detail: Record<string, unknown>) =>
      audit.append({
        type: 'hook.callback',
        outcome,
        correlationId: event.run.correlationId ?? newCorrelationId(),
        actor: connectorVia(connector.id),
        subject: event.run.id,
        detail: { url: connector.callbackUrl, ...detail },
      });
    if (!key.ok) {
      await record('error', { reason: `no usable key: ${key.reason}` });
      return;
    }
    const body = JSON.stringify({ type: event.type, run: event.run });
    const attempts = this.options.attempts ?? 3;
    let delay = this.options.retryDelayMs ?? 1000;
    let lastProblem = '';
    for (let attempt = 1; attempt <= attempts; attempt++) {
      try {
        const response = await fetch(connector.callbackUrl, {
          method: 'POST',
          headers: { 'content-type': 'application/json', [SIGNATURE_HEADER]: signPayload(key.key, body, clock.now()), 'x-correlation-id': event.run.correlationId },
          body,
          redirect: 'error',
          signal: AbortSignal.timeout(this.options.timeoutMs ?? 10_000),
        });
        await response.body?.cancel();
        if (response.ok) {
          await record('info', { status: response.status, attempt });
          return;
        }
        lastProblem = `HTTP ${response.status}`;
      } catch (error) {
        lastProblem = (error as Error).message;
      }
      logger.warn({ connector: connector.id, runId: event.run.id, attempt, problem: lastProblem }, 'callback attempt failed');
      if (attempt < attempts) {
        await new Promise((resolve) => setTimeout(resolve, delay));
        delay *= 2;
      }
    }
    await record('error', { reason: lastProblem, attempts });
  }
}
