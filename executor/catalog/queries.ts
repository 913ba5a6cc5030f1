/**
 * `queries:` in catalog.yaml, and `actions[].choices`: which parameters get their choices from
 * which query. Every name is checked against the scripts' parameters (case-insensitively, like
 * PowerShell; stored in the script's spelling), every constant against its field, every
 * `$form.<field>` against the action's form, and cascades against cycles.
 */
import type { FieldValue, FormField } from '../contract/index.ts';
import { FORM_REFERENCE, QuerySchema, parseRunAs, type ChoiceBinding, type Query, type Script } from '../domain.ts';
import type { ActionEntry, Located, QueryEntry } from './file.ts';
import { validateInputs } from './inputs.ts';
import { checkUniqueIds } from './references.ts';
import type { KeyPath, YamlSource } from './yaml-source.ts';

export interface QueryContext {
  source: YamlSource;
  scripts: ReadonlyMap<string, Script>;
  /** Parameters of every known version, by hash. */
  parameters: ReadonlyMap<string, FormField[]>;
  problems: string[];
}

type Report = (path: KeyPath, message: string) => void;

function findField(fields: readonly FormField[], name: string): FormField | undefined {
  return fields.find((field) => field.name.toLowerCase() === name.toLowerCase());
}

/** The current version's parameters of a script: what a query runs once approved. */
function queryFields(query: Pick<Query, 'scriptId'>, context: Pick<QueryContext, 'scripts' | 'parameters'>): FormField[] | undefined {
  const script = context.scripts.get(query.scriptId);
  return script ? context.parameters.get(script.currentHash) : undefined;
}

/**
 * The queries of the file, then those an ActionPacks import made (`imported`) that the file
 * does not redefine: the file is the only source of its own queries, not of imported ones.
 */
export function buildQueries(entries: readonly Located<QueryEntry>[], previous: readonly Query[], context: QueryContext): Query[] {
  const { source, problems } = context;
  checkUniqueIds(source, 'queries', [...entries], problems);
  const queries: Query[] = [];
  for (const { index, entry } of entries) {
    const report: Report = (path, message) => problems.push(source.problem(['queries', index, ...path], message));
    const before = problems.length;
    const script = context.scripts.get(entry.script);
    if (!script) report(['script'], `unknown script "${entry.script}"`);
    const fields = script ? context.parameters.get(script.currentHash) : undefined;
    const inputs = fields ? checkConstants(entry.inputs ?? {}, fields, script?.id ?? entry.script, (name, message) => report(['inputs', name], message)) : {};
    const runAs = parseRunAs(entry.runAs);
    if (problems.length > before || !script || !runAs) continue;
    queries.push(
      QuerySchema.parse({
        id: entry.id,
        scriptId: script.id,
        runAs,
        inputs,
        ...(entry.cacheSeconds !== undefined ? { cacheSeconds: entry.cacheSeconds } : {}),
        ...(entry.timeoutSeconds !== undefined ? { timeoutSeconds: entry.timeoutSeconds } : {}),
        ...(entry.imported ? { imported: true } : {}),
      }),
    );
  }
  const defined = new Set(queries.map((query) => query.id));
  for (const query of previous) if (query.imported && !defined.has(query.id) && context.scripts.has(query.scriptId)) queries.push(query);
  return queries;
}

/** Constant values for a script's parameters: each must exist, not be a secret, and fit its field. */
function checkConstants(values: Record<string, FieldValue>, fields: readonly FormField[], scriptId: string, report: (name: string, message: string) => void): Record<string, FieldValue> {
  const checked: Record<string, FieldValue> = {};
  for (const [name, value] of Object.entries(values)) {
    const field = findField(fields, name);
    if (!field) {
      report(name, `script "${scriptId}" has no parameter "${name}"`);
      continue;
    }
    if (field.kind === 'secret' || field.masked) {
      report(name, 'a secret parameter cannot have a value in catalog.yaml');
      continue;
    }
    if (typeof value !== 'string' || !FORM_REFERENCE.test(value)) {
      const result = validateInputs([{ ...field, required: false }], { [field.name]: value });
      if (!result.ok) report(name, Object.values(result.fields)[0] ?? 'invalid value');
    }
    checked[field.name] = value;
  }
  return checked;
}

