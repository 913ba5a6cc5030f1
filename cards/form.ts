/**
 * Turns the executor's form schema (`FormField[]`, derived from the script's param() block)
 * into Adaptive Card inputs, and reads submitted card data back into typed values.
 *
 * This part is code rather than template because each field kind needs a different input
 * element with different properties, which templating cannot express cleanly.
 */
import { MASK, type Choice, type FieldValue, type FormField, type FormSchema, type ParameterSet } from '../executor/contract/index.ts';
import { normalizeFormValues, setsName } from './form-values.ts';
import type { JsonObject } from './json.ts';

/**
 * Input ids are prefixed so a PowerShell parameter called `verb` or `actionId` cannot collide
 * with the button data that Action.Execute / Action.Submit merges the inputs into. A field
 * shown in the part of the form of one parameter set (and not in every set) has that set's
 * number in its id: the same parameter can appear in several sets' parts.
 */
const INPUT_ID_PREFIX = 'field.';

export function formInputId(fieldName: string, setIndex?: number): string {
  return setIndex === undefined ? `${INPUT_ID_PREFIX}${fieldName}` : `field@${setIndex}.${fieldName}`;
}

/** The data key of the parameter set a form's Run button was pressed for. */
export const PARAMETER_SET_KEY = 'parameterSet';

/** A Teams `Data.Query` dataset: which action's which field (and in which set's part) to search. */
export function choicesDataset(actionId: string, fieldName: string, setIndex?: number): string {
  return [actionId, fieldName, ...(setIndex === undefined ? [] : [String(setIndex)])].join('/');
}

export function parseChoicesDataset(dataset: string): { actionId: string; fieldName: string; setIndex?: number } | undefined {
  const [actionId, fieldName, set, ...rest] = dataset.split('/');
  if (!actionId || !fieldName || rest.length > 0 || (set !== undefined && !/^\d{1,3}$/.test(set))) return undefined;
  return set === undefined ? { actionId, fieldName } : { actionId, fieldName, setIndex: Number(set) };
}

export interface FormRenderOptions {
  /** The action whose form this is (Teams' dynamic search names it). */
  actionId: string;
  /** The card's own id, sent with its Run buttons (one form, one run: a second press is the same request). */
  formId?: string;
  /** Choices of query-bound fields known when the form is drawn (the first page). */
  choices?: Readonly<Record<string, readonly Choice[]>>;
  /** Fields a query-bound field waits for before it has choices. */
  waitingFor?: Readonly<Record<string, readonly string[]>>;
  /**
   * Teams: query-bound fields search as the user types (`choices.data`, answered on the
   * `application/search` invoke), and dependent ones send the form's values with the search.
   */
  dynamicChoices?: boolean;
  /** The parameter set whose part is open (else the default, else the first). */
  parameterSet?: string;
  /** The Run button's title. */
  submitTitle: string;
}

/** Card elements for every field, prefilled, with the messages from a failed validation. */
export function buildFormFields(
  fields: readonly FormField[],
  values: Record<string, unknown> = {},
  errors: Record<string, string> = {},
  options: FormRenderOptions = { actionId: '', submitTitle: 'Run' },
): JsonObject[] {
  const layout: Layout = { dependents: dependentsOf(fields), idsOf: (name) => [formInputId(name)] };
  return fields.map((field) => fieldContainer(field, values, errors, options, undefined, layout));
}

/** What a field needs to know of the whole form: which fields depend on it, and every input id a field has. */
interface Layout {
  dependents: ReadonlyMap<string, string[]>;
  idsOf: (name: string) => string[];
}

/**
 * The whole body of a form: with one parameter set, its fields; with several, the fields every
 * set has, then a chooser that shows one set's part at a time, in place (Action.ToggleVisibility,
 * no second card), each part with its own fields and its own Run button that names the set.
 */
