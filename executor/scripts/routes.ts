/**
 * REST routes of the script lifecycle, mounted through the API server's `registerRoutes`:
 * `GET /v1/scripts`, `GET /v1/scripts/<id>`, `POST /v1/scripts/<id>/status`, `GET /v1/approvals`.
 * The bearer token is checked by the server for every `/v1` route before these run.
 */
import type { Server } from 'restify';
import {
  ScriptListQuerySchema,
  ScriptQuerySchema,
  ScriptStatusRequestSchema,
  type ApprovalList,
  type ScriptView,
} from '../contract/index.ts';
import { parseRequest } from '../http/parse.ts';
import type { RouteKit } from '../http/server.ts';
import type { ScriptService } from './service.ts';


export function scriptRoutes(scripts: ScriptService): (server: Server, kit: RouteKit) => void {
  return (server, { route }) => {
    server.get(
      '/v1/scripts',
      route((req, res) => {
        const query = parseRequest(ScriptListQuerySchema, req.query ?? {});
        res.send(200, { scripts: scripts.list(query.principal, query.status) } satisfies { scripts: ScriptView[] });
      }),
    );

    server.get(
      '/v1/scripts/:id',
      route((req, res) => {
        const { principal } = parseRequest(ScriptQuerySchema, req.query ?? {});
        res.send(200, scripts.get(principal, String(req.params.id)));
      }),
    );

    server.post(
      '/v1/scripts/:id/status',
      route(async (req, res, context) => {
        const request = parseRequest(ScriptStatusRequestSchema, req.body);
        const script = await scripts.changeStatus(String(req.params.id), request, context);
        res.send(200, { script });
      }),
    );

    server.get(
      '/v1/approvals',
      route((req, res) => {
        const { principal } = parseRequest(ScriptQuerySchema, req.query ?? {});
        res.send(200, scripts.approvals(principal) satisfies ApprovalList);
      }),
    );
  };
}
