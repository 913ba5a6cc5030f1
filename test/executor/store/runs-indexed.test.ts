import assert from 'node:assert/strict';
import { appendFile, cp, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ManualClock } from '../../../lib/clock.ts';
import { createLogger, silentLogger, type Logger } from '../../../lib/logger.ts';
import { createFileStore } from '../../../executor/store/file.ts';
import { INLINE_OUTPUT_BYTES, IndexedFileRuns } from '../../../executor/store/runs-indexed.ts';
import { runFixture } from './fixtures.ts';

describe('file runs with a checkpointed index', () => {
  let folder: string;

  beforeEach(async () => {
    folder = await mkdtemp(join(tmpdir(), 'deputy-indexed-'));
  });

  afterEach(async () => {
    await rm(folder, { recursive: true, force: true });
  });

  const open = (dir = folder, logger: Logger = silentLogger(), checkpointEvery = 10) =>
    IndexedFileRuns.open({ path: join(dir, 'runs.jsonl'), indexDir: join(dir, 'runs-index'), outputDir: join(dir, 'output'), logger, checkpointEvery, replayChunk: 7 });

  async function createRuns(runs: IndexedFileRuns, from: number, to: number): Promise<void> {
    for (let n = from; n < to; n += 1) {
      await runs.create(runFixture(`run_${n}`, { principalId: n % 3 === 0 ? 'casey' : 'alex' }));
      if (n % 2 === 0) await runs.transition(`run_${n}`, 'queued', runFixture(`run_${n}`, { principalId: n % 3 === 0 ? 'casey' : 'alex', state: 'succeeded' }));
    }
  }

  /** What a crash at this moment leaves on disk: a copy of the folder while the store is still open. */
  async function crashCopy(): Promise<string> {
    const copy = await mkdtemp(join(tmpdir(), 'deputy-indexed-crash-'));
    await cp(folder, copy, { recursive: true });
    return copy;
  }

  async function expectRuns(runs: IndexedFileRuns, count: number): Promise<void> {
    const all = await runs.list({ limit: 10_000 });
    assert.deepEqual(
      all.map((run) => run.id),
      Array.from({ length: count }, (_, index) => `run_${count - 1 - index}`),
    );
    assert.deepEqual(
      (await runs.unfinished()).map((run) => run.id),
      Array.from({ length: count }, (_, n) => n).filter((n) => n % 2 === 1).map((n) => `run_${n}`),
    );
    assert.deepEqual(
      (await runs.list({ limit: 3, principal: 'casey', state: 'succeeded' })).map((run) => run.id),
      Array.from({ length: count }, (_, n) => count - 1 - n).filter((n) => n % 6 === 0).slice(0, 3).map((n) => `run_${n}`),
    );
    assert.equal((await runs.get('run_0'))?.state, 'succeeded');
  }

  it("keeps a small output in its run's final line (one flush, no file), a large one in its file first; both read back from memory and from the index", async () => {
    const runs = await open(folder, silentLogger(), 2);
    const small = [{ stream: 'output' as const, text: 'done' }];
    const large = [{ stream: 'output' as const, text: 'y'.repeat(INLINE_OUTPUT_BYTES) }];
    for (const [id, output] of [['run_small', small], ['run_large', large]] as const) {
      await runs.create(runFixture(id, { state: 'running' }));
      await runs.transition(id, 'running', runFixture(id, { state: 'succeeded' }), { output: [...output] });
    }
    const lines = (await readFile(join(folder, 'runs.jsonl'), 'utf8')).trim().split('\n').map((line) => JSON.parse(line) as { id: string; output?: unknown });
    assert.deepEqual(lines.find((line) => line.id === 'run_small' && line.output !== undefined)?.output, small);
    assert.equal(lines.some((line) => line.id === 'run_large' && line.output !== undefined), false);
    assert.deepEqual(await readdir(join(folder, 'output')), ['run_large.jsonl']);
    assert.deepEqual(await runs.readOutput('run_small'), small);
    // More runs, so that a checkpoint moves the two out of memory into the index files.
    await createRuns(runs, 0, 6);
    assert.deepEqual(await runs.readOutput('run_small'), small);
    assert.deepEqual(await runs.readOutput('run_large'), large);
    assert.deepEqual(await runs.readOutput('run_0'), []);
    await runs.close();
  });

  it('opens without reading the runs behind its last checkpoint', async () => {
    const runs = await open();
    await createRuns(runs, 0, 50);
    await runs.close();
    const reopened = await open();
    assert.equal(reopened.replayedLines, 0);
    await expectRuns(reopened, 50);
    await createRuns(reopened, 50, 60);
    await reopened.close();
    const again = await open();
    assert.equal(again.replayedLines, 0);
    await expectRuns(again, 60);
    await again.close();
  });

  it('after a crash, replays only what was written after the last checkpoint', async () => {
    const runs = await open(folder, silentLogger(), 1000);
    await createRuns(runs, 0, 20);
    await runs.checkpoint();
    await createRuns(runs, 20, 25);
    const copy = await crashCopy();
    await runs.close();
    try {
      const recovered = await open(copy, silentLogger(), 1000);
      // runs 20..24: five creations and three of them finished.
      assert.equal(recovered.replayedLines, 8);
      await expectRuns(recovered, 25);
      await recovered.close();
    } finally {
      await rm(copy, { recursive: true, force: true });
    }
  });

  it('drops a torn last line and cuts back index lines of a checkpoint that never finished', async () => {
    const runs = await open();
    await createRuns(runs, 0, 30);
    await runs.close();
    await appendFile(join(folder, 'runs.jsonl'), '{"id":"run_torn","sta');
    const idFiles = await readFile(join(folder, 'runs-index', 'checkpoint.json'), 'utf8').then((text) => Object.keys((JSON.parse(text) as { sizes: object }).sizes));
    const victim = idFiles.find((file) => file.startsWith('ids/')) as string;
    await appendFile(join(folder, 'runs-index', victim), 'run_ghost\t0\t10\n');
    const warnings: string[] = [];
    const logger = createLogger({ level: 'warn', destination: { write: (line: string) => void warnings.push(line) } });
    const reopened = await open(folder, logger);
    assert.match(warnings.join(''), /incomplete last line/);
    assert.equal(await reopened.get('run_ghost'), undefined);
    await expectRuns(reopened, 30);
    await reopened.create(runFixture('run_30'));
    await reopened.close();
    assert.ok((await readFile(join(folder, 'runs.jsonl'), 'utf8')).endsWith('}\n'));
  });

  it('rebuilds a missing or damaged index from runs.jsonl, also one FileRuns wrote', async () => {
    const clock = new ManualClock(Date.UTC(2026, 2, 1));
    const legacy = await createFileStore({ dataDir: folder, clock, logger: silentLogger() });
    for (let n = 0; n < 25; n += 1) {
      await legacy.runs.put(runFixture(`run_${n}`, { principalId: n % 3 === 0 ? 'casey' : 'alex' }));
      if (n % 2 === 0) await legacy.runs.put(runFixture(`run_${n}`, { principalId: n % 3 === 0 ? 'casey' : 'alex', state: 'succeeded' }));
    }
    await legacy.close();
    // Rebuilding flushes the index as it goes (every 7 lines here), so a long history never sits in memory.
    const rebuilt = await open();
    assert.equal(rebuilt.replayedLines, 38);
    await expectRuns(rebuilt, 25);
    await rebuilt.close();
    await writeFile(join(folder, 'runs-index', 'checkpoint.json'), '{"format":1,"logBytes":');
    const again = await open();
    assert.equal(again.replayedLines, 38);
    await expectRuns(again, 25);
    await again.close();
    assert.equal((await open().then(async (runs) => [runs.replayedLines, await runs.close()]))[0], 0);
  });

  it('refuses a damaged line in the middle of the history, naming where', async () => {
    const runs = await open();
    await createRuns(runs, 0, 3);
    await runs.close();
    await rm(join(folder, 'runs-index'), { recursive: true });
    const text = await readFile(join(folder, 'runs.jsonl'), 'utf8');
    const lines = text.split('\n');
    lines[1] = '{"id":"run_1",';
    await writeFile(join(folder, 'runs.jsonl'), lines.join('\n'));
    await assert.rejects(open(), /damaged at byte \d+ of .*runs\.jsonl/);
  });
});
