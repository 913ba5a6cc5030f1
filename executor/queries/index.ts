/**
 * Choices from queries (`queries:` in catalog.yaml, `actions[].choices`): the service, and its
 * route `GET /v1/actions/<id>/choices/<param>`, mounted through the API server's route kit (the
 * bearer token is checked by the server for every `/v1` route before it runs).
 */
import type { Server } from 'restify';
import { ChoiceQuerySchema, DeputyError, type ChoiceList } from '../contract/index.ts';
import type { RouteKit } from '../http/server.ts';
import { ChoiceService, type ChoiceServiceOptions } from './service.ts';

export { ChoiceService } from './service.ts';
export { choicesFromOutput, filterChoices } from './choices.ts';

export interface Queries {
  service: ChoiceService;
  routes: (server: Server, kit: RouteKit) => void;
}

export function startQueries(options: ChoiceServiceOptions): Queries {
  const service = new ChoiceService(options);
  return { service, routes: choiceRoutes(service, options) };
}

function choiceRoutes(service: ChoiceService, { store }: Pick<ChoiceServiceOptions, 'store'>): (server: Server, kit: RouteKit) => void {
  return (server, { route }) => {
    server.get(
      '/v1/actions/:id/choices/:param',
      route(async (req, res, context) => {
        const parsed = ChoiceQuerySchema.safeParse(req.query ?? {});
        if (!parsed.success) {
          const fields = Object.fromEntries(parsed.error.issues.map((issue) => [issue.path.join('.') || '_query', issue.message]));
          throw new DeputyError('DEPUTY_E_BAD_REQUEST', { fields, detail: JSON.stringify(fields) });
        }
        const { principal, search, ...form } = parsed.data;
        if (!store.catalog.getPrincipal(principal)) throw new DeputyError('DEPUTY_E_NOT_ENROLLED', { detail: `unknown principal ${principal}` });
        const list: ChoiceList = await service.list(String(req.params.id), String(req.params.param), { principalId: principal, ...(search !== undefined ? { search } : {}), form }, context);
        res.send(200, list);
      }),
    );
  };
}