export function buildFormBody(form: FormSchema, values: Record<string, unknown>, errors: Record<string, string>, options: FormRenderOptions): { items: JsonObject[]; hasSets: boolean } {
  const sets = form.parameterSets;
  const dependents = dependentsOf(form.fields);
  if (!sets || sets.length < 2) {
    const layout: Layout = { dependents, idsOf: (name) => [formInputId(name)] };
    return { items: form.fields.map((field) => fieldContainer(field, values, errors, options, undefined, layout)), hasSets: false };
  }
  // Fields no set names (the target field) belong to every way of running it, like those every set has.
  const inEvery = (name: string) => sets.every((set) => set.fields.some((entry) => entry.name === name)) || !sets.some((set) => set.fields.some((entry) => entry.name === name));
  const layout: Layout = {
    dependents,
    idsOf: (name) => (inEvery(name) ? [formInputId(name)] : sets.flatMap((set, index) => (set.fields.some((entry) => entry.name === name) ? [formInputId(name, index)] : []))),
  };
  const open = openSet(sets, options.parameterSet);
  const items: JsonObject[] = form.fields.filter((field) => inEvery(field.name)).map((field) => fieldContainer(field, values, errors, options, undefined, layout));
  items.push(
    { type: 'TextBlock', text: 'Choose how to run it:', weight: 'Bolder', wrap: true, spacing: 'Large' },
    {
      type: 'ActionSet',
      actions: sets.map((set, index) => ({
        type: 'Action.ToggleVisibility',
        title: set.default ? `${set.name} (default)` : set.name,
        targetElements: sets.map((_, other) => ({ elementId: setContainerId(other), isVisible: other === index })),
      })),
    },
  );
  sets.forEach((set, index) => {
    const setFields = form.fields.filter((field) => !inEvery(field.name) && set.fields.some((entry) => entry.name === field.name));
    // A field only one set requires is checked by the executor: a card checks every input, the hidden parts' too.
    const shown = setFields.map((field) => fieldContainer({ ...field, required: false, label: requiredLabel(field, set) }, values, errors, options, index, layout));
    items.push({
      type: 'Container',
      id: setContainerId(index),
      ...(index === open ? {} : { isVisible: false }),
      style: 'emphasis',
      spacing: 'Medium',
      items: [
        { type: 'RichTextBlock', inlines: [{ type: 'TextRun', text: set.name, weight: 'Bolder' }] },
        ...(shown.length > 0 ? shown : [{ type: 'TextBlock', text: 'Nothing more to fill in for this one.', isSubtle: true, wrap: true }]),
        {
          type: 'ActionSet',
          actions: [{ type: 'Action.Execute', title: options.submitTitle, style: 'positive', verb: 'submit-form', data: { actionId: options.actionId, ...(options.formId ? { formId: options.formId } : {}), [PARAMETER_SET_KEY]: set.name } }],
        },
      ],
    });
  });
  return { items, hasSets: true };
}

function setContainerId(index: number): string {
  return `parameter-set-${index}`;
}

/** The part that is open: the one asked for, else the default set, else the first. */
function openSet(sets: readonly ParameterSet[], asked: string | undefined): number {
  const askedIndex = asked === undefined ? -1 : sets.findIndex((set) => set.name === asked);
  if (askedIndex >= 0) return askedIndex;
  const fallback = sets.findIndex((set) => set.default);
  return fallback >= 0 ? fallback : 0;
}

/** In a set's part, a field that set requires says so in its label (the card cannot check it). */
function requiredLabel(field: FormField, set: ParameterSet): string {
  return set.fields.some((entry) => entry.name === field.name && entry.required) ? `${field.label} (required)` : field.label;
}

/** Field name → the query-bound fields whose choices depend on it. */
function dependentsOf(fields: readonly FormField[]): Map<string, string[]> {
  const map = new Map<string, string[]>();
  for (const field of fields) {
    for (const source of field.choicesFrom?.dependsOn ?? []) map.set(source, [...(map.get(source) ?? []), field.name]);
  }
  return map;
}

function fieldContainer(
  field: FormField,
  values: Record<string, unknown>,
  errors: Record<string, string>,
  options: FormRenderOptions,
  setIndex: number | undefined,
  layout: Layout,
): JsonObject {
  const error = errors[field.name];
  const input = field.choicesFrom
    ? buildQueryInput(field, prefillFor(field, values), error, options, setIndex)
    : buildInput(field, prefillFor(field, values), error, setIndex);
  const children = layout.dependents.get(field.name);
  if (children && options.dynamicChoices) {
    // Teams: a new value here empties the fields whose choices depend on it.
    input.valueChangedAction = { type: 'Action.ResetInputs', targetInputIds: children.flatMap((child) => layout.idsOf(child)) };
  }
  const items: JsonObject[] = [input];
  const waiting = options.waitingFor?.[field.name];
  const hint = [field.hint, field.choicesFrom && waiting && waiting.length > 0 ? `Fill in ${waiting.join(', ')} first${options.dynamicChoices ? '' : ', then press “Update choices”'}.` : undefined]
    .filter(Boolean)
    .join(' ');
  // Script text: a text run, never read as Markdown.
  if (hint) items.push({ type: 'RichTextBlock', spacing: 'None', inlines: [{ type: 'TextRun', text: hint, isSubtle: true, size: 'Small' }] });
  if (error) items.push({ type: 'RichTextBlock', spacing: 'Small', inlines: [{ type: 'TextRun', text: error, color: 'Attention', size: 'Small' }] });
  return { type: 'Container', spacing: 'Medium', items };
}

