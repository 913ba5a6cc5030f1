import assert from 'node:assert/strict';
import { MASK } from '../../../executor/contract/index.ts';
import { RecordCollector } from '../../../executor/pwsh/collector.ts';
import { createMasker, secretValues } from '../../../executor/pwsh/mask.ts';
import { LineSplitter, newFrameKey, parseLine } from '../../../executor/pwsh/protocol.ts';
import { summarize } from '../../../executor/pwsh/summary.ts';
import type { StoredRecord } from '../../../executor/store/port.ts';

describe('pwsh runner parts', () => {
  describe('protocol lines', () => {
    const key = newFrameKey();

    it('reads a keyed frame, and keeps text written before the key on the same line', () => {
      assert.match(key, /^[0-9a-f]{32}$/);
      assert.deepEqual(parseLine(`${key}{"t":"started","id":"r1"}`, key), { frame: { t: 'started', id: 'r1' } });
      assert.deepEqual(parseLine(`partial${key}{"t":"started","id":"r1"}`, key), { plainText: 'partial', frame: { t: 'started', id: 'r1' } });
    });

    it('treats a frame with another key, or none, as plain text', () => {
      const forged = `${newFrameKey()}{"t":"end","id":"r1","succeeded":true,"hadErrors":false,"terminated":false,"exitCode":0,"clean":true}`;
      assert.deepEqual(parseLine(forged, key), { plainText: forged });
      assert.deepEqual(parseLine('{"t":"rec","s":"error","text":"x"}', key), { plainText: '{"t":"rec","s":"error","text":"x"}' });
    });

    it('shows a damaged keyed frame as text without the key', () => {
      assert.deepEqual(parseLine(`${key}{"t":"rec","s":"nope"`, key), { plainText: '{"t":"rec","s":"nope"' });
    });

    it('splits lines across chunks and hands on over-long lines in pieces', () => {
      const lines: string[] = [];
      const splitter = new LineSplitter((line) => lines.push(line), 5);
      splitter.push('ab');
      splitter.push('c\r\nde');
      splitter.push('fghijkl');
      splitter.flush();
      assert.deepEqual(lines, ['abc', 'defgh', 'ijkl']);
    });
  });

  describe('masking', () => {
    it('masks every secret in text, data values and keys, longest first', () => {
      const mask = createMasker(['pw', 'pw-long', '']);
      const masked = mask({ stream: 'output', text: 'a pw-long b pw', data: { pw: ['x pw', { deep: 'pw-long' }], n: 3 } });
      assert.deepEqual(masked, { stream: 'output', text: `a ${MASK} b ${MASK}`, data: { [MASK]: [`x ${MASK}`, { deep: MASK }], n: 3 } });
    });

    it('masks a secret that a line break split inside one record', () => {
      const mask = createMasker(['S3cr3t.V4lue']);
      assert.equal(mask({ stream: 'error', text: 'failed: S3cr3t\n    .V4lue!' }).text, `failed: ${MASK}!`);
    });

    it('treats regular-expression characters in secrets literally', () => {
      const mask = createMasker(['a.c']);
      assert.equal(mask({ stream: 'output', text: 'abc a.c' }).text, `abc ${MASK}`);
    });

    it('collects secret parameter values, credential passwords and extra values', () => {
      const values = secretValues({ Pw: 'one', Cred: { username: 'bob', password: 'two' }, Plain: 'three' }, ['Pw', 'Cred'], ['four']);
      assert.deepEqual(values.sort(), ['four', 'one', 'two']);
    });
  });

  describe('record caps', () => {
    it('keeps records up to the record cap and adds a note that the output was cut', () => {
      const seen: StoredRecord[] = [];
      const collector = new RecordCollector({ maxOutputBytes: 1000, maxRecords: 3 }, createMasker(['sec']), (record) => seen.push(record));
      for (let index = 0; index < 6; index += 1) collector.add({ stream: 'output', text: `line ${index} sec` });
      const records = collector.records();
      assert.equal(collector.truncated, true);
      assert.deepEqual(records.slice(0, 3).map((record) => record.text), ['line 0 ********', 'line 1 ********', 'line 2 ********']);
      assert.equal(records.length, 4);
      assert.match(records[3]?.text ?? '', /cut at the limit of 3 records.*3 further/);
      assert.equal(seen.length, 3);
    });

    it('counts text and data bytes against the byte cap', () => {
      const collector = new RecordCollector({ maxOutputBytes: 20, maxRecords: 100 }, createMasker([]));
      collector.add({ stream: 'output', text: '0123456789' });
      collector.add({ stream: 'output', text: 'x', data: { long: 'abcdefghij' } });
      assert.equal(collector.truncated, true);
      assert.deepEqual(collector.records().map((record) => record.stream), ['output', 'warning']);
    });
  });

  describe('summarize', () => {
    it('gives the last ten output lines (the end, where a tail or a result is), the count, and one line per error and warning', () => {
      const records: StoredRecord[] = [
        ...Array.from({ length: 12 }, (_, index) => ({ stream: 'output' as const, text: `line ${index}` })),
        { stream: 'output', text: 'two\nlines' },
        { stream: 'error', text: '\nfirst error\nmore detail' },
        { stream: 'warning', text: 'careful' },
        { stream: 'verbose', text: 'chatter' },
      ];
      const summary = summarize(records, false, 1);
      assert.deepEqual(summary.lines, [...Array.from({ length: 8 }, (_, index) => `line ${index + 4}`), 'two', 'lines']);
      assert.equal(summary.outputLineCount, 14);
      assert.deepEqual(summary.errors, ['first error']);
      assert.deepEqual(summary.warnings, ['careful']);
      assert.equal(summary.table, undefined);
      assert.equal(summary.exitCode, 1);
      assert.equal(summary.truncated, false);
    });

    it('makes a table of the last 10 rows (and says how many there were) and 6 columns when all objects share their properties', () => {
      const row = (index: number): StoredRecord => ({
        stream: 'output',
        text: `@{...}`,
        data: { A: index, B: `b${index}`, C: true, D: null, E: { x: 1 }, F: 'f', G: 'dropped' },
      });
      const summary = summarize(Array.from({ length: 12 }, (_, index) => row(index)), true, 0);
      assert.deepEqual(summary.table?.columns, ['A', 'B', 'C', 'D', 'E', 'F']);
      assert.equal(summary.table?.rows.length, 10);
      assert.equal(summary.rowCount, 12);
      assert.deepEqual(summary.table?.rows[1], ['3', 'b3', 'true', '', '{"x":1}', 'f']);
      assert.equal(summary.truncated, true);
    });

    it('makes no table when the objects differ or some output is text', () => {
      const differ = summarize([
        { stream: 'output', text: 'a', data: { A: 1 } },
        { stream: 'output', text: 'b', data: { B: 1 } },
      ], false, 0);
      assert.equal(differ.table, undefined);
      const mixed = summarize([
        { stream: 'output', text: 'a', data: { A: 1 } },
        { stream: 'output', text: 'plain' },
      ], false, 0);
      assert.equal(mixed.table, undefined);
    });
  });
});
