/**
 * `POST /v1/hooks/<connectorId>`: an ITSM or monitoring system starts an action. No bearer
 * token: the request is trusted through the connector's HMAC signature (a 5-minute window on
 * the injected clock, each signature accepted once), its optional source allow-list, and then
 * only as the connector's bound principal on the actions the connector names; the run service
 * checks the policy and the inputs like for any other request. Every decision is an audit
 * entry; refusals of senders not yet known pass the executor's refusal throttle (store/refusal-audit.ts).
 */
import type { Logger } from 'pino';
import type { Clock } from '../../lib/clock.ts';
import { DeputyError, type ErrorCode, type RunState } from '../contract/index.ts';
import type { AuditInput, Connector, RunRecord } from '../domain.ts';
import type { CreateRunRequest } from '../contract/index.ts';
import type { IdempotentOnce, RequestContext } from '../runs/service.ts';
import type { AuditLog, CatalogStore } from '../store/port.ts';
import type { RefusalThrottle } from '../store/refusal-audit.ts';
import type { HookSignatureRecords } from '../store/state-port.ts';
import { IDEMPOTENCY_KEY_PATTERN } from './idempotency.ts';
import { readJsonPath } from './json-path.ts';
import { connectorKey } from './secrets.ts';
import { verifySignature } from './signature.ts';
import { sourceAllowList } from './sources.ts';

export interface HookRequest {
  connectorId: string;
  /** The body exactly as received; the signature covers these bytes, never re-serialized JSON. */
  rawBody: string | undefined;
  signature: string | undefined;
  idempotencyKey: string | undefined;
  remoteAddress: string | undefined;
}

export interface HookAnswer {
  id: string;
  state: RunState | string;
  correlationId: string;
  /** True when an earlier request with the same Idempotency-Key already started this run. */
  replay: boolean;
}

export interface ConnectorServiceOptions {
  catalog: Pick<CatalogStore, 'snapshot'>;
  audit: AuditLog;
  runs: { create(request: CreateRunRequest, context: RequestContext): Promise<RunRecord> };
  /** Idempotency-Keys, remembered across executors: a repeat on any of them gets the first run. */
  idempotency: IdempotentOnce;
  /** Accepted signatures, so that a replayed request starts nothing, on whichever executor it arrives. */
  signatures: HookSignatureRecords;
  /** Audits refusals of senders not yet known, throttled per source. */
  refusals: Pick<RefusalThrottle, 'refuse'>;
  clock: Clock;
  logger: Logger;
  env: NodeJS.ProcessEnv;
}

export function connectorVia(connectorId: string): string {
  return `connector:${connectorId}`;
}

export class ConnectorService {
  constructor(private readonly options: ConnectorServiceOptions) {}

  /** A web service connector by id; a mail connector has no hook. */
  connector(id: string): Connector | undefined {
    return this.options.catalog.snapshot().connectors?.find((candidate) => candidate.id === id && candidate.kind !== 'mail');
  }

