import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ManualClock } from '../../../lib/clock.ts';
import { silentLogger } from '../../../lib/logger.ts';
import { IDEMPOTENCY_FILE, SIGNATURES_FILE } from '../../../executor/connectors/index.ts';
import { MAIL_LEDGER_FILE } from '../../../executor/mail/index.ts';
import { openFileState, RUN_IDEMPOTENCY_FILE } from '../../../executor/store/state-file.ts';
import { stateSuite } from './state-suite.ts';

const folders: string[] = [];
after(async () => {
  await Promise.all(folders.map((folder) => rm(folder, { recursive: true, force: true })));
});

async function dataFolder(): Promise<string> {
  const folder = await mkdtemp(join(tmpdir(), 'deputy-state-'));
  folders.push(folder);
  return join(folder, 'data');
}

stateSuite('files', async () => {
  const dataDir = await dataFolder();
  return { shared: false, durableLeases: false, open: (clock) => openFileState({ dataDir, clock, logger: silentLogger() }) };
});

// A checkpoint every few lines, so the same cases read runs from the index files as well as from memory.
stateSuite('files, checkpointing every 3 lines', async () => {
  const dataDir = await dataFolder();
  return { shared: false, durableLeases: false, open: (clock) => openFileState({ dataDir, clock, logger: silentLogger(), checkpointEvery: 3 }) };
});

describe('state files: a prune compacts the expiring logs', () => {
  const HOUR = 60 * 60_000;
  const lines = (path: string) => readFileSync(path, 'utf8').split('\n').filter(Boolean).length;

  it('leaves each log on disk with only its live records, and records written meanwhile land after the rewrite', async () => {
    const dataDir = await dataFolder();
    const clock = new ManualClock(Date.UTC(2026, 2, 1, 9));
    const state = await openFileState({ dataDir, clock, logger: silentLogger() });
    const files = {
      hook: join(dataDir, IDEMPOTENCY_FILE),
      run: join(dataDir, RUN_IDEMPOTENCY_FILE),
      signatures: join(dataDir, SIGNATURES_FILE),
      mail: join(dataDir, MAIL_LEDGER_FILE),
    };
    const answer = (index: number) => ({ runId: `run_${index}`, state: 'queued', correlationId: `c-${index}` });
    const record = async (index: number, ttlMs: number) => {
      for (const records of [state.hookIdempotency, state.runIdempotency]) {
        await records.claim({ scope: 'itsm', key: `key-${index}`, bodyHash: 'b', claimTtlMs: 60_000 });
        await records.complete({ scope: 'itsm', key: `key-${index}`, answer: answer(index), ttlMs });
      }
      await state.hookSignatures.claim('itsm', `sig-${index}`, undefined, clock.now() + ttlMs);
      await state.mailLedger.claim({ connector: 'm', messageId: `<${index}@x>`, replyTo: 'a@x', mailbox: 'b@x', subject: 's' });
      await state.mailLedger.attachRun('m', `<${index}@x>`, `run_${index}`);
    };
    try {
      for (let index = 0; index < 50; index += 1) await record(index, HOUR);
      // A signature's window includes its last millisecond.
      clock.advance(HOUR + 1);
      const cutOff = clock.now();
      await record(50, 24 * HOUR);
      assert.deepEqual(Object.values(files).map(lines), [51, 51, 51, 102]);

      const pruning = [state.hookIdempotency.prune(), state.runIdempotency.prune(), state.hookSignatures.prune(), state.mailLedger.prune(cutOff)];
      // Written while the prunes are under way: after their rewrites, so kept.
      await record(51, 24 * HOUR);
      assert.deepEqual(await Promise.all(pruning), [50, 50, 50, 50]);
      assert.deepEqual(Object.values(files).map(lines), [2, 2, 2, 3]);
      assert.deepEqual(
        readFileSync(files.run, 'utf8').split('\n').filter(Boolean).map((line) => (JSON.parse(line) as { key: string }).key),
        ['key-50', 'key-51'],
      );
      assert.deepEqual(await Promise.all([state.hookIdempotency.prune(), state.mailLedger.prune(cutOff)]), [0, 0]);
      assert.deepEqual(Object.values(files).map(lines), [2, 2, 2, 2], 'the mail ledger keeps one line a message');
    } finally {
      await state.close();
    }
  });
});
