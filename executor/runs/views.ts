/** Internal records → the contract's REST shapes. */
import type { ActionView, FormField, RunView } from '../contract/index.ts';
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

export function toActionView(action: Action, script: Script, version: ScriptVersion): ActionView {
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
    form: { fields: askedFields(action, version) },
  };
}

export function toRunView(run: RunRecord, streams?: StoredRecord[]): RunView {
  const { tenant: _tenant, scriptId: _scriptId, runAs: _runAs, timeoutSeconds: _timeout, notify: _notify, approval, ...rest } = run;
  const view: RunView = { ...rest };
  if (approval) {
    const { bindingHash: _binding, ...visible } = approval;
    view.approval = visible;
  }
  if (streams) view.streams = streams.map(({ stream, text, data }) => (data === undefined ? { stream, text } : { stream, text, data }));
  return view;
}
