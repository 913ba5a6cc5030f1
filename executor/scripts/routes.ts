/**
 * REST routes of the script lifecycle, mounted through the API server's `registerRoutes`:
 * `GET /v1/scripts`, `GET /v1/scripts/<id>`, `POST /v1/scripts/<id>/status`, `GET /v1/approvals`.
 * The bearer token is checked by the server for every `/v1` route before these run.
 */
import type { Server } from 'restify';
import type { ZodType } from 'zod';
import {
  DeputyError,
  ScriptListQuerySchema,
  ScriptQuerySchema,
  ScriptStatusRequestSchema,
  type ApprovalList,
  type ScriptView,
} from '../contract/index.ts';
import type { RouteKit } from '../http/server.ts';
import type { ScriptService } from './service.ts';

function parse<T>(schema: ZodType<T>, value: unknown): T {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const fields = Object.fromEntries(result.error.issues.map((issue) => [issue.path.join('.') || '_body', issue.message]));
  throw new DeputyError('DEPUTY_E_BAD_REQUEST', { fields, detail: JSON.stringify(fields) });
}

export function scriptRoutes(scripts: ScriptService): (server: Server, kit: RouteKit) => void {
  return (server, { route }) => {
    server.get(
      '/v1/scripts',
      route((req, res) => {
        const query = parse(ScriptListQuerySchema, req.query ?? {});
        res.send(200, { scripts: scripts.list(query.principal, query.status) } satisfies { scripts: ScriptView[] });
      }),
    );

    server.get(
      '/v1/scripts/:id',
      route((req, res) => {
        const { principal } = parse(ScriptQuerySchema, req.query ?? {});
        res.send(200, scripts.get(principal, String(req.params.id)));
      }),
    );

    server.post(
      '/v1/scripts/:id/status',
      route(async (req, res, context) => {
        const request = parse(ScriptStatusRequestSchema, req.body);
        const script = await scripts.changeStatus(String(req.params.id), request, context);
        res.send(200, { script });
      }),
    );

    server.get(
      '/v1/approvals',
      route((req, res) => {
        const { principal } = parse(ScriptQuerySchema, req.query ?? {});
        res.send(200, scripts.approvals(principal) satisfies ApprovalList);
      }),
    );
  };
}
