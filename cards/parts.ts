/**
 * Pieces several screens' views share: monospace lines that keep their shape, diff colours,
 * a parameter table, and the row shapes the templates bind.
 */
import type { FormField } from '../executor/contract/index.ts';
import type { JsonObject } from './json.ts';
import { type CardLimits, takeFirst, truncate } from './limits.ts';
import { shortHash, type TextColor } from './present.ts';
import type { ScriptReview } from './screens.ts';

export interface Fact extends JsonObject {
  title: string;
  value: string;
}
export interface Line extends JsonObject {
  text: string;
}
export interface TableRow extends JsonObject {
  cells: { text: string; weight: 'Bolder' | 'Default' }[];
}

const NO_BREAK_SPACE = '\u00a0';

/**
 * A line of output or script text as it should look in monospace: clients collapse runs of
 * spaces (and drop an empty line), which would scramble indentation and PowerShell's column
 * layout. Leading spaces and all but the last space of a run become no-break spaces, so the
 * line keeps its shape and still wraps at a space.
 */
export function monospaceLine(line: string, maxChars: number): string {
  const text = truncate(line.replace(/\t/g, '    ').replace(/\r$/, ''), maxChars);
  if (text === '') return NO_BREAK_SPACE;
  return text
    .replace(/^ +/, (spaces) => NO_BREAK_SPACE.repeat(spaces.length))
    .replace(/ {2,}/g, (spaces) => `${NO_BREAK_SPACE.repeat(spaces.length - 1)} `);
}

export function diffColor(line: string): TextColor {
  if (line.startsWith('+') && !line.startsWith('+++')) return 'Good';
  if (line.startsWith('-') && !line.startsWith('---')) return 'Attention';
  return 'Default';
}

/** A script's parameters as a table: label and name, kind and PowerShell type, required. */
export function parameterTable(fields: readonly FormField[], limits: CardLimits): { rows: TableRow[]; shown: number; hidden: number } {
  const parameters = takeFirst(fields, limits.actions);
  const rows: TableRow[] = [
    { cells: [{ text: 'Parameter', weight: 'Bolder' }, { text: 'Kind', weight: 'Bolder' }, { text: 'Required', weight: 'Bolder' }] },
    ...parameters.shown.map((field): TableRow => ({
      cells: [
        { text: truncate(`${field.label} (${field.name})`, limits.cellChars), weight: 'Default' },
        { text: truncate(`${field.kind}: ${field.psType}`, limits.cellChars), weight: 'Default' },
        { text: field.required ? 'Yes' : 'No', weight: 'Default' },
      ],
    })),
  ];
  return { rows, shown: parameters.shown.length, hidden: parameters.hidden };
}

/** Messages a form cannot show under a field: for the whole form (`_form`), or for a field it does not show. */
export function errorsOutsideFields(fields: readonly FormField[], errors: Record<string, string>): string[] {
  const fieldNames = new Set(fields.map((field) => field.name));
  return Object.entries(errors)
    .filter(([name]) => name === '_form' || !fieldNames.has(name))
    .map(([, message]) => message);
}

/** "Cloned from Central tool (version 1a2b3c4d5e6f). The original has a newer approved version: 9f8e7d6c5b4a." */
export function originText(origin: NonNullable<ScriptReview['origin']>): string {
  const from = `Cloned from ${truncate(origin.name ?? origin.scriptId, 100)} (version ${shortHash(origin.hash)}).`;
  return origin.newerApprovedHash ? `${from} The original has a newer approved version: ${shortHash(origin.newerApprovedHash)}.` : from;
}
