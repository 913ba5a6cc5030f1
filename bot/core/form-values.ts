/**
 * Card inputs arrive as strings (Adaptive Cards and Block Kit both send text): "true" for a
 * toggle, "a,b" for a multi-select, "42" for a number. This turns them into the types the
 * form schema declares before they go to the executor, which validates them again.
 */
import type { FieldValue, FormField, FormSchema } from '../../executor/contract/index.ts';
import { setsName } from '../../cards/form.ts';

function normalizeField(field: FormField, raw: unknown): FieldValue | undefined {
  if (raw === undefined || raw === null) return undefined;
  if (field.kind === 'multi') {
    const items = Array.isArray(raw) ? raw.map(String) : String(raw).split(field.choices ? ',' : /\r?\n|,/);
    const cleaned = items.map((item) => item.trim()).filter((item) => item !== '');
    return cleaned.length > 0 ? cleaned : undefined;
  }
  if (typeof raw !== 'string') return typeof raw === 'number' || typeof raw === 'boolean' ? raw : String(raw);
  // Secrets are passed exactly as typed: spaces may be part of a password.
  const text = field.kind === 'secret' || field.masked ? raw : raw.trim();
  // [AllowEmptyString()] on a mandatory text: an empty text is a value the script accepts.
  if (text === '' && field.allowEmpty && field.required) return '';
  if (text === '') return field.kind === 'toggle' ? false : undefined;
  if (field.kind === 'toggle') return text.toLowerCase() === 'true';
  if (field.kind === 'number') {
    const number = Number(text);
    // Not a number stays text, so the executor's validation names the field.
    return Number.isFinite(number) ? number : text;
  }
  return text;
}

/**
 * Known fields converted by kind; unknown keys dropped (the form defines what may be sent). With
 * a parameter set named, only that set's fields (a modal may still hold values of another).
 */
export function normalizeFormValues(form: FormSchema, raw: Record<string, unknown>, parameterSet?: string): Record<string, FieldValue> {
  const values: Record<string, FieldValue> = {};
  const set = parameterSet === undefined ? undefined : form.parameterSets?.find((candidate) => candidate.name === parameterSet);
  for (const field of form.fields) {
    if (set && setsName(form, field.name) && !set.fields.some((entry) => entry.name === field.name)) continue;
    const value = normalizeField(field, raw[field.name]);
    if (value !== undefined) values[field.name] = value;
  }
  return values;
}

/** The values to show again on a form after a validation error: everything but secrets. */
export function valuesToKeep(form: FormSchema, values: Record<string, unknown>): Record<string, unknown> {
  const secret = new Set(form.fields.filter((field) => field.kind === 'secret').map((field) => field.name));
  return Object.fromEntries(Object.entries(values).filter(([name]) => !secret.has(name)));
}
