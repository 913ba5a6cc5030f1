/**
 * Help text → what a form shows: a label (the first sentence) and a hint (the rest), per language.
 *
 * ScriptRunner writes several languages under one `.PARAMETER`: `[sr-en] Unique ID of the user
 * [sr-de] Eindeutige ID des Benutzers`; each tagged segment runs on until the next tag, and text
 * before the first tag is untagged. The default text is the English segment, else the untagged
 * text, else the first language given, so no raw tag ever reaches a form.
 */
import type { LocalizedText } from '../contract/index.ts';

const LANGUAGE_TAG = /\[sr-([a-z]{2,3}(?:-[a-z0-9]{2,8})?)\]/gi;

export interface LanguageSegments {
  /** Text before the first tag (or the whole text without tags), trimmed; undefined when empty. */
  untagged?: string;
  /** Language code (lower case) → its text, trimmed, in the order the help gives them. */
  languages: Map<string, string>;
}

export function splitLanguages(text: string | undefined): LanguageSegments {
  const languages = new Map<string, string>();
  if (text === undefined) return { languages };
  const tags = [...text.matchAll(LANGUAGE_TAG)];
  const head = text.slice(0, tags[0]?.index ?? text.length).trim();
  tags.forEach((tag, index) => {
    const language = (tag[1] as string).toLowerCase();
    const start = (tag.index ?? 0) + tag[0].length;
    const end = tags[index + 1]?.index ?? text.length;
    const segment = text.slice(start, end).trim();
    // A language given twice keeps its first text, like a `.PARAMETER` given twice.
    if (segment && !languages.has(language)) languages.set(language, segment);
  });
  return { ...(head ? { untagged: head } : {}), languages };
}

/** The text to show when no language is asked for: English, else the untagged text, else the first language. */
export function defaultText(text: string | undefined): string | undefined {
  const { untagged, languages } = splitLanguages(text);
  return languages.get('en') ?? untagged ?? languages.values().next().value;
}

/** Help text: the first sentence is the label, the rest the hint; without help, the name split into words. */
export function labelAndHint(name: string, help: string | undefined): LocalizedText {
  const text = help?.replace(/\s+/g, ' ').trim();
  if (!text) return { label: labelFromName(name) };
  const end = /[.!?](\s|$)/.exec(text);
  const first = end ? text.slice(0, end.index + 1) : text;
  const rest = end ? text.slice(end.index + 1).trim() : '';
  const label = first.replace(/\.$/, '').trim();
  return rest ? { label, hint: rest } : { label };
}

export interface FieldHelp extends LocalizedText {
  localized?: Record<string, LocalizedText>;
}

/**
 * Label, hint and per-language texts of a parameter from its help (`.PARAMETER` or a comment in
 * param()) and its `HelpMessage`. The help message is the help when there is no other, and is
 * added to the default hint when there is.
 */
export function fieldHelp(name: string, help: string | undefined, helpMessage: string | undefined): FieldHelp {
  const segments = splitLanguages(help);
  const fallback = segments.languages.get('en') ?? segments.untagged ?? segments.languages.values().next().value;
  const base = labelAndHint(name, fallback ?? helpMessage);
  const extra = fallback !== undefined && helpMessage && !fallback.includes(helpMessage) ? helpMessage.trim() : undefined;
  const result: FieldHelp = extra ? { label: base.label, hint: base.hint ? `${base.hint} ${extra}` : extra } : base;
  if (segments.languages.size > 0) {
    result.localized = Object.fromEntries([...segments.languages].map(([language, text]) => [language, labelAndHint(name, text)]));
  }
  return result;
}

/** `UserPrincipalName` → "User principal name", `MaxCPUCount` → "Max CPU count". */
export function labelFromName(name: string): string {
  const words = name
    .replace(/[_-]+/g, ' ')
    .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
    .replace(/([A-Z]+)([A-Z][a-z])/g, '$1 $2')
    .trim()
    .split(/\s+/);
  return words
    .map((word, index) => {
      if (/^[A-Z0-9]{2,}$/.test(word)) return word;
      const lower = word.toLowerCase();
      return index === 0 ? lower.charAt(0).toUpperCase() + lower.slice(1) : lower;
    })
    .join(' ');
}
