/**
 * Turns the executor's form schema (`FormField[]`, derived from the script's param() block)
 * into Adaptive Card inputs, and reads submitted card data back into typed values.
 *
 * This part is code rather than template because each field kind needs a different input
 * element with different properties, which templating cannot express cleanly.
 */
import { MASK, type FieldValue, type FormField, type FormSchema } from '../executor/contract/index.ts';
import { normalizeFormValues } from './form-values.ts';
import type { JsonObject } from './json.ts';

/**
 * Input ids are prefixed so a PowerShell parameter called `verb` or `actionId` cannot collide
 * with the button data that Action.Execute / Action.Submit merges the inputs into.
 */
const INPUT_ID_PREFIX = 'field.';

export function formInputId(fieldName: string): string {
  return `${INPUT_ID_PREFIX}${fieldName}`;
}

/** Card elements for every field, prefilled, with the messages from a failed validation. */
export function buildFormFields(
  fields: readonly FormField[],
  values: Record<string, unknown> = {},
  errors: Record<string, string> = {},
): JsonObject[] {
  return fields.map((field) => {
    const error = errors[field.name];
    const items: JsonObject[] = [buildInput(field, prefillFor(field, values), error)];
    if (field.hint) {
      // Script text: a text run, never read as Markdown.
      items.push({ type: 'RichTextBlock', spacing: 'None', inlines: [{ type: 'TextRun', text: field.hint, isSubtle: true, size: 'Small' }] });
    }
    if (error) {
      items.push({ type: 'RichTextBlock', spacing: 'Small', inlines: [{ type: 'TextRun', text: error, color: 'Attention', size: 'Small' }] });
    }
    return { type: 'Container', spacing: 'Medium', items };
  });
}

/** The value to show: what the user entered, else the default. Secrets are never shown again. */
function prefillFor(field: FormField, values: Record<string, unknown>): unknown {
  if (field.kind === 'secret') return undefined;
  const entered = Object.hasOwn(values, field.name) ? values[field.name] : undefined;
  const value = entered ?? field.default;
  return value === MASK ? undefined : value;
}

function buildInput(field: FormField, value: unknown, error: string | undefined): JsonObject {
  const common: JsonObject = {
    id: formInputId(field.name),
    label: field.label,
    ...(field.required ? { isRequired: true } : {}),
    errorMessage: error ?? defaultErrorMessage(field),
  };
  switch (field.kind) {
    case 'text':
      return withOptional({ type: 'Input.Text', ...common }, {
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
        id: formInputId(field.name),
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
 * one conversion every platform shares (cards/form-values.ts).
 */
export function readFormValues(form: FormSchema, data: Record<string, unknown>): Record<string, FieldValue> {
  const raw = Object.fromEntries(form.fields.map((field) => [field.name, data[formInputId(field.name)]]).filter(([, value]) => typeof value === 'string'));
  return normalizeFormValues(form, raw);
}
