/**
 * Turns the action entries of catalog.yaml into Action records, checking every reference:
 * the script, its version, the tenant, principals, and each parameter the action names.
 */
import type { FieldValue, FormField, ParameterSet } from '../contract/index.ts';
import { ActionSchema, parseRunAs, type Action, type Query, type Script, type Target } from '../domain.ts';
import type { ActionEntry, Located } from './file.ts';
import { validateInputs } from './inputs.ts';
import { checkChoiceBindings } from './queries.ts';
import { isWithin } from './references.ts';
import { checkActionTargets } from './targets.ts';
import type { KeyPath, YamlSource } from './yaml-source.ts';

/**
 * Written in fixed values; the run service replaces it at run time with the folder where scripts
 * keep data between runs (never the executor's data folder, which no run may read).
 */
export const RUN_DATA_PLACEHOLDER = '{runDataDir}';

export interface ActionContext {
  /** Where problems are reported: catalog.yaml with its lines, or a REST request's fields. */
  source: Pick<YamlSource, 'problem'>;
  scripts: ReadonlyMap<string, Script>;
  /** Parameters of every known version, by hash; absent when the version has parse errors. */
  parameters: ReadonlyMap<string, FormField[]>;
  /** Parameter sets of the versions that declare several, by hash. */
  parameterSets?: ReadonlyMap<string, ParameterSet[]>;
  /** The queries `choices:` may name. */
  queries?: ReadonlyMap<string, Query>;
  tenantParents: ReadonlyMap<string, string | undefined>;
  principals: ReadonlySet<string>;
  /** Stored credentials the catalog declares, by id. */
  credentials?: ReadonlyMap<string, { tenant: string }>;
  /** Target systems the catalog declares. */
  targets?: readonly Target[];
  problems: string[];
}

export function buildAction({ index, entry }: Located<ActionEntry>, context: ActionContext): Action | undefined {
  const { source, problems } = context;
  const at = (...path: (string | number)[]): KeyPath => ['actions', index, ...path];
  const before = problems.length;
  const report = (path: KeyPath, message: string) => problems.push(source.problem(path, message));

  const script = context.scripts.get(entry.script);
  if (!script) report(at('script'), `unknown script "${entry.script}"`);
  const tenant = entry.tenant ?? script?.tenant;
  if (entry.tenant !== undefined && !context.tenantParents.has(entry.tenant)) report(at('tenant'), `unknown tenant "${entry.tenant}"`);
  else if (script && tenant && !isWithin(tenant, script.tenant, context.tenantParents)) {
    report(at('tenant'), `tenant "${tenant}" is not "${script.tenant}" (the script's tenant) or below it`);
  }
  const version = entry.version ?? 'latest-approved';
  if (script && version !== 'latest-approved' && !script.versions.includes(version)) report(at('version'), `script "${script.id}" has no version ${version}`);
  (entry.allow.principals ?? []).forEach((id, i) => {
    if (!context.principals.has(id)) report(at('allow', 'principals', i), `unknown principal "${id}"`);
  });
  (entry.notify ?? []).forEach((id, i) => {
    if (!context.principals.has(id)) report(at('notify', i), `unknown principal "${id}"`);
  });

  const hash = script ? (version === 'latest-approved' ? script.currentHash : version) : undefined;
  const fields = hash ? context.parameters.get(hash) : undefined;
  const named = fields && script ? checkParameters(entry, at, fields, script.id, report) : undefined;
  const credentials = fields && script && tenant ? checkCredentialBindings(entry, at, fields, script.id, tenant, context, report) : undefined;
  const sets = hash ? context.parameterSets?.get(hash) : undefined;
  if (named && sets) checkFixedFitOneSet(at, sets, [...Object.keys(named.fixed), ...Object.keys(credentials ?? {})], report);
  const asked = fields && named ? fields.filter((field) => (named.ask ? named.ask.includes(field.name) : !(field.name in named.fixed) && !(field.name in (credentials ?? {})))) : [];
  const choices = entry.choices && fields && named ? checkChoiceBindings(entry, at, asked, { ...context, queries: context.queries ?? new Map() }) : undefined;
  const runAs = parseRunAs(entry.runAs);
  const targets =
    entry.targets && tenant
      ? checkActionTargets(entry.targets, { at, tenant, runAs, targets: context.targets ?? [], tenantParents: context.tenantParents }, report)
      : undefined;
  if (problems.length > before || !script || !tenant || !named || !runAs) return undefined;

  return ActionSchema.parse({
    id: entry.id,
    title: entry.title,
    ...(entry.description ? { description: entry.description } : {}),
    scriptId: script.id,
    version,
    tenant,
    ...(entry.target ? { target: entry.target } : {}),
    runAs,
    fixed: named.fixed,
    presets: named.presets,
    ...(Object.keys(named.hints).length > 0 ? { hints: named.hints } : {}),
    ...(named.ask ? { ask: named.ask } : {}),
    allow: { roles: entry.allow.roles ?? [], principals: entry.allow.principals ?? [] },
    approval: entry.approval ?? 'none',
    ...(entry.timeoutSeconds !== undefined ? { timeoutSeconds: entry.timeoutSeconds } : {}),
    notify: entry.notify ?? [],
    ...(named.ownWorkloadParameter ? { ownWorkloadParameter: named.ownWorkloadParameter } : {}),
    ...(credentials && Object.keys(credentials).length > 0 ? { credentials } : {}),
    ...(choices && Object.keys(choices).length > 0 ? { choices } : {}),
    ...(targets ? { targets } : {}),
  });
}

