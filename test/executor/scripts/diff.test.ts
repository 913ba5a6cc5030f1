import assert from 'node:assert/strict';
import { unifiedDiff } from '../../../executor/scripts/diff.ts';

const lines = (count: number, prefix = 'line') => Array.from({ length: count }, (_, i) => `${prefix} ${i + 1}`);

describe('unified line diff', () => {
  it('gives nothing for equal texts, and ignores a missing final newline', () => {
    assert.deepEqual(unifiedDiff('a\nb\n', 'a\nb\n'), { lines: [], truncated: false });
    assert.deepEqual(unifiedDiff('a\nb', 'a\nb\n').lines, []);
  });

  it('shows a new script as all added, against an empty side', () => {
    assert.deepEqual(unifiedDiff('', 'x\ny\n', { oldLabel: 'none', newLabel: 'new' }).lines, ['--- none', '+++ new', '@@ -0,0 +1,2 @@', '+x', '+y']);
  });

  it('writes hunks like diff -u: three lines of context, removals before additions, separate hunks far apart', () => {
    const before = lines(20);
    const after = [...before];
    after[1] = 'changed 2';
    after.splice(15, 1);
    const diff = unifiedDiff(before.join('\n'), after.join('\n'));
    assert.deepEqual(diff.lines, [
      '--- a',
      '+++ b',
      '@@ -1,5 +1,5 @@',
      ' line 1',
      '-line 2',
      '+changed 2',
      ' line 3',
      ' line 4',
      ' line 5',
      '@@ -13,7 +13,6 @@',
      ' line 13',
      ' line 14',
      ' line 15',
      '-line 16',
      ' line 17',
      ' line 18',
      ' line 19',
    ]);
  });

  it('keeps the lines both texts share inside a changed middle', () => {
    const diff = unifiedDiff('a\nb\nc\nd\ne\n', 'a\nc\nx\nd\ne\n', { context: 0 });
    assert.deepEqual(diff.lines.slice(2), ['@@ -2 +1,0 @@', '-b', '@@ -3,0 +3 @@', '+x']);
  });

  it('cuts a long diff and says so', () => {
    const diff = unifiedDiff('', lines(1000).join('\n'), { maxLines: 50 });
    assert.equal(diff.lines.length, 50);
    assert.equal(diff.truncated, true);
  });

  it('stays correct (remove all, add all) when more lines changed than the edit search takes on', () => {
    const diff = unifiedDiff(lines(3000, 'old').join('\n'), lines(3000, 'new').join('\n'), { maxLines: 10_000 });
    assert.equal(diff.lines.filter((line) => line.startsWith('-old')).length, 3000);
    assert.equal(diff.lines.filter((line) => line.startsWith('+new')).length, 3000);
    assert.equal(diff.lines[2], '@@ -1,3000 +1,3000 @@');
  });
});
