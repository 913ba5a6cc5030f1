/**
 * The one conversion of submitted form values. Every client sends text (Adaptive Cards:
 * "true" for a toggle, "a,b" for a multi-select, "42" for a number) or, in Slack, selections as
 * lists: each edge only takes its platform's shape apart (cards/form.ts `readFormValues`,
 * bot/slack/form.ts `readSubmittedState`), and this turns the raw values into the types the
 * form declares before they go to the executor, which validates them again.
 */
import type { FieldValue, FormField, FormSchema } from '../executor/contract/index.ts';

/**
 * A value as its field's kind takes it, or `undefined` for "not given" (so the executor applies
 * its default and reports a missing required value). Secrets are kept exactly as typed (spaces
 * may be part of a password); other text is trimmed. A number that does not parse stays text,
 * for the executor's validation to name.
 */
function normalizeField(field: FormField, raw: unknown): FieldValue | undefined {
  if (raw === undefined || raw === null) return undefined;
  if (field.kind === 'toggle') return raw === true || (typeof raw === 'string' && raw.trim().toLowerCase() === 'true');
  if (field.kind === 'multi') {
    // Choices arrive comma-separated (Input.ChoiceSet) or as a list; free values one per line.
    const items = Array.isArray(raw) ? raw.map(String) : String(raw).split(field.choices?.length ? ',' : /\r?\n/);
    const cleaned = items.map((item) => item.trim()).filter((item) => item !== '');
    return cleaned.length > 0 ? cleaned : undefined;
  }
  if (typeof raw === 'number' || typeof raw === 'boolean') return raw;
  const text = String(raw);
  if (field.kind === 'secret') return text === '' ? undefined : text;
  const trimmed = text.trim();
  if (trimmed === '') return undefined;
  if (field.kind === 'number') {
    const number = Number(trimmed);
    return Number.isFinite(number) ? number : trimmed;
  }
  return trimmed;
}

/** Known fields converted by kind, by parameter name; unknown keys dropped (the form defines what may be sent). */
export function normalizeFormValues(form: FormSchema, raw: Record<string, unknown>): Record<string, FieldValue> {
  const values: Record<string, FieldValue> = {};
  for (const field of form.fields) {
    const value = normalizeField(field, Object.hasOwn(raw, field.name) ? raw[field.name] : undefined);
    if (value !== undefined) values[field.name] = value;
  }
  return values;
}

/** The values to show again on a form (after a validation error, "Run again", a prefill): everything but secrets. */
export function valuesToKeep(form: FormSchema, values: Record<string, unknown>): Record<string, unknown> {
  const secret = new Set(form.fields.filter((field) => field.kind === 'secret').map((field) => field.name));
  return Object.fromEntries(Object.entries(values).filter(([name]) => !secret.has(name)));
}
