/**
 * Validates the values a user typed into a form against the fields parsed from the script's
 * param() block, before anything runs. Chat forms deliver strings; this turns them into the
 * JSON types PowerShell's parameter binding expects, and explains every refusal with the
 * field's label so the form can show it next to the input.
 */
import { z } from 'zod';
import type { FormField, ParameterSet } from '../contract/index.ts';
import { describeUnresolved, resolveParameterSet } from './parameter-sets.ts';

export type InputValidation =
  | { ok: true; values: Record<string, unknown>; /** The set PowerShell will bind, when the script has several. */ parameterSet?: string }
  | { ok: false; fields: Record<string, string> };

/** The key of a problem that concerns the whole form rather than one field. */
export const FORM_PROBLEM = '_form';

export interface InputSchemaOptions {
  /**
   * Names whose values are supplied elsewhere (the action's fixed values, checked on their
   * own): they may be absent here even when the script marks them mandatory.
   */
  suppliedElsewhere?: readonly string[];
  /**
   * The script's parameter sets, when it has several: the inputs (with `suppliedElsewhere`) must
   * bind to exactly one, by PowerShell's rules, and that set's mandatory fields must be given.
   */
  parameterSets?: readonly ParameterSet[];
  /** The set the user chose on the form; refused when PowerShell would bind another. */
  chosenSet?: string;
}

/** Same bounds as the .NET types PowerShell binds to, so "3000000000" fails here, not in pwsh. */
const INTEGER_BOUNDS: Record<string, [number, number]> = {
  byte: [0, 255],
  sbyte: [-128, 127],
  short: [-32_768, 32_767],
  int16: [-32_768, 32_767],
  uint16: [0, 65_535],
  int: [-2_147_483_648, 2_147_483_647],
  int32: [-2_147_483_648, 2_147_483_647],
  uint32: [0, 4_294_967_295],
};

/** `[int[]]`, `[double[]]` …: lists whose entries PowerShell binds as numbers. */
const NUMERIC_LIST = /^(byte|sbyte|short|int16|uint16|int|int32|uint32|long|int64|uint64|double|single|float|decimal)\[\]$/;

const ISO_DATE = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,7})?)?(Z|[+-]\d{2}:\d{2})?)?$/;

type Coerced = { value: unknown } | { problem: string };

/**
 * A zod object schema over the fields: unknown keys refused, each value coerced or refused with a
 * message. `requiredNames` (default: the fields marked required) must have a value.
 */
export function buildInputSchema(fields: readonly FormField[], opts: InputSchemaOptions & { requiredNames?: ReadonlySet<string> } = {}) {
  const optional = new Set(opts.suppliedElsewhere ?? []);
  const shape: Record<string, z.ZodType> = {};
  for (const field of fields) {
    const required = (opts.requiredNames ? opts.requiredNames.has(field.name) : field.required) && !optional.has(field.name);
    shape[field.name] = z.unknown().transform((raw, ctx) => {
      const result = coerceField(field, raw, required);
      if ('problem' in result) {
        ctx.addIssue({ code: 'custom', message: result.problem });
        return z.NEVER;
      }
      return result.value;
    });
  }
  // Every field is present for its transform to run (a missing mandatory value is an error, a
  // missing optional one comes out as undefined and is dropped by validateInputs).
  const withEveryField = (input: unknown) =>
    typeof input === 'object' && input !== null && !Array.isArray(input)
      ? { ...Object.fromEntries(fields.map((field) => [field.name, null])), ...input }
      : input;
  return z.preprocess(withEveryField, z.strictObject(shape));
}

export function validateInputs(fields: readonly FormField[], inputs: unknown, opts: InputSchemaOptions = {}): InputValidation {
  if (typeof inputs !== 'object' || inputs === null || Array.isArray(inputs)) {
    return { ok: false, fields: { '': 'The form values must be an object of field names and values.' } };
  }
  const given = inputs as Record<string, unknown>;
  const sets = opts.parameterSets && opts.parameterSets.length > 1 ? opts.parameterSets : undefined;
  const binding = sets ? bindSet(fields, given, sets, opts) : undefined;
  const result = buildInputSchema(fields, { ...opts, ...(binding?.set ? { requiredNames: binding.required } : {}) }).safeParse(given);
  const problems: Record<string, string> = { ...binding?.problems };
  if (result.success && Object.keys(problems).length === 0) {
    const values = Object.fromEntries(Object.entries(result.data).filter(([, value]) => value !== undefined));
    return binding?.set ? { ok: true, values, parameterSet: binding.set } : { ok: true, values };
  }
  for (const issue of result.success ? [] : result.error.issues) {
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) problems[key] = `"${key}" is not a field of this form.`;
    } else {
      const key = String(issue.path[0] ?? '');
      problems[key] ??= issue.message;
    }
  }
  return { ok: false, fields: problems };
}

/**
 * The parameter set these inputs bind to: resolved by PowerShell's rules from what is given
 * (the user's values and those supplied elsewhere), checked against the set the user chose.
 */
