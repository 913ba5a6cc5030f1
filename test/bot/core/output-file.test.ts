/** The full output as a file: text as text, objects as CSV (one shape) or JSON (several). */
import { strict as assert } from 'node:assert';
import { outputFile } from '../../../bot/core/output-file.ts';
import { RunViewSchema, type RunView } from '../../../executor/contract/index.ts';

function run(streams: RunView['streams']): RunView {
  return RunViewSchema.parse({
    id: 'run_1', actionId: 'log', actionTitle: 'Read a log', principalId: 'alex', state: 'succeeded', inputs: {}, origin: { kind: 'api' },
    correlationId: 'c', scriptHash: 'h', createdAt: '2026-01-01T00:00:00Z', updatedAt: '2026-01-01T00:00:00Z', streams,
  });
}

describe('bot core: the output file', () => {
  it('gives objects of one shape as CSV, quoted where needed and safe from formulas', () => {
    const file = outputFile(run([
      { stream: 'output', text: '@{Log=dpkg; Line=1; Text=a, b}', data: { Log: 'dpkg', Line: 1, Text: 'a, b' } },
      { stream: 'output', text: '@{Log=dpkg; Line=2; Text==cmd|calc}', data: { Log: 'dpkg', Line: 2, Text: '=cmd|calc' } },
      { stream: 'warning', text: 'partial' },
    ]), 'log-run_1');
    assert.equal(file.name, 'log-run_1.csv');
    assert.equal(file.contentType, 'text/csv');
    assert.equal(file.content, 'Log,Line,Text\r\ndpkg,1,"a, b"\r\ndpkg,2,\'=cmd|calc\r\n');
    assert.ok(!file.content.includes('@{'), 'no PowerShell object notation');
  });

  it('gives objects of several shapes as JSON', () => {
    const file = outputFile(run([
      { stream: 'output', text: '@{A=1}', data: { A: 1 } },
      { stream: 'output', text: '@{B=2}', data: { B: 2 } },
    ]), 'x');
    assert.equal(file.name, 'x.json');
    assert.deepEqual(JSON.parse(file.content), [{ A: 1 }, { B: 2 }]);
  });

  it('gives text as text, other streams marked', () => {
    const file = outputFile(run([
      { stream: 'output', text: 'line 1' },
      { stream: 'error', text: 'oops' },
      { stream: 'output', text: 'line 2' },
    ]), 'x');
    assert.equal(file.name, 'x.txt');
    assert.equal(file.content, 'line 1\n[error] oops\nline 2');
  });
});
