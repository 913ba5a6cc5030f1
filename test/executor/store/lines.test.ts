import assert from 'node:assert/strict';
import { mkdtemp, open, rm, writeFile, type FileHandle } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readLinesBefore, readTail, scanLines, type Line } from '../../../executor/store/lines.ts';

describe('store line reading', () => {
  let folder: string;
  before(async () => {
    folder = await mkdtemp(join(tmpdir(), 'deputy-lines-'));
  });
  after(async () => {
    await rm(folder, { recursive: true, force: true });
  });

  async function withFile<T>(name: string, text: string, use: (handle: FileHandle, size: number) => Promise<T>): Promise<T> {
    const path = join(folder, name);
    await writeFile(path, text);
    const handle = await open(path, 'r');
    try {
      return await use(handle, Buffer.byteLength(text));
    } finally {
      await handle.close();
    }
  }

  async function scan(text: string): Promise<Line[]> {
    return withFile('scan.jsonl', text, async (handle) => {
      const lines: Line[] = [];
      await scanLines(handle, (line) => void lines.push(line));
      return lines;
    });
  }

  it('reads lines longer than a chunk, and characters split across chunks, exactly', async () => {
    // 1 MB chunks: put a 3-byte character right across the first boundary, and a 2.5 MB line.
    const first = `${'a'.repeat((1 << 20) - 1)}€b`;
    const long = 'ü'.repeat(1_300_000);
    const lines = await scan(`${first}\nshort\n${long}\n\nlast`);
    assert.deepEqual(
      lines.map((line) => [line.number, line.text.length, line.terminated]),
      [
        [1, first.length, true],
        [2, 5, true],
        [3, long.length, true],
        [4, 0, true],
        [5, 4, false],
      ],
    );
    assert.equal(lines[0]!.text, first);
    assert.equal(lines[2]!.text, long);
    assert.equal(lines[1]!.start, Buffer.byteLength(`${first}\n`));
    assert.equal(lines[4]!.start, Buffer.byteLength(`${first}\nshort\n${long}\n\n`));
  });

  it('stops when asked and honours an end offset', async () => {
    const seen: string[] = [];
    await withFile('stop.jsonl', 'a\nb\nc\n', async (handle) => {
      await scanLines(handle, (line) => {
        seen.push(line.text);
        return line.text !== 'b';
      });
      const upToB: string[] = [];
      await scanLines(handle, (line) => void upToB.push(line.text), 4);
      assert.deepEqual(upToB, ['a', 'b']);
    });
    assert.deepEqual(seen, ['a', 'b']);
  });

  it('finds the last whole line and a torn tail from the end', async () => {
    const big = 'x'.repeat(200_000);
    assert.deepEqual(
      await withFile('tail1', `one\n${big}\n`, readTail),
      { lastLine: { text: big, start: 4 } },
    );
    assert.deepEqual(
      await withFile('tail2', `one\n${big}\n{"torn`, readTail),
      { lastLine: { text: big, start: 4 }, tornFrom: 4 + big.length + 1 },
    );
    assert.deepEqual(await withFile('tail3', 'only\n', readTail), { lastLine: { text: 'only', start: 0 } });
    assert.deepEqual(await withFile('tail4', 'torn', readTail), { tornFrom: 0 });
    assert.deepEqual(await withFile('tail5', '', readTail), {});
  });

  it('reads pages of lines backwards, whatever their length against the page size', async () => {
    const cases = [
      ['a'],
      ['a', 'b'],
      ['x'.repeat(70_000), 'b', 'c'.repeat(65_535), 'd'.repeat(65_536), 'e'],
      Array.from({ length: 20_000 }, (_, index) => `line ${index} ü`),
    ];
    for (const lines of cases) {
      const text = lines.map((line) => `${line}\n`).join('');
      const read = await withFile('pages', text, async (handle, size) => {
        const got: string[] = [];
        for (let end = size; end > 0; ) {
          const page = await readLinesBefore(handle, end);
          got.push(...page.lines);
          end = page.next;
        }
        return got;
      });
      assert.deepEqual(read, [...lines].reverse());
    }
  });

  it('starts a forward scan at a line start, with byte lengths', async () => {
    const lines = await withFile('from.jsonl', 'aa\nbü\ncc\n', async (handle) => {
      const seen: Line[] = [];
      await scanLines(handle, (line) => void seen.push(line), undefined, 3);
      return seen;
    });
    assert.deepEqual(lines.map((line) => [line.text, line.start, line.bytes]), [['bü', 3, 3], ['cc', 7, 2]]);
  });
});
