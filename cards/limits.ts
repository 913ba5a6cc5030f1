/**
 * Size limits for chat cards. Teams refuses a message over about 28 KB (card plus activity
 * envelope), so every piece of text that comes from a script, a user or the catalog is cut
 * to a known length, and long output goes to "Show all output" instead.
 */

/** Largest card JSON (UTF-8 bytes) we send; leaves room for the activity envelope under Teams' ~28 KB. */
export const CARD_BUDGET_BYTES = 24 * 1024;

/** Teams refreshes a card automatically for at most this many users. */
export const MAX_REFRESH_USERS = 60;

export interface CardLimits {
  /** Output lines shown in a summary. */
  outputLines: number;
  /** Characters per output line, table cell, input value. */
  lineChars: number;
  tableRows: number;
  tableColumns: number;
  cellChars: number;
  /** Error and warning messages each. */
  messages: number;
  messageChars: number;
  /** Actions listed on the action list. */
  actions: number;
  descriptionChars: number;
  /** Lines of script text on a review card. */
  excerptLines: number;
}

/**
 * Tried in order until the card fits the budget: the standard limits keep a summary useful,
 * the smaller ones only apply when a script produced unusually wide or long text.
 */
export const LIMIT_STEPS: readonly CardLimits[] = [
  { outputLines: 15, lineChars: 200, tableRows: 10, tableColumns: 6, cellChars: 200, messages: 5, messageChars: 300, actions: 30, descriptionChars: 200, excerptLines: 20 },
  { outputLines: 8, lineChars: 120, tableRows: 6, tableColumns: 5, cellChars: 80, messages: 3, messageChars: 200, actions: 20, descriptionChars: 120, excerptLines: 10 },
  { outputLines: 4, lineChars: 80, tableRows: 3, tableColumns: 4, cellChars: 40, messages: 2, messageChars: 120, actions: 10, descriptionChars: 60, excerptLines: 5 },
];

/** Cuts `text` to at most `max` characters (code points), marking the cut with an ellipsis. */
export function truncate(text: string, max: number): string {
  if (text.length <= max) return text;
  const codePoints = Array.from(text.slice(0, max + 1));
  if (codePoints.length <= max) return codePoints.join('');
  return `${codePoints.slice(0, Math.max(0, max - 1)).join('')}…`;
}

/** Keeps the first `max` items, and says how many were left out. */
export function takeFirst<T>(items: readonly T[], max: number): { shown: T[]; hidden: number } {
  return { shown: items.slice(0, max), hidden: Math.max(0, items.length - max) };
}

/** Keeps the last `max` items (the end of an output), and says how many were left out. */
export function takeLast<T>(items: readonly T[], max: number): { shown: T[]; hidden: number } {
  return { shown: items.slice(Math.max(0, items.length - max)), hidden: Math.max(0, items.length - max) };
}
