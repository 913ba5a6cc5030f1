import assert from 'node:assert/strict';
import { appendFile, mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ManualClock } from '../../../lib/clock.ts';
import { createLogger, silentLogger, type Logger } from '../../../lib/logger.ts';
import { isDeputyError } from '../../../executor/contract/index.ts';
import { createFileStore, openFileExecutorStore, verifyAuditFile, type FileStore } from '../../../executor/store/file.ts';
import { catalogFixture, runFixture } from './fixtures.ts';
import { storeSuite } from './suite.ts';

const folders: string[] = [];

async function newDataDir(): Promise<string> {
  const parent = await mkdtemp(join(tmpdir(), 'deputy-store-'));
  folders.push(parent);
  // A folder the store creates itself, so its mode is the store's doing.
  return join(parent, 'data');
}

after(async () => {
  await Promise.all(folders.map((folder) => rm(folder, { recursive: true, force: true })));
});

storeSuite('file', async (clock) => createFileStore({ dataDir: await newDataDir(), clock, logger: silentLogger() }));

function capturingLogger(): { logger: Logger; lines: () => Array<{ level: number; msg: string; path?: string }> } {
  const written: string[] = [];
  const logger = createLogger({ level: 'warn', destination: { write: (line: string) => void written.push(line) } });
  return { logger, lines: () => written.map((line) => JSON.parse(line) as { level: number; msg: string; path?: string }) };
}

