/**
 * Authoring through the API: scripts (create, new version, clone, delete, preview of an upload)
 * and actions (create, change, delete). Plans are authored in executor/plans. See docs/authoring.md.
 */
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
import type { RouteKit } from '../http/routes.ts';
import type { Policy } from '../policy/index.ts';
import type { ScriptView } from '../contract/index.ts';
import type { ExecutorStore } from '../store/state-port.ts';
import { ActionAuthoring, CreateActionRequestSchema, UpdateActionRequestSchema } from './actions.ts';
import { ScriptAuthoring, type ScriptParser, type ScriptTextLimits } from './scripts.ts';
import { UploadStore } from './uploads.ts';

export { scriptFileFor } from './scripts.ts';

export interface Authoring {
  scripts: ScriptAuthoring;
  actions: ActionAuthoring;
  routes: (kit: RouteKit) => void;
}

export function startAuthoring(options: {
  store: ExecutorStore;
  policy: Pick<Policy, 'mayCreateScript' | 'mayCloneScript' | 'mayOnScript' | 'mayManageActions'>;
  editor: CatalogEditor;
  parse: ScriptParser;
  clock: Clock;
  limits: ScriptTextLimits;
  viewOf: (viewer: string, script: Script) => Promise<ScriptView>;
  assertModeAvailable: (runAs: RunAs) => void;
}): Authoring {
  const uploads = new UploadStore(options.clock);
  const scripts = new ScriptAuthoring({ ...options, uploads });
  const actions = new ActionAuthoring(options);
  return {
    scripts,
    actions,
    routes(kit) {
      kit.post('/v1/scripts', { auth: 'bearer', body: CreateScriptRequestSchema }, async (_req, res, context, { body }) => {
        res.send(201, { script: await scripts.create(body, context) });
      });
      kit.post('/v1/scripts/preview', { auth: 'bearer', body: ScriptPreviewRequestSchema }, async (_req, res, context, { body }) => {
        res.send(200, await scripts.preview(body, context));
      });
      kit.post('/v1/scripts/:id/versions', { auth: 'bearer', body: NewScriptVersionRequestSchema }, async (req, res, context, { body }) => {
        res.send(201, { script: await scripts.newVersion(String(req.params.id), body, context) });
      });
      kit.post('/v1/scripts/:id/clone', { auth: 'bearer', body: CloneScriptRequestSchema }, async (req, res, context, { body }) => {
        res.send(201, { script: await scripts.clone(String(req.params.id), body, context) });
      });
      kit.del('/v1/scripts/:id', { auth: 'bearer', query: DeleteQuerySchema }, async (req, res, context, { query }) => {
        res.send(200, { deleted: await scripts.delete(String(req.params.id), query.principal, context) });
      });
      kit.post('/v1/actions', { auth: 'bearer', body: CreateActionRequestSchema }, async (_req, res, context, { body }) => {
        res.send(201, { action: await actions.create(body, context) });
      });
      kit.put('/v1/actions/:id', { auth: 'bearer', body: UpdateActionRequestSchema }, async (req, res, context, { body }) => {
        res.send(200, { action: await actions.update(String(req.params.id), body, context) });
      });
      kit.del('/v1/actions/:id', { auth: 'bearer', query: DeleteQuerySchema }, async (req, res, context, { query }) => {
        res.send(200, { deleted: await actions.delete(String(req.params.id), query.principal, context) });
      });
    },
  };
}