/**
 * A field whose choices a query gives: the choices known now (a value given earlier stays
 * selectable), and in Teams a search that asks the executor as the user types.
 */
function buildQueryInput(field: FormField, value: unknown, error: string | undefined, options: FormRenderOptions, setIndex: number | undefined): JsonObject {
  const known = [...(options.choices?.[field.name] ?? [])];
  const multi = field.kind === 'multi';
  const current = multi ? asList(value) : asText(value) === undefined ? [] : [asText(value) as string];
  for (const item of current) if (!known.some((choice) => choice.value === item)) known.unshift({ value: item, title: item });
  if (known.length === 0) {
    // Nothing to choose from yet (the fields it depends on are empty) or at all: a card cannot show an empty list.
    const waiting = options.waitingFor?.[field.name] ?? [];
    return {
      type: 'Input.Text',
      id: formInputId(field.name, setIndex),
      label: field.label,
      ...(field.required ? { isRequired: true } : {}),
      errorMessage: error ?? 'Choose one of the options.',
      placeholder: waiting.length > 0 ? `Choose ${waiting.join(', ')} first` : 'No choices available',
    };
  }
  const element: JsonObject = {
    type: 'Input.ChoiceSet',
    id: formInputId(field.name, setIndex),
    label: field.label,
    ...(field.required ? { isRequired: true } : {}),
    errorMessage: error ?? (multi ? 'Choose at least one option.' : 'Choose one of the options.'),
    style: options.dynamicChoices ? 'filtered' : 'compact',
    placeholder: 'Choose…',
    choices: known.map((choice) => ({ title: choice.title, value: choice.value })),
    ...(multi ? { isMultiSelect: true } : {}),
    ...(current.length > 0 ? { value: current.join(',') } : {}),
  };
  if (options.dynamicChoices) {
    element['choices.data'] = {
      type: 'Data.Query',
      dataset: choicesDataset(options.actionId, field.name, setIndex),
      ...(field.choicesFrom && field.choicesFrom.dependsOn.length > 0 ? { associatedInputs: 'auto' } : {}),
    };
  }
  return element;
}

/** The value to show: what the user entered, else the default. Secrets are never shown again. */
function prefillFor(field: FormField, values: Record<string, unknown>): unknown {
  if (field.kind === 'secret' || field.masked) return undefined;
  const entered = Object.hasOwn(values, field.name) ? values[field.name] : undefined;
  const value = entered ?? field.default;
  return value === MASK ? undefined : value;
}

function buildInput(field: FormField, value: unknown, error: string | undefined, setIndex?: number): JsonObject {
  const common: JsonObject = {
    id: formInputId(field.name, setIndex),
    label: field.label,
    ...(field.required ? { isRequired: true } : {}),
    errorMessage: error ?? defaultErrorMessage(field),
  };
  switch (field.kind) {
    case 'text':
      if (field.masked) {
        // Typed like a password (ScriptRunner's ASRDisplay(Password)), never shown again.
        return withOptional({ type: 'Input.Text', ...common, style: 'Password', placeholder: 'Not shown again or kept in chat' }, { maxLength: field.maxLength });
      }
      return withOptional({ type: 'Input.Text', ...common, ...(field.multiline ? { isMultiline: true } : {}) }, {
        value: asText(value),
        maxLength: field.maxLength,
        regex: clientRegex(field),
      });
    case 'secret':
      return withOptional({ type: 'Input.Text', ...common, style: 'Password', placeholder: 'Not shown again or kept in chat' }, {
        maxLength: field.maxLength,
      });
    case 'multi':
      if (field.choices && field.choices.length > 0) {
        return withOptional({ type: 'Input.ChoiceSet', ...common, isMultiSelect: true, choices: choicesOf(field.choices) }, {
          value: asList(value).join(','),
        });
      }
      return withOptional({ type: 'Input.Text', ...common, isMultiline: true, placeholder: 'One per line' }, {
        value: asList(value).join('\n'),
      });
    case 'choice':
      return withOptional(
        { type: 'Input.ChoiceSet', ...common, style: 'compact', placeholder: 'Choose…', choices: choicesOf(field.choices ?? []) },
        { value: asText(value) },
      );
    case 'toggle':
      // A switch always has a value (on or off), so it is never "required"; its label sits next to the box.
      return {
        type: 'Input.Toggle',
        id: formInputId(field.name, setIndex),
        title: field.label,
        // valueOn/valueOff are left at their defaults, "true" and "false"; readFormValues relies on them.
        value: asBoolean(value) ? 'true' : 'false',
      };
    case 'number':
      return withOptional({ type: 'Input.Number', ...common }, {
        value: asNumber(value),
        min: field.min,
        max: field.max,
        placeholder: numberPlaceholder(field),
      });
    case 'date':
      return withOptional({ type: 'Input.Date', ...common }, { value: asDate(value) });
  }
}

