/**
 * Declares `POST /v1/hooks/<connectorId>` on the executor's API server. No bearer token: the
 * connector service verifies the HMAC over the exact bytes, which the kit reads (bounded,
 * uncompressed JSON, never parsed before the signature is checked).
 */
import type { RouteKit } from '../http/routes.ts';
import type { ConnectorService } from './hooks.ts';
import { SIGNATURE_HEADER } from './signature.ts';

export function hookRoutes(connectors: ConnectorService) {
  return (kit: RouteKit): void => {
    kit.post('/v1/hooks/:connectorId', { auth: 'signed', rawBody: true }, async (req, res, context, { rawBody }) => {
      const answer = await connectors.handle(
        {
          connectorId: String(req.params.connectorId),
          rawBody,
          signature: req.header(SIGNATURE_HEADER) || undefined,
          idempotencyKey: req.header('idempotency-key') || undefined,
          remoteAddress: req.socket.remoteAddress,
        },
        context.correlationId,
      );
      if (answer.replay) res.header('idempotent-replayed', 'true');
      res.send(202, { id: answer.id, state: answer.state, correlationId: answer.correlationId });
    });
  };
}