function bindSet(
  fields: readonly FormField[],
  given: Record<string, unknown>,
  sets: readonly ParameterSet[],
  opts: InputSchemaOptions,
): { set?: string; required?: ReadonlySet<string>; problems: Record<string, string> } {
  const byName = new Map(fields.map((field) => [field.name, field]));
  const supplied = [
    ...Object.entries(given).filter(([name, value]) => !isBlank(value) || (byName.get(name)?.allowEmpty === true && value === '')).map(([name]) => name),
    ...(opts.suppliedElsewhere ?? []),
  ];
  const labelOf = (name: string) => byName.get(name)?.label ?? name;
  const required = (set: ParameterSet) => new Set(set.fields.filter((field) => field.required).map((field) => field.name));
  const chosen = opts.chosenSet === undefined ? undefined : sets.find((set) => set.name === opts.chosenSet);
  if (opts.chosenSet !== undefined && !chosen) return { problems: { [FORM_PROBLEM]: `This script has no parameter set "${opts.chosenSet}".` } };
  if (chosen) {
    // Values of fields the chosen set does not have cannot be sent with it.
    const foreign = supplied.filter((name) => byName.has(name) && !chosen.fields.some((field) => field.name === name));
    if (foreign.length > 0) return { problems: Object.fromEntries(foreign.map((name) => [name, `${labelOf(name)} is not used when running "${chosen.name}".`])) };
    const missing = [...required(chosen)].filter((name) => !supplied.includes(name));
    // Missing values are reported by the field checks (the chosen set's required names).
    if (missing.length > 0) return { set: chosen.name, required: required(chosen), problems: {} };
  }
  const resolution = resolveParameterSet(sets, supplied);
  if (!resolution.ok) {
    if (resolution.reason === 'missing') {
      return { problems: Object.fromEntries(resolution.missing.map((name) => [byName.has(name) ? name : FORM_PROBLEM, `${labelOf(name)} is required.`])) };
    }
    return { problems: { [FORM_PROBLEM]: describeUnresolved(resolution) } };
  }
  if (chosen && resolution.set.name !== chosen.name) {
    return { problems: { [FORM_PROBLEM]: `With these values PowerShell runs the script as "${resolution.set.name}", not "${chosen.name}". Fill in what sets "${chosen.name}" apart.` } };
  }
  return { set: resolution.set.name, required: required(resolution.set), problems: {} };
}

function isBlank(raw: unknown): boolean {
  return raw === undefined || raw === null || raw === '' || (Array.isArray(raw) && raw.length === 0);
}

/** Absent and empty values mean "not given": PowerShell then uses the script's own default. */
function coerceField(field: FormField, raw: unknown, required: boolean): Coerced {
  // [AllowEmptyString()] on a mandatory text: an empty text is a value PowerShell accepts.
  if (raw === '' && required && field.allowEmpty) return { value: '' };
  if (isBlank(raw)) return required ? { problem: `${field.label} is required.` } : { value: undefined };
  switch (field.kind) {
    case 'toggle':
      return coerceToggle(field, raw);
    case 'number':
      return coerceNumber(field, raw);
    case 'date':
      return coerceDate(field, raw);
    case 'multi':
      return coerceMulti(field, raw, required);
    case 'choice':
      return coerceChoice(field, raw);
    case 'secret':
      return typeof raw === 'string' ? { value: raw } : { problem: `${field.label} must be text.` };
    case 'text':
      return coerceText(field, raw);
  }
}

function coerceToggle(field: FormField, raw: unknown): Coerced {
  if (typeof raw === 'boolean') return { value: raw };
  const text = typeof raw === 'string' ? raw.trim().toLowerCase() : '';
  if (text === 'true') return { value: true };
  if (text === 'false') return { value: false };
  return { problem: `${field.label} must be true or false.` };
}

function coerceNumber(field: FormField, raw: unknown): Coerced {
  const text = typeof raw === 'string' ? raw.trim() : '';
  const value = typeof raw === 'number' ? raw : text !== '' && /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(text) ? Number(text) : NaN;
  if (!Number.isFinite(value)) return { problem: `${field.label} must be a number.` };
  if (field.integer) {
    if (!Number.isSafeInteger(value)) return { problem: `${field.label} must be a whole number.` };
    const bounds = INTEGER_BOUNDS[field.psType.replace(/\[\]$/, '')];
    if (bounds && (value < bounds[0] || value > bounds[1])) {
      return { problem: `${field.label} must be between ${bounds[0]} and ${bounds[1]}.` };
    }
  }
  if (field.min !== undefined && value < field.min) {
    return { problem: field.max !== undefined ? `${field.label} must be between ${field.min} and ${field.max}.` : `${field.label} must be at least ${field.min}.` };
  }
  if (field.max !== undefined && value > field.max) {
    return { problem: field.min !== undefined ? `${field.label} must be between ${field.min} and ${field.max}.` : `${field.label} must be at most ${field.max}.` };
  }
  return { value };
}

/** Dates stay ISO strings; PowerShell converts them to [datetime] when binding. */
function coerceDate(field: FormField, raw: unknown): Coerced {
  const text = typeof raw === 'string' ? raw.trim() : '';
  if (!ISO_DATE.test(text) || Number.isNaN(Date.parse(text))) {
    return { problem: `${field.label} must be a date like 2026-03-31.` };
  }
  return { value: text };
}

