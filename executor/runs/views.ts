/** Internal records → the contract's REST shapes. */
import { TARGET_FIELD, type ActionView, type FormField, type RunView, type TargetRef } from '../contract/index.ts';
import type { Action, RunRecord, Script, ScriptVersion } from '../domain.ts';
import { versionStatus } from '../policy/versions.ts';
import type { StoredRecord } from '../store/port.ts';

/** The fields a user fills in: the action's `ask` list, else every parameter that is not fixed; presets prefill. */
export function askedFields(action: Action, version: ScriptVersion): FormField[] {
  const asked = (field: FormField) => (action.ask ? action.ask.includes(field.name) : !(field.name in action.fixed));
  return version.parameters.filter(asked).map((field) => {
    const preset = action.presets[field.name];
    return preset === undefined || field.kind === 'secret' ? field : { ...field, default: preset };
  });
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
  const fields = askedFields(action, version);
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
    form: { fields: targets ? [targetField(targets), ...fields] : fields },
    ...(targets ? { targets: targets.map(({ id, name }) => ({ id, name })) } : {}),
  };
}

export function toRunView(run: RunRecord, streams?: StoredRecord[]): RunView {
  const { tenant: _tenant, scriptId: _scriptId, runAs: _runAs, timeoutSeconds: _timeout, notify: _notify, approval, ...rest } = run;
  const view: RunView = { ...rest };
  if (run.targets?.length === 1) view.target = run.targets[0]?.id;
  if (approval) {
    const { bindingHash: _binding, ...visible } = approval;
    view.approval = visible;
  }
  if (streams) view.streams = streams.map(({ stream, text, data }) => (data === undefined ? { stream, text } : { stream, text, data }));
  return view;
}
