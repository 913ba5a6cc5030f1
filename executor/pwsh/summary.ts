/**
 * The short result for chat: the last output lines or the last rows of a small table (where a
 * log tail or a script's result is), and the first errors and warnings.
 */
import type { RunSummary } from '../contract/index.ts';
import type { StoredRecord } from '../store/port.ts';

const MAX_LINES = 10;
const MAX_ROWS = 10;
const MAX_COLUMNS = 6;
const MAX_MESSAGES = 5;
const MAX_LINE_CHARS = 200;
const MAX_CELL_CHARS = 200;

function clip(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

function firstLine(text: string): string {
  return clip((text.split(/\r?\n/).find((line) => line.trim() !== '') ?? '').trim(), MAX_LINE_CHARS);
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function cell(value: unknown): string {
  if (value === null || value === undefined) return '';
  if (typeof value === 'string') return clip(value.replace(/\s+/g, ' '), MAX_CELL_CHARS);
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return clip(JSON.stringify(value), MAX_CELL_CHARS);
}

/** A table when every output record is an object with the same properties, in the same order. */
function tableOf(outputs: StoredRecord[]): RunSummary['table'] {
  const objects = outputs.map((record) => record.data);
  const first = objects[0];
  if (!isPlainObject(first)) return undefined;
  const keys = Object.keys(first);
  if (keys.length === 0) return undefined;
  const signature = keys.join('\u0000');
  if (!objects.every((value) => isPlainObject(value) && Object.keys(value).join('\u0000') === signature)) return undefined;
  const columns = keys.slice(0, MAX_COLUMNS);
  const rows = objects.slice(-MAX_ROWS).map((value) => columns.map((column) => cell((value as Record<string, unknown>)[column])));
  return { columns, rows };
}

export function summarize(records: readonly StoredRecord[], truncated: boolean, exitCode: number | null): RunSummary {
  const outputs = records.filter((record) => record.stream === 'output');
  const outputLines = outputs.flatMap((record) => record.text.split(/\r?\n/));
  const messages = (stream: StoredRecord['stream']): string[] =>
    records
      .filter((record) => record.stream === stream)
      .map((record) => firstLine(record.text))
      .filter((line) => line !== '')
      .slice(0, MAX_MESSAGES);
  const table = tableOf(outputs);
  return {
    lines: outputLines.slice(-MAX_LINES).map((line) => clip(line, MAX_LINE_CHARS)),
    ...(table ? { table, rowCount: outputs.length } : {}),
    errors: messages('error'),
    warnings: messages('warning'),
    outputLineCount: outputLines.length,
    truncated,
    exitCode,
  };
}
