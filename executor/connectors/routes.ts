/** Mounts `POST /v1/hooks/<connectorId>` on the executor's API server. */
import type { Request, Server } from 'restify';
import type { RouteKit } from '../http/server.ts';
import type { ConnectorService } from './hooks.ts';
import { SIGNATURE_HEADER } from './signature.ts';

export function hookRoutes(connectors: ConnectorService) {
  return (server: Server, kit: RouteKit): void => {
    server.post(
      '/v1/hooks/:connectorId',
      kit.route(async (req, res, context) => {
        const raw = (req as Request & { rawBody?: unknown }).rawBody;
        const answer = await connectors.handle(
          {
            connectorId: String(req.params.connectorId),
            rawBody: typeof raw === 'string' ? raw : undefined,
            signature: req.header(SIGNATURE_HEADER) || undefined,
            idempotencyKey: req.header('idempotency-key') || undefined,
            remoteAddress: req.socket.remoteAddress,
          },
          context.correlationId,
        );
        if (answer.replay) res.header('idempotent-replayed', 'true');
        res.send(202, { id: answer.id, state: answer.state, correlationId: answer.correlationId });
      }),
    );
  };
}
