/**
 * The card templates, one per screen, bound with adaptivecards-templating. The JSON files are
 * written with Action.Execute buttons (Teams Universal Actions); render.ts turns them into
 * Action.Submit for clients without Universal Actions.
 */
// The engine module itself: the package index also re-exports json-schema-card, whose types
// import adaptivecards' TypeScript sources and break `tsc` for the whole project.
import * as ACData from 'adaptivecards-templating/lib/template-engine.js';
import actionForm from './templates/action-form.json' with { type: 'json' };
import actionList from './templates/action-list.json' with { type: 'json' };
import approvalRequest from './templates/approval-request.json' with { type: 'json' };
import error from './templates/error.json' with { type: 'json' };
import itemList from './templates/item-list.json' with { type: 'json' };
import notice from './templates/notice.json' with { type: 'json' };
import runStatus from './templates/run-status.json' with { type: 'json' };
import runSummary from './templates/run-summary.json' with { type: 'json' };
import scriptReview from './templates/script-review.json' with { type: 'json' };
import suggestions from './templates/suggestions.json' with { type: 'json' };
import welcome from './templates/welcome.json' with { type: 'json' };
import type { JsonObject } from './json.ts';
import type { ScreenName } from './screens.ts';

export type TemplateName = ScreenName;

const TEMPLATE_JSON: Readonly<Record<TemplateName, object>> = {
  'action-list': actionList,
  'action-form': actionForm,
  'run-status': runStatus,
  'run-summary': runSummary,
  'approval-request': approvalRequest,
  'script-review': scriptReview,
  'item-list': itemList,
  welcome,
  suggestions,
  error,
  notice,
};

/**
 * Parsed once: constructing a Template parses every expression, which costs ~30 times more
 * than expanding it, and Teams' invoke answers are timed. Sharing is safe because `expand`
 * is synchronous and starts from a fresh evaluation context on every call.
 */
const TEMPLATES = Object.fromEntries(
  Object.entries(TEMPLATE_JSON).map(([name, json]) => [name, new ACData.Template(json)]),
) as Readonly<Record<TemplateName, ACData.Template>>;

/**
 * Binds `data` into the named template. Data values are inserted as they are, never evaluated
 * as expressions, so text from users and scripts cannot inject template syntax.
 */
export function expandTemplate(name: TemplateName, data: JsonObject): JsonObject {
  return TEMPLATES[name].expand({ $root: data }) as JsonObject;
}
