/**
 * Authoring through the API: scripts (create, new version, clone, delete, preview of an upload)
 * and actions (create, change, delete). Plans are authored in executor/plans. See docs/authoring.md.
 */
import type { Server } from 'restify';
import type { Clock } from '../../lib/clock.ts';
import type { CatalogEditor } from '../catalog/editor.ts';
import {
  CloneScriptRequestSchema,
  CreateScriptRequestSchema,
  DeleteQuerySchema,
  NewScriptVersionRequestSchema,
  ScriptPreviewRequestSchema,
} from '../contract/index.ts';
import type { RunAs, Script } from '../domain.ts';
import { parseRequest } from '../http/parse.ts';
import type { RouteKit } from '../http/server.ts';
import type { Policy } from '../policy/index.ts';
import type { ScriptView } from '../contract/index.ts';
import type { Store } from '../store/port.ts';
import { ActionAuthoring, CreateActionRequestSchema, UpdateActionRequestSchema } from './actions.ts';
import { ScriptAuthoring, type ScriptParser, type ScriptTextLimits } from './scripts.ts';
import { UploadStore } from './uploads.ts';

export { scriptFileFor } from './scripts.ts';

export interface Authoring {
  scripts: ScriptAuthoring;
  actions: ActionAuthoring;
  routes: (server: Server, kit: RouteKit) => void;
}

export function startAuthoring(options: {
  store: Store;
  policy: Pick<Policy, 'mayCreateScript' | 'mayCloneScript' | 'mayOnScript' | 'mayManageActions'>;
  editor: CatalogEditor;
  parse: ScriptParser;
  clock: Clock;
  limits: ScriptTextLimits;
  viewOf: (viewer: string, script: Script) => ScriptView;
  assertModeAvailable: (runAs: RunAs) => void;
}): Authoring {
  const uploads = new UploadStore(options.clock);
  const scripts = new ScriptAuthoring({ ...options, uploads });
  const actions = new ActionAuthoring(options);
  return {
    scripts,
    actions,
    routes(server, { route }) {
      server.post(
        '/v1/scripts',
        route(async (req, res, context) => void res.send(201, { script: await scripts.create(parseRequest(CreateScriptRequestSchema, req.body), context) })),
      );
      server.post(
        '/v1/scripts/preview',
        route(async (req, res, context) => void res.send(200, await scripts.preview(parseRequest(ScriptPreviewRequestSchema, req.body), context))),
      );
      server.post(
        '/v1/scripts/:id/versions',
        route(async (req, res, context) => {
          const script = await scripts.newVersion(String(req.params.id), parseRequest(NewScriptVersionRequestSchema, req.body), context);
          res.send(201, { script });
        }),
      );
      server.post(
        '/v1/scripts/:id/clone',
        route(async (req, res, context) => void res.send(201, { script: await scripts.clone(String(req.params.id), parseRequest(CloneScriptRequestSchema, req.body), context) })),
      );
      server.del(
        '/v1/scripts/:id',
        route(async (req, res, context) => {
          const { principal } = parseRequest(DeleteQuerySchema, req.query);
          res.send(200, { deleted: await scripts.delete(String(req.params.id), principal, context) });
        }),
      );
      server.post(
        '/v1/actions',
        route(async (req, res, context) => void res.send(201, { action: await actions.create(parseRequest(CreateActionRequestSchema, req.body), context) })),
      );
      server.put(
        '/v1/actions/:id',
        route(async (req, res, context) => {
          const action = await actions.update(String(req.params.id), parseRequest(UpdateActionRequestSchema, req.body), context);
          res.send(200, { action });
        }),
      );
      server.del(
        '/v1/actions/:id',
        route(async (req, res, context) => {
          const { principal } = parseRequest(DeleteQuerySchema, req.query);
          res.send(200, { deleted: await actions.delete(String(req.params.id), principal, context) });
        }),
      );
    },
  };
}
