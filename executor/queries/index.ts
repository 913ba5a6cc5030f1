/**
 * Choices from queries (`queries:` in catalog.yaml, `actions[].choices`): the service, and its
 * route `GET /v1/actions/<id>/choices/<param>`, mounted through the API server's route kit (the
 * bearer token is checked by the server for every `/v1` route before it runs).
 */
import { ChoiceQuerySchema, DeputyError, type ChoiceList } from '../contract/index.ts';
import type { RouteKit } from '../http/routes.ts';
import { ChoiceService, type ChoiceServiceOptions } from './service.ts';

export { ChoiceService } from './service.ts';
export { choicesFromOutput, filterChoices } from './choices.ts';

export interface Queries {
  service: ChoiceService;
  routes: (kit: RouteKit) => void;
}

export function startQueries(options: ChoiceServiceOptions): Queries {
  const service = new ChoiceService(options);
  return { service, routes: choiceRoutes(service, options) };
}

function choiceRoutes(service: ChoiceService, { store }: Pick<ChoiceServiceOptions, 'store'>): (kit: RouteKit) => void {
  return (kit) => {
    kit.get('/v1/actions/:id/choices/:param', { auth: 'bearer', query: ChoiceQuerySchema }, async (req, res, context, { query }) => {
      const { principal, search, ...form } = query;
      if (!store.catalog.getPrincipal(principal)) throw new DeputyError('DEPUTY_E_NOT_ENROLLED', { detail: `unknown principal ${principal}` });
      const list: ChoiceList = await service.list(String(req.params.id), String(req.params.param), { principalId: principal, ...(search !== undefined ? { search } : {}), form }, context);
      res.send(200, list);
    });
  };
}