/** Adds only the properties that have a value, so the card carries no `undefined`/empty noise. */
function withOptional(element: JsonObject, optional: Record<string, string | number | undefined>): JsonObject {
  const result: JsonObject = { ...element };
  for (const [key, value] of Object.entries(optional)) {
    if (value !== undefined && value !== '') result[key] = value;
  }
  return result;
}

function choicesOf(choices: readonly string[]): JsonObject[] {
  return choices.map((choice) => ({ title: choice, value: choice }));
}

/**
 * What the client shows when its own check fails. A required field left empty is the common
 * case, so a required field's message says "required" first.
 */
function defaultErrorMessage(field: FormField): string {
  const kindMessage = kindErrorMessage(field);
  return field.required ? `${field.label} is required. ${kindMessage}` : kindMessage;
}

function kindErrorMessage(field: FormField): string {
  switch (field.kind) {
    case 'number':
      return numberRangeText(field) ?? 'Enter a number.';
    case 'choice':
      return 'Choose one of the options.';
    case 'multi':
      return field.choices?.length ? 'Choose at least one option.' : 'Enter at least one value, one per line.';
    case 'date':
      return 'Enter a date.';
    default:
      return field.pattern ? 'Enter a value in the expected format.' : 'Enter a value.';
  }
}

function numberRangeText(field: FormField): string | undefined {
  const kind = field.integer ? 'a whole number' : 'a number';
  if (field.min !== undefined && field.max !== undefined) return `Enter ${kind} from ${field.min} to ${field.max}.`;
  if (field.min !== undefined) return `Enter ${kind} of at least ${field.min}.`;
  if (field.max !== undefined) return `Enter ${kind} of at most ${field.max}.`;
  return field.integer ? 'Enter a whole number.' : undefined;
}

function numberPlaceholder(field: FormField): string | undefined {
  if (field.min !== undefined && field.max !== undefined) return `${field.min}–${field.max}`;
  return field.integer ? 'Whole number' : undefined;
}

/**
 * Escapes whose meaning is the same in .NET and JavaScript, and independent of letter case.
 * (`\w` and `\b` are left out: .NET's are Unicode-aware, JavaScript's ASCII-only, so "Jürgen" would be refused.)
 */
const PORTABLE_ESCAPES = new Set(['d', 'D', 's', 'S', 't', 'n', 'r']);

/**
 * The `[ValidatePattern]` regex for the card's own check, or nothing. PowerShell matches
 * case-insensitively with .NET's engine; a card matches case-sensitively with the client's
 * engine. A pattern is passed on only when that difference cannot matter (no letters outside
 * portable escapes), because a client check that refuses valid input is worse than none: the
 * executor checks every pattern with PowerShell anyway. Without a pattern, `[ValidateLength]`'s
 * minimum becomes the regex.
 */
function clientRegex(field: FormField): string | undefined {
  if (field.pattern === undefined) {
    return field.minLength !== undefined && field.minLength > 0 ? `^[\\s\\S]{${field.minLength},}$` : undefined;
  }
  return isPortablePattern(field.pattern) ? field.pattern : undefined;
}

function isPortablePattern(pattern: string): boolean {
  for (let index = 0; index < pattern.length; index++) {
    const char = pattern.charAt(index);
    if (char === '\\') {
      const escaped = pattern.charAt(index + 1);
      if (/[A-Za-z]/.test(escaped) && !PORTABLE_ESCAPES.has(escaped)) return false;
      index++;
    } else if (/[A-Za-z]/.test(char)) {
      return false;
    }
  }
  try {
    new RegExp(pattern);
    return true;
  } catch {
    return false;
  }
}