export interface ChoiceContext extends Omit<QueryContext, 'source'> {
  /** Where problems are reported: catalog.yaml with its lines, or a REST request's fields. */
  source: Pick<YamlSource, 'problem'>;
  queries: ReadonlyMap<string, Query>;
}

/**
 * An action's `choices:`: each parameter must be one the user fills in (not fixed, not from a
 * credential, not a secret or a toggle), name a known query, give it every mandatory input, and
 * refer with `$form.<field>` only to other fields of the same form, without a cycle.
 */
export function checkChoiceBindings(
  entry: ActionEntry,
  at: (...path: (string | number)[]) => KeyPath,
  askedFields: readonly FormField[],
  context: ChoiceContext,
): Record<string, ChoiceBinding> {
  const bindings: Record<string, ChoiceBinding> = {};
  const report: Report = (path, message) => context.problems.push(context.source.problem(path, message));
  for (const [name, binding] of Object.entries(entry.choices ?? {})) {
    const field = findField(askedFields, name);
    if (!field) {
      report(at('choices', name), `"${name}" is not a field of this action's form (fixed, filled from a credential, or not a parameter of the script)`);
      continue;
    }
    if (field.kind === 'secret' || field.kind === 'toggle' || field.masked) {
      report(at('choices', name), `"${field.name}" is a ${field.masked ? 'masked text' : field.kind}; its value cannot be chosen from a list`);
      continue;
    }
    const query = context.queries.get(binding.query);
    if (!query) {
      report(at('choices', name, 'query'), `unknown query "${binding.query}"`);
      continue;
    }
    const fields = queryFields(query, context);
    if (!fields) continue;
    const before = context.problems.length;
    const inputs: Record<string, FieldValue> = {};
    for (const [inputName, value] of Object.entries(binding.inputs ?? {})) {
      const path = at('choices', name, 'inputs', inputName);
      const reference = typeof value === 'string' ? FORM_REFERENCE.exec(value) : null;
      if (!reference) {
        Object.assign(inputs, checkConstants({ [inputName]: value }, fields, query.scriptId, (_input, message) => report(path, message)));
        continue;
      }
      const target = findField(fields, inputName);
      const source = findField(askedFields, reference[1] as string);
      if (!target) report(path, `script "${query.scriptId}" has no parameter "${inputName}"`);
      else if (!source) report(path, `"${value}" names no field of this action's form`);
      else if (source.name === field.name) report(path, `"${value}" is the field itself`);
      else inputs[target.name] = `$form.${source.name}`;
    }
    if (context.problems.length > before) continue;
    const given = new Set([...Object.keys(query.inputs), ...Object.keys(inputs)].map((input) => input.toLowerCase()));
    const missing = fields.filter((candidate) => candidate.required && !given.has(candidate.name.toLowerCase()));
    if (missing.length > 0) report(at('choices', name), `query "${query.id}" needs a value for ${missing.map((candidate) => candidate.name).join(', ')}`);
    if (context.problems.length === before) bindings[field.name] = { query: query.id, inputs };
  }
  const cycle = findCycle(bindings);
  if (cycle) report(at('choices'), `the choices depend on each other in a circle: ${cycle.join(' → ')}`);
  return bindings;
}

/** The form fields a bound parameter's choices depend on (its `$form.<field>` inputs). */
export function dependenciesOf(binding: ChoiceBinding): string[] {
  return Object.values(binding.inputs).flatMap((value) => {
    const reference = typeof value === 'string' ? FORM_REFERENCE.exec(value) : null;
    return reference ? [reference[1] as string] : [];
  });
}

function findCycle(bindings: Record<string, ChoiceBinding>): string[] | undefined {
  const visit = (name: string, path: string[]): string[] | undefined => {
    if (path.includes(name)) return [...path.slice(path.indexOf(name)), name];
    const binding = bindings[name];
    if (!binding) return undefined;
    for (const next of dependenciesOf(binding)) {
      const found = visit(next, [...path, name]);
      if (found) return found;
    }
    return undefined;
  };
  for (const name of Object.keys(bindings)) {
    const found = visit(name, []);
    if (found) return found;
  }
  return undefined;
}