/** Values the action fixes bind the script to the sets that have them all: there must be one. */
function checkFixedFitOneSet(at: (...path: (string | number)[]) => KeyPath, sets: readonly ParameterSet[], supplied: readonly string[], report: (path: KeyPath, message: string) => void): void {
  if (supplied.length === 0) return;
  const fitting = sets.filter((set) => supplied.every((name) => set.fields.some((field) => field.name === name)));
  if (fitting.length === 0) {
    report(at('fixed'), `${supplied.join(', ')} belong to different parameter sets of the script (${sets.map((set) => set.name).join(', ')}) and cannot be given together`);
  }
}

/**
 * A parameter bound to a stored credential is filled by the executor at run time: it must
 * exist, be neither fixed nor asked, and name a credential of the action's tenant or above.
 */
function checkCredentialBindings(
  entry: ActionEntry,
  at: (...path: (string | number)[]) => KeyPath,
  fields: FormField[],
  scriptId: string,
  tenant: string,
  context: ActionContext,
  report: (path: KeyPath, message: string) => void,
): Record<string, string> {
  const bound: Record<string, string> = {};
  for (const [name, credentialId] of Object.entries(entry.credentials ?? {})) {
    const field = fields.find((candidate) => candidate.name.toLowerCase() === name.toLowerCase());
    const credential = context.credentials?.get(credentialId);
    if (!field) report(at('credentials', name), `script "${scriptId}" has no parameter "${name}"`);
    else if (field.name in (entry.fixed ?? {}) || entry.ask?.some((asked) => asked.toLowerCase() === name.toLowerCase())) {
      report(at('credentials', name), `"${field.name}" is filled from a credential, so it cannot be fixed or asked too`);
    } else if (!credential) report(at('credentials', name), `unknown credential "${credentialId}" (declare it under credentials:)`);
    else if (!isWithin(tenant, credential.tenant, context.tenantParents)) {
      report(at('credentials', name), `credential "${credentialId}" belongs to tenant "${credential.tenant}", not "${tenant}" or above it`);
    } else bound[field.name] = credentialId;
  }
  return bound;
}

interface NamedParameters {
  fixed: Record<string, FieldValue>;
  presets: Record<string, FieldValue>;
  hints: Record<string, string>;
  ask?: string[];
  ownWorkloadParameter?: string;
}

/**
 * Every parameter an action names must exist (PowerShell matches names case-insensitively;
 * the record keeps the script's spelling), fixed and preset values must fit the field, secrets
 * are never written into the catalog, and a mandatory parameter must be fixed or asked.
 */
function checkParameters(
  entry: ActionEntry,
  at: (...path: (string | number)[]) => KeyPath,
  fields: FormField[],
  scriptId: string,
  report: (path: KeyPath, message: string) => void,
): NamedParameters {
  const find = (path: KeyPath, name: string): FormField | undefined => {
    const field = fields.find((candidate) => candidate.name.toLowerCase() === name.toLowerCase());
    if (!field) report(path, `script "${scriptId}" has no parameter "${name}"`);
    return field;
  };
  const values = (key: 'fixed' | 'presets'): Record<string, FieldValue> => {
    const result: Record<string, FieldValue> = {};
    for (const [name, value] of Object.entries(entry[key] ?? {})) {
      const field = find(at(key, name), name);
      if (!field) continue;
      if (field.kind === 'secret') {
        report(at(key, name), 'a secret parameter cannot have a value in catalog.yaml');
        continue;
      }
      const needsCheck = !(typeof value === 'string' && value.includes(RUN_DATA_PLACEHOLDER));
      const checked = needsCheck ? validateInputs([{ ...field, required: false }], { [field.name]: value }) : { ok: true as const };
      if (!checked.ok) report(at(key, name), Object.values(checked.fields)[0] ?? 'invalid value');
      result[field.name] = value;
    }
    return result;
  };
  const fixed = values('fixed');
  const presets = values('presets');
  const hints: Record<string, string> = {};
  for (const [name, hint] of Object.entries(entry.hints ?? {})) {
    const field = find(at('hints', name), name);
    if (field) hints[field.name] = hint;
  }
  const named: NamedParameters = { fixed, presets, hints };

  const fromCredentials = new Set(Object.keys(entry.credentials ?? {}).map((name) => name.toLowerCase()));
  if (!entry.ask && fromCredentials.size > 0) {
    // Without an explicit ask list every parameter not fixed is asked: leave the credential-filled ones out.
    named.ask = fields.filter((field) => !(field.name in fixed) && !fromCredentials.has(field.name.toLowerCase())).map((field) => field.name);
  }
  if (entry.ask) {
    named.ask = [];
    entry.ask.forEach((name, i) => {
      const field = find(at('ask', i), name);
      if (!field) return;
      if (field.name in fixed) report(at('ask', i), `"${field.name}" is fixed, so it cannot be asked too`);
      named.ask?.push(field.name);
    });
    const missing = fields.filter(
      (field) => field.required && !(field.name in fixed) && !named.ask?.includes(field.name) && !fromCredentials.has(field.name.toLowerCase()),
    );
    if (missing.length > 0) report(at('ask'), `mandatory parameter(s) neither asked nor fixed: ${missing.map((field) => field.name).join(', ')}`);
  }
  if (entry.ownWorkloadParameter) {
    const field = find(at('ownWorkloadParameter'), entry.ownWorkloadParameter);
    if (field && field.name in fixed) report(at('ownWorkloadParameter'), `"${field.name}" is fixed, so it cannot be the requester's own workload`);
    if (field) named.ownWorkloadParameter = field.name;
  }
  return named;
}
