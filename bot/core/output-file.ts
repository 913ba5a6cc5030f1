/**
 * A run's full output as a file a person can open: text stays text; output objects become CSV
 * when they all have the same properties (a spreadsheet opens it), JSON otherwise. Records of
 * other streams (errors, warnings…) follow a text file's output as `[stream] text` lines.
 */
import type { RunView } from '../../executor/contract/index.ts';
import type { FileAttachment } from './model.ts';

type Row = Record<string, unknown>;

function isRow(value: unknown): value is Row {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function csvCell(value: unknown): string {
  const text = value === null || value === undefined ? '' : typeof value === 'object' ? JSON.stringify(value) : String(value);
  // Quoted when needed (RFC 4180); a leading = + - @ is kept from being read as a formula.
  const safe = /^[=+\-@]/.test(text) ? `'${text}` : text;
  return /[",\r\n]/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
}

export function outputFile(run: RunView, baseName: string): FileAttachment {
  const records = run.streams ?? [];
  const outputs = records.filter((record) => record.stream === 'output');
  const rows = outputs.map((record) => record.data);
  if (outputs.length > 0 && rows.every(isRow)) {
    const keys = Object.keys(rows[0] as Row);
    const sameShape = keys.length > 0 && rows.every((row) => Object.keys(row as Row).join('\u0000') === keys.join('\u0000'));
    if (sameShape) {
      const lines = [keys.map(csvCell).join(','), ...rows.map((row) => keys.map((key) => csvCell((row as Row)[key])).join(','))];
      return { name: `${baseName}.csv`, contentType: 'text/csv', content: `${lines.join('\r\n')}\r\n` };
    }
    return { name: `${baseName}.json`, contentType: 'application/json', content: `${JSON.stringify(rows, null, 2)}\n` };
  }
  const text = records.map((record) => (record.stream === 'output' ? record.text : `[${record.stream}] ${record.text}`)).join('\n');
  return { name: `${baseName}.txt`, contentType: 'text/plain', content: text };
}
