/**
 * Help in the user's language: a field whose help carries ScriptRunner's `[sr-<language>]`
 * segments has a label and hint per language; the user's locale (Teams activity locale, Slack
 * user locale, the browser's language) picks one, else the default (English or untagged) stays.
 */
import type { ActionView, FormField } from '../../executor/contract/index.ts';

/** `de-CH` → [`de-ch`, `de`]: the exact language first, then the language without its region. */
function candidates(locale: string): string[] {
  const exact = locale.trim().toLowerCase().replace(/_/g, '-');
  const base = exact.split('-')[0] ?? exact;
  return exact === base ? [exact] : [exact, base];
}

export function localizeField(field: FormField, locale: string | undefined): FormField {
  if (!locale || !field.localized) return field;
  const language = candidates(locale).find((candidate) => field.localized?.[candidate] !== undefined);
  const text = language === undefined ? undefined : field.localized[language];
  if (!text) return field;
  const { hint: _defaultHint, ...rest } = field;
  return { ...rest, label: text.label, ...(text.hint ? { hint: text.hint } : {}) };
}

export function localizeAction(action: ActionView, locale: string | undefined): ActionView {
  if (!locale || !action.form.fields.some((field) => field.localized)) return action;
  return { ...action, form: { ...action.form, fields: action.form.fields.map((field) => localizeField(field, locale)) } };
}
