/**
 * The authoring screens' data (an uploaded script, a plan's form, the plan list), computed as
 * plain strings and flags for their templates, like cards/views.ts does for the others.
 */
import type { ScriptPreview } from '../executor/contract/index.ts';
import { buildFormFields } from './form.ts';
import type { JsonObject } from './json.ts';
import { type CardLimits, takeFirst, truncate } from './limits.ts';
import { diffColor, errorsOutsideFields, monospaceLine, parameterTable, type Line } from './parts.ts';
import { shortHash } from './present.ts';
import type { AuthoringForm, RowButton, Screen } from './screens.ts';

const STATUS_WORDS = { draft: 'Draft', testing: 'Testing', approved: 'Approved' } as const;
/** More buttons than this would not fit a chat client's action bar; the rest can clone or move it later. */
const MAX_TENANT_BUTTONS = 5;

export function scriptUploadData(preview: ScriptPreview, limits: CardLimits): JsonObject {
  const parseError = preview.parseError;
  const usable = parseError === undefined;
  const parameters = parameterTable(preview.parameters, limits);
  const parameterCount = `${preview.parameters.length} parameter${preview.parameters.length === 1 ? '' : 's'}`;
  const summary = [`${preview.lineCount} line${preview.lineCount === 1 ? '' : 's'}`, ...(usable ? [parameterCount] : []), ...(preview.synopsis ? [truncate(preview.synopsis, limits.descriptionChars)] : [])].join(' · ');
  const { newScript, newVersionOf } = preview;
  const createButtons = usable
    ? newScript.tenants.slice(0, MAX_TENANT_BUTTONS).map((tenant) => ({
        title: truncate(`Create in ${tenant}`, 60),
        upload: preview.upload,
        id: newScript.id,
        name: newScript.name,
        tenant,
      }))
    : [];
  const version = usable ? newVersionOf : undefined;
  const mayVersion = version !== undefined && version.refusal === undefined;
  const diff = takeFirst(version?.diff.lines ?? [], limits.excerptLines * 2);
  const name = truncate(version?.name ?? '', 100);
  const keepsRunning = version?.status === 'approved' ? ' The approved version keeps running until the new one is approved.' : '';
  return {
    heading: truncate(`Script file: ${preview.fileName}`, 200),
    summary,
    hasParseError: !usable,
    parseErrorText: parseError ? truncate(`PowerShell cannot parse this script: line ${parseError.line}: ${parseError.message}`, limits.messageChars) : '',
    parameterRows: parameters.rows,
    hasParameters: usable && parameters.shown > 0,
    offersNewScript: usable,
    newScriptText: truncate(`Id ${newScript.id}, name ${newScript.name}, in Draft.${newScript.tenants.length > MAX_TENANT_BUTTONS ? ` The buttons offer your first ${MAX_TENANT_BUTTONS} tenants.` : ''}`, 500),
    newScriptRefusal: truncate(newScript.refusal ?? '', limits.messageChars),
    hasNewScriptRefusal: usable && newScript.refusal !== undefined,
    createButtons,
    hasNewVersion: version !== undefined,
    newVersionHeading: `As a new version of ${name}`,
    newVersionText: version ? truncate(`${name} (${version.scriptId}, tenant ${version.tenant}) is ${STATUS_WORDS[version.status]} at version ${shortHash(version.currentHash)}. Saving makes this text its new Draft version.${keepsRunning}`, 500) : '',
    newVersionRefusal: truncate(version?.refusal ?? '', limits.messageChars),
    hasNewVersionRefusal: version?.refusal !== undefined,
    diffLines: diff.shown.map((line) => ({ text: monospaceLine(line, limits.lineChars), color: diffColor(line) })),
    hasDiff: diff.shown.length > 0,
    diffNote: 'The change is longer than the card shows.',
    hasDiffNote: diff.hidden > 0 || (version?.diff.truncated ?? false),
    mayVersion,
    versionButtonTitle: truncate(`Save as new version of ${name}`, 60),
    versionScriptId: version?.scriptId ?? '',
    versionBasedOn: version?.currentHash ?? '',
    upload: preview.upload,
    offersSomething: createButtons.length > 0 || mayVersion,
  };
}

export function authoringFormData(form: AuthoringForm, values: Record<string, unknown> = {}, errors: Record<string, string> = {}): JsonObject {
  const formErrors = errorsOutsideFields(form.fields, errors);
  const intro = truncate(form.intro ?? '', 1000);
  return {
    title: truncate(form.title, 200),
    intro,
    hasIntro: intro !== '',
    notes: (form.notes ?? []).map((text): Line => ({ text: truncate(text, 500) })),
    formError: truncate(formErrors.join(' '), 1000),
    hasFormError: formErrors.length > 0,
    fields: buildFormFields(form.fields, values, errors),
    submitTitle: truncate(form.submit.title, 60),
    submitVerb: form.submit.verb,
    submitData: form.submit.data,
  };
}

export function planListData(screen: Extract<Screen, { screen: 'plan-list' }>, limits: CardLimits): JsonObject {
  const plans = takeFirst(screen.plans, limits.actions);
  const notice = truncate(screen.notice ?? '', 1000);
  return {
    heading: truncate(screen.heading, 200),
    notice,
    hasNotice: notice !== '',
    isEmpty: screen.plans.length === 0,
    emptyText: truncate(screen.emptyText, 500),
    plans: plans.shown.map((plan) => {
      // Grouped by style (a style cannot be bound: an absent one would stay an unbound expression).
      const buttons = (style: RowButton['style']) =>
        plan.buttons.filter((button) => button.style === style).map((button) => ({ title: truncate(button.title, 40), verb: button.verb, data: button.data }));
      return {
        title: truncate(plan.title, 200),
        lines: plan.lines.map((text): Line => ({ text: truncate(text, limits.descriptionChars) })),
        positiveButtons: buttons('positive'),
        plainButtons: buttons(undefined),
        destructiveButtons: buttons('destructive'),
        hasButtons: plan.buttons.length > 0,
      };
    }),
    hasHidden: plans.hidden > 0,
    hiddenText: `${plans.hidden} more ${plans.hidden === 1 ? 'plan is' : 'plans are'} not listed here.`,
    mayCreate: screen.mayCreate,
  };
}
