/** Replaces secret values with MASK in record text and data, before a record leaves the runner. */
import { MASK } from '../contract/index.ts';
import type { StoredRecord } from '../store/port.ts';

export type Masker = (record: StoredRecord) => StoredRecord;

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/**
 * A pattern for one secret that also matches it when a line break (and indentation) was put
 * inside it, as wrapped error messages and formatted tables do.
 */
function secretPattern(secret: string): string {
  return Array.from(secret, escapeRegExp).join('(?:\\r?\\n[ \\t]*)?');
}

export function createMasker(secrets: readonly string[]): Masker {
  // Longest first, so a secret that contains another is masked whole.
  const values = [...new Set(secrets.filter((secret) => secret.length > 0))].sort((a, b) => b.length - a.length);
  if (values.length === 0) return (record) => record;
  const pattern = new RegExp(values.map(secretPattern).join('|'), 'g');
  const maskText = (text: string): string => text.replace(pattern, MASK);
  const maskData = (value: unknown): unknown => {
    if (typeof value === 'string') return maskText(value);
    if (Array.isArray(value)) return value.map(maskData);
    if (value !== null && typeof value === 'object') {
      return Object.fromEntries(Object.entries(value).map(([key, inner]) => [maskText(key), maskData(inner)]));
    }
    return value;
  };
  return (record) => {
    const masked: StoredRecord = { stream: record.stream, text: maskText(record.text) };
    if (record.data !== undefined) masked.data = maskData(record.data);
    return masked;
  };
}

/** Every value that must never leave the runner: secret parameters (PSCredential passwords), plus extra values. */
export function secretValues(parameters: Record<string, unknown>, secretNames: readonly string[], extra: readonly string[] = []): string[] {
  const values = [...extra];
  for (const name of secretNames) {
    const value = parameters[name];
    if (typeof value === 'string') values.push(value);
    else if (value !== null && typeof value === 'object' && 'password' in value && typeof value.password === 'string') values.push(value.password);
  }
  return values;
}