  async handle(request: HookRequest, correlationId: string): Promise<HookAnswer> {
    const via = connectorVia(request.connectorId);
    // Until the signature is verified and fresh, the sender is unknown: its refusals are audited through
    // the per-source throttle, so that nobody can grow the audit log by sending them.
    let authenticated = false;
    const refuse = async (code: ErrorCode, reason: string, extra: Record<string, unknown> = {}): Promise<never> => {
      const entry = this.entry('denied', request, correlationId, { code, reason, ...extra });
      if (authenticated) await this.options.audit.append(entry);
      else await this.options.refusals.refuse(request.remoteAddress, entry);
      throw new DeputyError(code, { detail: `hook ${request.connectorId.slice(0, 100)}: ${reason}` });
    };

    // Headers are checked before anything of them is written down.
    if (request.idempotencyKey !== undefined && !IDEMPOTENCY_KEY_PATTERN.test(request.idempotencyKey)) {
      return refuse('DEPUTY_E_BAD_REQUEST', 'Idempotency-Key must be 1–200 visible ASCII characters');
    }
    const connector = this.connector(request.connectorId);
    if (!connector) return refuse('DEPUTY_E_NOT_FOUND', 'unknown connector');
    let sources;
    try {
      sources = sourceAllowList(connector.allowSources);
    } catch (error) {
      return refuse('DEPUTY_E_FORBIDDEN', `the allow-list is invalid: ${(error as Error).message}`);
    }
    if (!sources.allows(request.remoteAddress)) return refuse('DEPUTY_E_FORBIDDEN', 'source address not on the allow-list');
    const key = connectorKey(connector, this.options.env);
    if (!key.ok) {
      this.options.logger.error({ connector: connector.id, reason: key.reason, correlationId }, 'connector has no usable key; its hooks are refused');
      return refuse('DEPUTY_E_SIGNATURE', `connector has no usable key: ${key.reason}`);
    }
    if (request.rawBody === undefined) return refuse('DEPUTY_E_BAD_REQUEST', 'the body must be JSON (content-type application/json)');
    const signature = verifySignature(key.key, request.signature, request.rawBody, this.options.clock.now());
    if (!signature.ok) return refuse('DEPUTY_E_SIGNATURE', signature.reason);
    const claim = await this.options.signatures.claim(connector.id, signature.digest, request.idempotencyKey, signature.expiresAt);
    if (claim === 'replay') {
      return refuse('DEPUTY_E_REPLAY', 'this signature was accepted before (a replayed request); a retry must repeat its first Idempotency-Key');
    }
    authenticated = true;

    let payload: unknown;
    try {
      payload = JSON.parse(request.rawBody);
    } catch {
      return refuse('DEPUTY_E_BAD_REQUEST', 'the body is not JSON');
    }
    const actionId = connector.actions.length === 1 ? connector.actions[0] : readJsonPath(payload, connector.actionFrom ?? '$.action');
    if (typeof actionId !== 'string' || !connector.actions.includes(actionId)) {
      return refuse('DEPUTY_E_FORBIDDEN', `action ${JSON.stringify(actionId)} is not one of this connector's actions`);
    }
    const inputs: Record<string, unknown> = {};
    for (const [parameter, path] of Object.entries(connector.mapping[actionId] ?? {})) {
      const value = readJsonPath(payload, path);
      if (value !== undefined) inputs[parameter] = value;
    }

    const start = async () => {
      const run = await this.options.runs.create(
        { actionId, principalId: connector.principal, inputs, origin: { kind: 'connector', conversationId: connector.id } },
        { correlationId, via },
      );
      return { runId: run.id, state: run.state, correlationId: run.correlationId };
    };
    try {
      let answer;
      let replay = false;
      if (request.idempotencyKey === undefined) answer = await start();
      else ({ answer, replay } = await this.options.idempotency.once(connector.id, request.idempotencyKey, request.rawBody, start));
      await this.options.audit.append(this.entry('allowed', request, correlationId, { actionId, runId: answer.runId, replay }));
      return { id: answer.runId, state: answer.state, correlationId: answer.correlationId, replay };
    } catch (error) {
      const code = error instanceof DeputyError ? error.code : 'DEPUTY_E_INTERNAL';
      await this.options.audit.append(
        this.entry('denied', request, correlationId, { actionId, code, reason: error instanceof DeputyError ? (error.detail ?? error.message) : 'internal error' }),
      );
      throw error;
    }
  }

  /** An Idempotency-Key is recorded only once it passed its check: the raw header of a refused request is never written. */
  private entry(outcome: 'allowed' | 'denied', request: HookRequest, correlationId: string, detail: Record<string, unknown>): AuditInput {
    const key = request.idempotencyKey;
    return {
      type: 'hook.request',
      outcome,
      correlationId,
      actor: connectorVia(request.connectorId),
      via: connectorVia(request.connectorId),
      subject: request.connectorId,
      detail: {
        source: request.remoteAddress ?? null,
        ...(key === undefined ? {} : IDEMPOTENCY_KEY_PATTERN.test(key) ? { idempotencyKey: key } : { idempotencyKeyLength: key.length }),
        ...detail,
      },
    };
  }
}