function asText(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return undefined;
}

function asList(value: unknown): string[] {
  if (Array.isArray(value)) return value.map((item) => asText(item)).filter((item): item is string => item !== undefined);
  const text = asText(value);
  return text === undefined || text === '' ? [] : [text];
}

function asBoolean(value: unknown): boolean {
  return value === true || value === 'true';
}

function asNumber(value: unknown): number | undefined {
  const number = typeof value === 'string' && value.trim() !== '' ? Number(value) : value;
  return typeof number === 'number' && Number.isFinite(number) ? number : undefined;
}

/** Input.Date takes `YYYY-MM-DD`; a default may be a full date-time. */
function asDate(value: unknown): string | undefined {
  const text = asText(value);
  const match = text === undefined ? null : /^(\d{4}-\d{2}-\d{2})/.exec(text);
  return match?.[1];
}

/**
 * Reads a submitted card's data (Action.Execute or Action.Submit; every input arrives as a
 * string, under its `field.<Name>` id) back into typed values by the form's fields, through the
 * one conversion every platform shares (cards/form-values.ts). On a form with several parameter
 * sets, only the fields of the set whose Run button was pressed are read (the card sends every
 * input, the other parts' too).
 */
export function readFormValues(form: FormSchema, data: Record<string, unknown>): Record<string, FieldValue> {
  const raws: Record<string, string> = {};
  const { set, index } = pressedSet(form, data);
  for (const field of form.fields) {
    let raw = data[formInputId(field.name)];
    if (set && index !== undefined && setsName(form, field.name)) {
      const inSet = set.fields.some((entry) => entry.name === field.name);
      if (!inSet) continue;
      raw ??= data[formInputId(field.name, index)];
    }
    if (typeof raw === 'string') raws[field.name] = raw;
  }
  return normalizeFormValues(form, raws);
}

/**
 * Every value a card holds, whichever part of a form with several parameter sets it was typed
 * in (for "Update choices", which is pressed outside the parts): a field's value is the one in
 * the fields every set has, else the first part that has one.
 */
export function readEveryFormValue(form: FormSchema, data: Record<string, unknown>): Record<string, FieldValue> {
  const values: Record<string, FieldValue> = {};
  const setCount = form.parameterSets?.length ?? 0;
  for (const field of form.fields) {
    const ids = [formInputId(field.name), ...Array.from({ length: setCount }, (_, index) => formInputId(field.name, index))];
    const found = ids.flatMap((id) => {
      const raw = data[id];
      const value = typeof raw === 'string' ? normalizeFormValues({ fields: [field] }, { [field.name]: raw })[field.name] : undefined;
      return value === undefined ? [] : [value];
    });
    // A switch is on when it was turned on in any part (each part has its own, off unless touched).
    const value = field.kind === 'toggle' && found.length > 0 ? found.includes(true) : found[0];
    if (value !== undefined) values[field.name] = value;
  }
  return values;
}

/**
 * A card's input values by parameter name, as a Teams search sends them (`associatedInputs`):
 * the fields every set has, with those of one set's part (`setIndex`) over them.
 */
export function valuesByFieldName(data: Record<string, unknown>, setIndex?: number): Record<string, string> {
  const values: Record<string, string> = {};
  const partPrefix = setIndex === undefined ? undefined : `field@${setIndex}.`;
  for (const [id, value] of Object.entries(data)) {
    if (typeof value !== 'string') continue;
    if (id.startsWith(INPUT_ID_PREFIX)) values[id.slice(INPUT_ID_PREFIX.length)] ??= value;
  }
  if (partPrefix) for (const [id, value] of Object.entries(data)) if (typeof value === 'string' && id.startsWith(partPrefix)) values[id.slice(partPrefix.length)] = value;
  return values;
}

export { setsName };

/** The parameter set a submitted card names (its Run button's data), and its place in the form. */
export function pressedSet(form: FormSchema, data: Record<string, unknown>): { set?: ParameterSet; index?: number } {
  const name = data[PARAMETER_SET_KEY];
  const index = typeof name === 'string' ? (form.parameterSets ?? []).findIndex((set) => set.name === name) : -1;
  return index >= 0 ? { set: form.parameterSets?.[index] as ParameterSet, index } : {};
}
