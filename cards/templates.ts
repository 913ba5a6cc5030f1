/**
 * The card templates, one per screen, bound with adaptivecards-templating. The JSON files are
 * written with Action.Execute buttons (Teams Universal Actions); render.ts turns them into
 * Action.Submit for clients without Universal Actions.
 */
import * as ACData from 'adaptivecards-templating';
import actionForm from './templates/action-form.json' with { type: 'json' };
import actionList from './templates/action-list.json' with { type: 'json' };
import approvalRequest from './templates/approval-request.json' with { type: 'json' };
import error from './templates/error.json' with { type: 'json' };
import notice from './templates/notice.json' with { type: 'json' };
import runStatus from './templates/run-status.json' with { type: 'json' };
import runSummary from './templates/run-summary.json' with { type: 'json' };
import scriptReview from './templates/script-review.json' with { type: 'json' };
import type { JsonObject } from './json.ts';
import type { ScreenName } from './screens.ts';

export type TemplateName = ScreenName;

const TEMPLATES: Readonly<Record<TemplateName, object>> = {
  'action-list': actionList,
  'action-form': actionForm,
  'run-status': runStatus,
  'run-summary': runSummary,
  'approval-request': approvalRequest,
  'script-review': scriptReview,
  error,
  notice,
};

/**
 * Binds `data` into the named template. Data values are inserted as they are, never evaluated
 * as expressions, so text from users and scripts cannot inject template syntax.
 */
export function expandTemplate(name: TemplateName, data: JsonObject): JsonObject {
  return new ACData.Template(TEMPLATES[name]).expand({ $root: data }) as JsonObject;
}
