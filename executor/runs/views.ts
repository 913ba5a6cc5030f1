/** Internal records → the contract's REST shapes. */
import { TARGET_FIELD, type ActionView, type FormField, type FormSchema, type ParameterSet, type RunView, type TargetRef } from '../contract/index.ts';
import { dependenciesOf } from '../catalog/queries.ts';
import type { Action, RunRecord, Script, ScriptVersion } from '../domain.ts';
import { versionStatus } from '../policy/versions.ts';
import type { StoredRecord } from '../store/port.ts';

/** The fields a user fills in: the action's `ask` list, else every parameter that is not fixed; presets prefill. */
export function askedFields(action: Action, version: ScriptVersion): FormField[] {
  return formOf(action, version).fields;
}

/**
 * The form of an action: its asked fields (presets as prefills, query-bound ones with
 * `choicesFrom`) and, when the script has several parameter sets, those the action's fixed and
 * credential-bound values leave open, each with the asked fields it binds. `required` is then
 * relative to those sets: with one left, the form is that set's.
 */
export function formOf(action: Action, version: ScriptVersion): FormSchema {
  const supplied = [...Object.keys(action.fixed), ...Object.keys(action.credentials ?? {})];
  const open = version.parameterSets?.filter((set) => supplied.every((name) => set.fields.some((field) => field.name === name)));
  const inSomeSet = (name: string) => !open || open.some((set) => set.fields.some((field) => field.name === name));
  const isAsked = (field: FormField) => (action.ask ? action.ask.includes(field.name) : !(field.name in action.fixed)) && inSomeSet(field.name);
  const fields = version.parameters.filter(isAsked).map((field): FormField => {
    const preset = action.presets[field.name];
    const binding = action.choices?.[field.name];
    const required = open ? open.every((set) => set.fields.some((entry) => entry.name === field.name && entry.required)) : field.required;
    return {
      ...withActionHint(field, action.hints?.[field.name]),
      required,
      ...(preset !== undefined && field.kind !== 'secret' ? { default: preset } : {}),
      ...(binding ? { choicesFrom: { query: binding.query, dependsOn: dependenciesOf(binding) } } : {}),
    };
  });
  const names = new Set(fields.map((field) => field.name));
  const parameterSets: ParameterSet[] | undefined =
    open && open.length > 1 ? open.map((set) => ({ ...set, fields: set.fields.filter((field) => names.has(field.name)) })) : undefined;
  return parameterSets ? { fields, parameterSets } : { fields };
}

/**
 * The action's own hint replaces the script's in every language: a translated hint of the
 * script would give the other office's example again. The labels stay the script's.
 */
function withActionHint(field: FormField, hint: string | undefined): FormField {
  if (hint === undefined) return field;
  const localized = field.localized && Object.fromEntries(Object.entries(field.localized).map(([language, text]) => [language, { label: text.label }]));
  return { ...field, hint, ...(localized ? { localized } : {}) };
}

/**
 * The form field for choosing where an action runs: one choice when the principal has a single
 * usable target (chosen for them), several otherwise (one run on each target picked).
 */
export function targetField(targets: readonly TargetRef[]): FormField {
  const only = targets.length === 1 ? targets[0] : undefined;
  return {
    name: TARGET_FIELD,
    label: targets.length > 1 ? 'Targets' : 'Target',
    hint: targets.map((target) => `${target.id}: ${target.name}`).join(' · '),
    kind: only ? 'choice' : 'multi',
    psType: 'target',
    required: true,
    choices: targets.map((target) => target.id),
    ...(only ? { default: only.id } : {}),
  };
}

/** `targets`: for an action with targets, the ones this principal may use (the target field's choices). */
export function toActionView(action: Action, script: Script, version: ScriptVersion, targets?: readonly TargetRef[]): ActionView {
  const form = formOf(action, version);
  return {
    id: action.id,
    title: action.title,
    ...(action.description ? { description: action.description } : {}),
    scriptId: script.id,
    scriptStatus: versionStatus(script, version.hash) ?? 'draft',
    versionHash: version.hash,
    tenant: action.tenant,
    approval: action.approval,
    timeoutSeconds: action.timeoutSeconds,
    form: { ...form, fields: targets ? [targetField(targets), ...form.fields] : form.fields },
    ...(targets ? { targets: targets.map(({ id, name }) => ({ id, name })) } : {}),
  };
}

export function toRunView(run: RunRecord, streams?: StoredRecord[]): RunView {
  const { tenant: _tenant, scriptId: _scriptId, runAs: _runAs, timeoutSeconds: _timeout, notify: _notify, executor: _executor, approval, ...rest } = run;
  const view: RunView = { ...rest };
  if (run.targets?.length === 1) view.target = run.targets[0]?.id;
  if (approval) {
    const { bindingHash: _binding, ...visible } = approval;
    view.approval = visible;
  }
  if (streams) {
    view.streams = streams.filter((record) => record.attachment === undefined).map(({ stream, text, data }) => (data === undefined ? { stream, text } : { stream, text, data }));
  }
  return view;
}