describe('file store', () => {
  let dataDir: string;
  let clock: ManualClock;
  const open = (logger: Logger = silentLogger()): Promise<FileStore> => createFileStore({ dataDir, clock, logger });
  const auditInput = (n: number) => ({ type: 'policy.decision', outcome: 'allowed' as const, correlationId: `corr-${n}`, actor: 'alex', detail: { n, note: `entry ${n}` } });

  beforeEach(async () => {
    dataDir = await newDataDir();
    clock = new ManualClock(Date.UTC(2026, 2, 1));
  });

  async function auditLines(): Promise<string[]> {
    return (await readFile(join(dataDir, 'audit.jsonl'), 'utf8')).split('\n').filter((line) => line !== '');
  }

  async function writeAuditLines(lines: string[]): Promise<void> {
    await writeFile(join(dataDir, 'audit.jsonl'), lines.map((line) => `${line}\n`).join(''));
  }

  async function storeWithAudit(count: number): Promise<void> {
    const store = await open();
    for (let n = 1; n <= count; n += 1) await store.audit.append(auditInput(n));
    await store.close();
  }

  describe('reopening', () => {
    it('restores the catalog, the runs and their order', async () => {
      const first = await open();
      await first.catalog.replace(catalogFixture());
      await first.runs.put(runFixture('run_a', { state: 'queued' }));
      await first.runs.put(runFixture('run_b', { state: 'running', principalId: 'casey' }));
      await first.runs.put(runFixture('run_a', { state: 'succeeded' }));
      await first.runs.writeOutput('run_a', [{ stream: 'output', text: 'done' }]);
      await first.close();

      const second = await open();
      assert.deepEqual(second.catalog.snapshot(), catalogFixture());
      assert.equal(second.catalog.findPrincipalByIdentity({ channel: 'slack', teamId: 'T1', userId: 'U1' })?.id, 'alex');
      assert.equal(second.runs.get('run_a')?.state, 'succeeded');
      assert.deepEqual(second.runs.list({ limit: 10 }).map((run) => run.id), ['run_b', 'run_a']);
      assert.deepEqual(second.runs.unfinished().map((run) => run.id), ['run_b']);
      assert.deepEqual(await second.runs.readOutput('run_a'), [{ stream: 'output', text: 'done' }]);
      await second.close();
    });

    it('opens a folder createFileStore wrote as the executor store on indexed runs: indexed once, then no history is read at start-up', async () => {
      const first = await open();
      await first.catalog.replace(catalogFixture());
      for (let index = 0; index < 30; index += 1) await first.runs.put(runFixture(`run_${index}`, { state: index === 29 ? 'running' : 'succeeded' }));
      await first.audit.append(auditInput(1));
      await first.close();

      const indexed = await openFileExecutorStore({ dataDir, clock, logger: silentLogger(), checkpointEvery: 10 });
      assert.equal(indexed.runs.replayedLines, 30, 'the first open reads runs.jsonl once to build the index');
      assert.equal(indexed.catalog.findPrincipalByIdentity({ channel: 'slack', teamId: 'T1', userId: 'U1' })?.id, 'alex');
      assert.equal((await indexed.runs.get('run_3'))?.state, 'succeeded');
      assert.deepEqual((await indexed.runs.unfinished()).map((run) => run.id), ['run_29']);
      await indexed.runs.transition('run_29', 'running', runFixture('run_29', { state: 'succeeded' }));
      await indexed.audit.append(auditInput(2));
      await indexed.close();

      const again = await openFileExecutorStore({ dataDir, clock, logger: silentLogger(), checkpointEvery: 10 });
      assert.equal(again.runs.replayedLines, 0, 'closing checkpointed everything: nothing to replay');
      assert.deepEqual((await again.runs.list({ limit: 3 })).map((run) => run.id), ['run_29', 'run_28', 'run_27']);
      assert.deepEqual(await again.runs.unfinished(), []);
      assert.deepEqual(await again.audit.verify(), { ok: true, count: 2 });
      await again.close();
    });

    it('appends a line per put and never rewrites the run history', async () => {
      const store = await open();
      await store.runs.put(runFixture('run_a'));
      const before = await readFile(join(dataDir, 'runs.jsonl'), 'utf8');
      await store.runs.put(runFixture('run_a', { state: 'running' }));
      const after = await readFile(join(dataDir, 'runs.jsonl'), 'utf8');
      await store.close();
      assert.ok(after.startsWith(before));
      assert.equal(after.split('\n').filter(Boolean).length, 2);
      assert.equal(JSON.parse(after.split('\n')[1]!).state, 'running');
    });

    it('continues the audit chain where it ended', async () => {
      await storeWithAudit(3);
      const store = await open();
      const [last] = await store.audit.read({ limit: 1 });
      const next = await store.audit.append(auditInput(4));
      assert.equal(next.seq, 4);
      assert.equal(next.prevHash, last?.hash);
      assert.deepEqual(await store.audit.verify(), { ok: true, count: 4 });
      await store.close();
      assert.deepEqual(await verifyAuditFile(join(dataDir, 'audit.jsonl')), { ok: true, count: 4 });
    });
  });

  describe('crash tolerance', () => {
    it('drops a torn last run line with a warning and keeps the rest', async () => {
      const store = await open();
      await store.runs.put(runFixture('run_a'));
      await store.runs.put(runFixture('run_b'));
      await store.close();
      const half = JSON.stringify(runFixture('run_c')).slice(0, 40);
      await appendFile(join(dataDir, 'runs.jsonl'), half);

      const { logger, lines } = capturingLogger();
      const reopened = await open(logger);
      assert.deepEqual(reopened.runs.list({ limit: 10 }).map((run) => run.id), ['run_b', 'run_a']);
      assert.ok(lines().some((line) => line.level === 40 && /incomplete last line of the run history/.test(line.msg)));
      // The next record starts on a clean line, so a later open reads it.
      await reopened.runs.put(runFixture('run_d'));
      await reopened.close();
      const again = await open();
      assert.deepEqual(again.runs.list({ limit: 10 }).map((run) => run.id), ['run_d', 'run_b', 'run_a']);
      await again.close();
    });

    it('reads an output file a crash cut short up to its last whole line, and refuses one damaged in the middle', async () => {
      const store = await open();
      const path = join(dataDir, 'output', 'run_cut.jsonl');
      // What a crash leaves when it comes while a run's output is being written (before its final state).
      await writeFile(path, `${JSON.stringify({ stream: 'output', text: 'one' })}\n${JSON.stringify({ stream: 'output', text: 'two' }).slice(0, 12)}`);
      assert.deepEqual(await store.runs.readOutput('run_cut'), [{ stream: 'output', text: 'one' }]);
      await writeFile(path, `{"stream":"out\n${JSON.stringify({ stream: 'output', text: 'two' })}\n`);
      await assert.rejects(store.runs.readOutput('run_cut'), (error: unknown) => isDeputyError(error) && /damaged/.test(error.detail ?? ''));
      await store.close();
    });

    it('writes a run\'s output under its own name, and replaces it whole when written again', async () => {
      const store = await open();
      await store.runs.writeOutput('run_a', [{ stream: 'output', text: 'first' }, { stream: 'output', text: 'second' }]);
      await store.runs.writeOutput('run_a', [{ stream: 'error', text: 'again' }]);
      assert.deepEqual(await store.runs.readOutput('run_a'), [{ stream: 'error', text: 'again' }]);
      assert.deepEqual(await readdir(join(dataDir, 'output')), ['run_a.jsonl']);
      await store.close();
    });

    it('drops a torn last audit line and continues the chain from the last whole entry', async () => {
      await storeWithAudit(2);
      await appendFile(join(dataDir, 'audit.jsonl'), '{"seq":3,"at":"2026');
      assert.deepEqual(await verifyAuditFile(join(dataDir, 'audit.jsonl')), {
        ok: false,
        count: 2,
        brokenAt: 3,
        reason: 'line 3 is incomplete (a write was cut off)',
      });
      const { logger, lines } = capturingLogger();
      const store = await open(logger);
      assert.ok(lines().some((line) => /incomplete last line of the audit log/.test(line.msg)));
      assert.equal((await store.audit.append(auditInput(3))).seq, 3);
      assert.deepEqual(await store.audit.verify(), { ok: true, count: 3 });
      await store.close();
    });

    it('refuses to open a run history damaged in the middle, naming the file and line', async () => {
      const store = await open();
      await store.runs.put(runFixture('run_a'));
      await store.runs.put(runFixture('run_b'));
      await store.close();
      const path = join(dataDir, 'runs.jsonl');
      const lines = (await readFile(path, 'utf8')).split('\n');
      lines[0] = '{"id": "run_a", "state": ';
      await writeFile(path, lines.join('\n'));
      await assert.rejects(open(), (error: unknown) => isDeputyError(error) && error.message.includes(path) && error.message.includes('line 1'));
    });

    it('refuses to open a damaged catalog file, naming it', async () => {
      const first = await open();
      await first.catalog.replace(catalogFixture());
      await first.close();
      const path = join(dataDir, 'catalog.json');
      const saved = JSON.parse(await readFile(path, 'utf8')) as { tenants: Array<{ id: unknown }> };
      saved.tenants[0]!.id = 42;
      await writeFile(path, JSON.stringify(saved));
      await assert.rejects(open(), (error: unknown) => isDeputyError(error) && error.message.includes(path) && error.message.includes('tenants.0.id'));
      await writeFile(path, '{"format": 1, "tenants": [');
      await assert.rejects(open(), (error: unknown) => isDeputyError(error) && error.message.includes(path) && /not valid JSON/.test(error.message));
    });
  });

  describe('tamper evidence', () => {
    const path = () => join(dataDir, 'audit.jsonl');

    it('names the entry whose content was edited', async () => {
      await storeWithAudit(6);
      const lines = await auditLines();
      const entry = JSON.parse(lines[3]!) as Record<string, unknown>;
      entry.outcome = 'denied';
      lines[3] = JSON.stringify(entry);
      await writeAuditLines(lines);
      const result = await verifyAuditFile(path());
      assert.deepEqual(result, { ok: false, count: 3, brokenAt: 4, reason: 'entry 4 was changed after it was written (its hash does not match its content)' });
    });

    it('notices a field added to an entry', async () => {
      await storeWithAudit(3);
      const lines = await auditLines();
      lines[1] = lines[1]!.replace(/^\{/, '{"approvedBy":"mallory",');
      await writeAuditLines(lines);
      assert.equal((await verifyAuditFile(path())).ok, false);
      assert.equal((await verifyAuditFile(path()) as { brokenAt: number }).brokenAt, 2);
    });

    it('notices an edited entry whose hash was recomputed, at the next entry', async () => {
      await storeWithAudit(5);
      const store = await open();
      const entries = await store.audit.read();
      await store.close();
      const { hashOf } = await import('../../../executor/store/audit-chain.ts');
      const { hash: _old, ...body } = { ...entries[1]!, actor: 'someone-else' };
      const lines = await auditLines();
      lines[1] = JSON.stringify({ ...body, hash: hashOf(body) });
      await writeAuditLines(lines);
      const result = await verifyAuditFile(path());
      assert.deepEqual(result, { ok: false, count: 2, brokenAt: 3, reason: 'entry 3 does not link to the hash of entry 2 (prevHash differs)' });
    });

    it('names the place of a deleted line', async () => {
      await storeWithAudit(6);
      const lines = await auditLines();
      lines.splice(2, 1);
      await writeAuditLines(lines);
      assert.deepEqual(await verifyAuditFile(path()), {
        ok: false,
        count: 2,
        brokenAt: 3,
        reason: 'line 3 holds entry 4 where entry 3 belongs (a line was deleted, added or moved)',
      });
    });

    it('names the place of two swapped lines', async () => {
      await storeWithAudit(6);
      const lines = await auditLines();
      [lines[4], lines[3]] = [lines[3]!, lines[4]!];
      await writeAuditLines(lines);
      const result = await verifyAuditFile(path());
      assert.equal(result.ok, false);
      assert.equal((result as { brokenAt: number }).brokenAt, 4);
      assert.equal(result.count, 3);
    });

    it('names a line that is not JSON, and a first entry that does not start at genesis', async () => {
      await storeWithAudit(3);
      const lines = await auditLines();
      await writeAuditLines([lines[0]!, 'garbage', lines[2]!]);
      assert.deepEqual(await verifyAuditFile(path()), { ok: false, count: 1, brokenAt: 2, reason: 'line 2 is not valid JSON' });
      const first = JSON.parse(lines[0]!) as Record<string, unknown>;
      await writeAuditLines([JSON.stringify({ ...first, prevHash: 'f'.repeat(64) })]);
      assert.deepEqual(await verifyAuditFile(path()), { ok: false, count: 0, brokenAt: 1, reason: 'entry 1 does not link to the genesis value (prevHash differs)' });
    });

    it('reports tampering through the open store too', async () => {
      const store = await open();
      for (let n = 1; n <= 4; n += 1) await store.audit.append(auditInput(n));
      const lines = await auditLines();
      lines[1] = lines[1]!.replace('"entry 2"', '"entry two"');
      await writeAuditLines(lines);
      const result = await store.audit.verify();
      await store.close();
      assert.equal(result.ok, false);
      assert.equal((result as { brokenAt: number }).brokenAt, 2);
    });

    it('says clearly when there is no audit log', async () => {
      await assert.rejects(verifyAuditFile(join(dataDir, 'nothing.jsonl')), (error: unknown) => isDeputyError(error) && error.code === 'DEPUTY_E_NOT_FOUND');
    });
  });

  describe('files', () => {
    it('creates the data folder 0700 and every file 0600', async () => {
      const store = await open();
      await store.catalog.replace(catalogFixture());
      await store.runs.put(runFixture('run_a'));
      await store.runs.writeOutput('run_a', [{ stream: 'output', text: 'x' }]);
      await store.audit.append(auditInput(1));
      await store.close();
      const mode = async (path: string) => ((await stat(path)).mode & 0o777).toString(8);
      assert.equal(await mode(dataDir), '700');
      assert.equal(await mode(join(dataDir, 'output')), '700');
      for (const file of ['catalog.json', 'runs.jsonl', 'audit.jsonl', 'output/run_a.jsonl']) assert.equal(await mode(join(dataDir, file)), '600', file);
      // No temporary files are left behind by the atomic writes.
      assert.deepEqual((await readdir(dataDir)).sort(), ['audit.jsonl', 'catalog.json', 'output', 'runs.jsonl']);
      assert.deepEqual(await readdir(join(dataDir, 'output')), ['run_a.jsonl']);
    });

    it('writes nothing outside the output folder for a hostile run id', async () => {
      const store = await open();
      for (const id of ['../runs', '../../escape', '/tmp/escape', 'run/../../x']) {
        await assert.rejects(store.runs.writeOutput(id, [{ stream: 'output', text: 'x' }]), (error: unknown) => isDeputyError(error) && error.code === 'DEPUTY_E_BAD_REQUEST');
      }
      await store.close();
      assert.deepEqual(await readdir(join(dataDir, 'output')), []);
      assert.deepEqual((await readdir(join(dataDir, '..'))).sort(), ['data']);
    });

    it('commits concurrent writes in groups, not one disk flush each', async () => {
      const store = await open();
      await Promise.all(Array.from({ length: 200 }, (_, index) => store.runs.put(runFixture(`run_${index}`))));
      await Promise.all(Array.from({ length: 200 }, (_, index) => store.audit.append(auditInput(index))));
      const { runs, audit } = store.syncCounts();
      await store.close();
      assert.ok(runs >= 1 && runs <= 5, `runs synced ${runs} times`);
      assert.ok(audit >= 1 && audit <= 5, `audit synced ${audit} times`);
      const reopened = await open();
      assert.equal(reopened.runs.list({ limit: 500 }).length, 200);
      assert.deepEqual(await reopened.audit.verify(), { ok: true, count: 200 });
      await reopened.close();
    });

    it('flushes accepted writes on close', async () => {
      const store = await open();
      const puts = Array.from({ length: 20 }, (_, index) => store.runs.put(runFixture(`run_${index}`)));
      const appends = Array.from({ length: 20 }, (_, index) => store.audit.append(auditInput(index)));
      await store.close();
      await Promise.all([...puts, ...appends]);
      const reopened = await open();
      assert.equal(reopened.runs.list({ limit: 50 }).length, 20);
      assert.deepEqual(await reopened.audit.verify(), { ok: true, count: 20 });
      await reopened.close();
    });
  });
});
