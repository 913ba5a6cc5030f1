/**
 * REST routes of the script lifecycle, declared through the API server's route kit:
 * `GET /v1/scripts`, `GET /v1/scripts/<id>`, `POST /v1/scripts/<id>/status`, `GET /v1/approvals`.
 * The kit checks the bearer token, the query and the body before these run.
 */
import { ScriptListQuerySchema, ScriptQuerySchema, ScriptStatusRequestSchema, type ApprovalList, type ScriptView } from '../contract/index.ts';
import type { RouteKit } from '../http/routes.ts';
import type { ScriptService } from './service.ts';

export function scriptRoutes(scripts: ScriptService): (kit: RouteKit) => void {
  return (kit) => {
    kit.get('/v1/scripts', { auth: 'bearer', query: ScriptListQuerySchema }, async (_req, res, _context, { query }) => {
      res.send(200, { scripts: await scripts.list(query.principal, query.status) } satisfies { scripts: ScriptView[] });
    });

    kit.get('/v1/scripts/:id', { auth: 'bearer', query: ScriptQuerySchema }, async (req, res, _context, { query }) => {
      res.send(200, await scripts.get(query.principal, String(req.params.id)));
    });

    kit.post('/v1/scripts/:id/status', { auth: 'bearer', body: ScriptStatusRequestSchema }, async (req, res, context, { body }) => {
      const script = await scripts.changeStatus(String(req.params.id), body, context);
      res.send(200, { script });
    });

    kit.get('/v1/approvals', { auth: 'bearer', query: ScriptQuerySchema }, async (_req, res, _context, { query }) => {
      res.send(200, (await scripts.approvals(query.principal)) satisfies ApprovalList);
    });
  };
}