function coerceChoice(field: FormField, raw: unknown): Coerced {
  if (typeof raw !== 'string' && typeof raw !== 'number') return { problem: `${field.label} must be one of: ${(field.choices ?? []).join(', ')}.` };
  return matchChoice(field, String(raw).trim());
}

/** ValidateSet ignores case unless the script says otherwise, like PowerShell; the value is returned as the script spells it. */
function matchChoice(field: FormField, text: string): Coerced {
  const choices = field.choices ?? [];
  const match = field.choicesCaseSensitive ? choices.find((choice) => choice === text) : choices.find((choice) => choice.toLowerCase() === text.toLowerCase());
  return match === undefined ? { problem: `${field.label} must be one of: ${choices.join(', ')}.` } : { value: match };
}

/** Text is passed on exactly as typed (no trimming): it is data, whatever characters it holds. */
function coerceText(field: FormField, raw: unknown): Coerced {
  if (typeof raw !== 'string' && typeof raw !== 'number' && typeof raw !== 'boolean') return { problem: `${field.label} must be text.` };
  const text = String(raw);
  if (field.choices) return matchChoice(field, text);
  const problem = checkText(field, text, field.label);
  return problem ? { problem } : { value: text };
}

function checkText(field: FormField, text: string, what: string): string | undefined {
  if (field.minLength !== undefined && text.length < field.minLength) return `${what} must be at least ${field.minLength} characters long.`;
  if (field.maxLength !== undefined && text.length > field.maxLength) return `${what} must be at most ${field.maxLength} characters long.`;
  const pattern = field.pattern === undefined ? undefined : compilePattern(field.pattern, field.patternCaseSensitive);
  if (pattern && !pattern.test(text)) return `${what} does not have the expected format.`;
  return undefined;
}

/** Chat users type lists as comma- or line-separated text; each entry is checked like a single value. */
function coerceMulti(field: FormField, raw: unknown, required: boolean): Coerced {
  const parts = Array.isArray(raw) ? raw : typeof raw === 'string' ? raw.split(/[,\r\n]+/) : [raw];
  if (parts.some((part) => typeof part !== 'string' && typeof part !== 'number')) return { problem: `${field.label} must be a list of values.` };
  const entries = parts.map((part) => String(part).trim()).filter((part) => part !== '');
  if (entries.length === 0) return required ? { problem: `${field.label} is required.` } : { value: undefined };
  if (field.minCount !== undefined && entries.length < field.minCount) return { problem: `${field.label} needs at least ${field.minCount} value${field.minCount === 1 ? '' : 's'}.` };
  if (field.maxCount !== undefined && entries.length > field.maxCount) return { problem: `${field.label} takes at most ${field.maxCount} value${field.maxCount === 1 ? '' : 's'}.` };
  const values: string[] = [];
  for (const entry of entries) {
    if (NUMERIC_LIST.test(field.psType)) {
      // A list of numbers ([int[]]): each entry is checked like a number field, and passed as typed.
      const number = coerceNumber({ ...field, label: `${field.label}: "${entry}"` }, entry);
      if ('problem' in number) return number;
      values.push(entry);
      continue;
    }
    if (field.choices) {
      const choice = matchChoice(field, entry);
      if ('problem' in choice) return { problem: `${field.label}: "${entry}" is not one of: ${field.choices.join(', ')}.` };
      values.push(choice.value as string);
      continue;
    }
    const problem = checkText(field, entry, `${field.label}: "${entry}"`);
    if (problem) return { problem };
    values.push(entry);
  }
  return { value: values };
}

/**
 * ValidatePattern is a .NET regular expression, matched case-insensitively and unanchored.
 * JavaScript's Unicode mode reads the common syntax the same way, once `\w` and `\d` get
 * .NET's Unicode meaning (so "Jürgen" passes `^\w+$` here as it does in PowerShell). A
 * pattern JavaScript cannot compile is left to PowerShell, which enforces it at run time.
 */
function compilePattern(pattern: string, caseSensitive = false): RegExp | undefined {
  try {
    return new RegExp(withDotNetClasses(pattern), caseSensitive ? 'u' : 'iu');
  } catch {
    return undefined;
  }
}

const DOTNET_CLASSES: Record<string, string> = { w: '\\p{L}\\p{Mn}\\p{Nd}\\p{Pc}', d: '\\p{Nd}' };

function withDotNetClasses(pattern: string): string {
  let result = '';
  let inClass = false;
  for (let i = 0; i < pattern.length; i++) {
    const char = pattern[i] as string;
    if (char === '\\' && i + 1 < pattern.length) {
      const next = pattern[i + 1] as string;
      const replacement = DOTNET_CLASSES[next];
      result += replacement === undefined ? char + next : inClass ? replacement : `[${replacement}]`;
      i++;
      continue;
    }
    if (char === '[' && !inClass) inClass = true;
    else if (char === ']' && inClass) inClass = false;
    result += char;
  }
  return result;
}
