/**
 * A query's answer as choices: `$SRXEnv.ResultList` (values) with `ResultList2` (display texts),
 * else its output, where a string is a choice and an object gives its `Value` and `Title`.
 */
import { MAX_CHOICES, type Choice } from '../contract/index.ts';
import type { SrxResult } from '../pwsh/srx.ts';
import type { StoredRecord } from '../store/port.ts';

export function choicesFromOutput(records: readonly StoredRecord[], srx?: SrxResult): Choice[] {
  const found: Choice[] = [];
  if (srx && (srx.list.length > 0 || srx.list2.length > 0)) {
    const count = Math.max(srx.list.length, srx.list2.length);
    for (let index = 0; index < count; index++) {
      const value = srx.list[index] || srx.list2[index] || '';
      found.push({ value, title: srx.list2[index] || value });
    }
  } else {
    for (const record of records) if (record.stream === 'output' && record.attachment === undefined) found.push(choiceOf(record));
  }
  const seen = new Set<string>();
  return found.filter((choice) => {
    if (choice.value.trim() === '' || seen.has(choice.value)) return false;
    seen.add(choice.value);
    return true;
  });
}

function choiceOf(record: StoredRecord): Choice {
  const data = record.data;
  if (data !== null && typeof data === 'object' && !Array.isArray(data)) {
    const entries = Object.entries(data as Record<string, unknown>);
    const pick = (name: string) => entries.find(([key]) => key.toLowerCase() === name)?.[1];
    const value = pick('value');
    if (value !== undefined && value !== null) {
      const title = pick('title');
      return { value: String(value), title: title === undefined || title === null || title === '' ? String(value) : String(title) };
    }
  }
  return { value: record.text, title: record.text };
}

/** What the user typed narrows the list (value or title, ignoring case); at most MAX_CHOICES go back. */
export function filterChoices(choices: readonly Choice[], search: string | undefined): Choice[] {
  const needle = search?.trim().toLowerCase();
  const matching = needle ? choices.filter((choice) => choice.title.toLowerCase().includes(needle) || choice.value.toLowerCase().includes(needle)) : choices;
  return matching.slice(0, MAX_CHOICES);
}
