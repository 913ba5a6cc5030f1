/**
 * What typed text means: one of the few commands, or words to match against the person's
 * actions. The matching is deliberately plain (words of the title count twice, words of the
 * description once, a shared stem of five letters counts as the word): it only has to find
 * "reset password for bob" among a dozen actions, and say so honestly when nothing fits.
 */
import type { ActionView, FormField, ScriptStatus } from '../../executor/contract/index.ts';
import { SCRIPT_STATUSES } from '../../executor/contract/index.ts';
import type { Suggestion } from '../../cards/screens.ts';

/** Typed commands: the action list, runs, scripts, approvals; anything else is `unknown`. */
export type Command =
  | { kind: 'actions' }
  | { kind: 'runs' }
  | { kind: 'scripts'; status?: ScriptStatus }
  | { kind: 'script'; scriptId: string }
  | { kind: 'approvals' }
  | { kind: 'unknown'; text: string };

const ACTION_WORDS = new Set(['', 'help', 'actions', 'menu', '?']);
const RUN_WORDS = new Set(['runs', 'status', 'history']);

export function parseCommand(text: string): Command {
  const trimmed = text.trim().replace(/^\/?deputy(\s+|$)/i, '');
  const words = trimmed.split(/\s+/).filter(Boolean);
  const [first = '', second, ...rest] = words.map((word) => word.toLowerCase());
  const unknown: Command = { kind: 'unknown', text: trimmed };
  if (rest.length > 0) return unknown;
  if (second === undefined && ACTION_WORDS.has(first)) return { kind: 'actions' };
  if (second === undefined && RUN_WORDS.has(first)) return { kind: 'runs' };
  if (first === 'scripts') {
    if (second === undefined) return { kind: 'scripts' };
    return (SCRIPT_STATUSES as readonly string[]).includes(second) ? { kind: 'scripts', status: second as ScriptStatus } : unknown;
  }
  if (first === 'script' && second !== undefined) return { kind: 'script', scriptId: words[1] ?? second };
  if (first === 'approvals' && second === undefined) return { kind: 'approvals' };
  return unknown;
}

/** Words that say nothing about which action is meant. */
const STOP_WORDS = new Set([
  'a', 'an', 'the', 'for', 'to', 'of', 'on', 'in', 'at', 'by', 'with', 'from', 'and', 'or', 'is', 'are', 'be',
  'my', 'me', 'i', 'we', 'our', 'your', 'you', 'please', 'pls', 'can', 'could', 'would', 'want', 'need', 'do',
  'this', 'that', 'it', 'its', 'some', 'run', 'hello', 'hi', 'hey', 'thanks', 'thank',
]);

/** Words that introduce the value a field needs ("reset the password for bob", "check port 22"). */
const VALUE_MARKERS = new Set(['for', 'of', 'on', 'to', 'at']);

function wordsOf(text: string): string[] {
  return text.toLowerCase().split(/[^\p{L}\p{N}@._-]+/u).map((word) => word.replace(/^[._-]+|[._-]+$/g, '')).filter(Boolean);
}

function sameWord(a: string, b: string): boolean {
  if (a === b) return true;
  // "passwords"/"password", "resetting"/"reset": a shared beginning of five letters is the same word here.
  return a.length >= 5 && b.length >= 5 && a.slice(0, 5) === b.slice(0, 5);
}

function score(words: string[], action: ActionView): number {
  const title = wordsOf(action.title);
  const description = wordsOf(action.description ?? '');
  let total = 0;
  for (const word of words) {
    if (title.some((candidate) => sameWord(word, candidate))) total += 2;
    else if (description.some((candidate) => sameWord(word, candidate))) total += 1;
  }
  return total;
}

/**
 * Values the text gives for the action's fields: "<field label or name> <value>" ("port 22",
 * "service sshd"), else the word after "for"/"to"/"on" ("…for bob") into the first required
 * text field. Only values for fields the form shows, and never for a secret.
 */
function valuesFor(text: string, action: ActionView): Record<string, string> {
  const tokens = text.trim().split(/\s+/).filter(Boolean);
  const lower = tokens.map((token) => token.toLowerCase());
  const fillable = action.form.fields.filter((field) => field.kind === 'text' || field.kind === 'number' || field.kind === 'choice');
  const values: Record<string, string> = {};
  for (const field of fillable) {
    const names = new Set([field.name.toLowerCase(), ...wordsOf(field.label)].filter((name) => name.length >= 3 && !STOP_WORDS.has(name)));
    const at = lower.findIndex((token, index) => index < tokens.length - 1 && names.has(token));
    const value = at >= 0 ? fitted(field, tokens[at + 1] ?? '') : undefined;
    if (value !== undefined) values[field.name] = value;
  }
  if (Object.keys(values).length > 0) return values;
  const marker = lower.findIndex((token, index) => index < tokens.length - 1 && VALUE_MARKERS.has(token));
  const target = fillable.find((field) => field.required && field.kind === 'text');
  const value = marker >= 0 && target ? fitted(target, tokens.slice(marker + 1).join(' ')) : undefined;
  if (value !== undefined && target) values[target.name] = value;
  return values;
}

/** The value as the field takes it (a choice in its own spelling), or undefined when it cannot be. */
function fitted(field: FormField, value: string): string | undefined {
  if (value === '' || value.length > 200) return undefined;
  if (field.kind === 'number') return Number.isFinite(Number(value)) ? value : undefined;
  if (field.kind === 'choice') return (field.choices ?? []).find((choice) => choice.toLowerCase() === value.toLowerCase());
  return field.maxLength === undefined || value.length <= field.maxLength ? value : undefined;
}

/** The actions closest to the text, best first (at most `max`), each with the values it gave. */
export function suggestActions(text: string, actions: readonly ActionView[], max = 3): Suggestion[] {
  const words = wordsOf(text).filter((word) => !STOP_WORDS.has(word));
  if (words.length === 0) return [];
  return actions
    .map((action) => ({ action, score: score(words, action) }))
    .filter((candidate) => candidate.score > 0)
    .sort((a, b) => b.score - a.score || a.action.title.localeCompare(b.action.title))
    .slice(0, max)
    .map(({ action }) => ({ action, values: valuesFor(text, action) }));
}
