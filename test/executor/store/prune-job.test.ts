/**
 * The prune duty on the files (one executor per data folder, leases in memory): each pass drops
 * every kind of record whose time passed, on disk too, keeps the rest and the claims in flight,
 * says at info level what it removed (only when it removed something), and a pass that fails is
 * logged and made good by the next one.
 */
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ManualClock } from '../../../lib/clock.ts';
import { silentLogger } from '../../../lib/logger.ts';
import { IDEMPOTENCY_FILE, SIGNATURES_FILE } from '../../../executor/connectors/index.ts';
import { InProcessEventStream } from '../../../executor/event-stream.ts';
import { EventBus } from '../../../executor/events.ts';
import { MAIL_LEDGER_FILE } from '../../../executor/mail/index.ts';
import { MESSAGE_RETENTION_MS } from '../../../executor/mail/ledger.ts';
import { createMemoryStore } from '../../../executor/store/memory.ts';
import { openFileState, RUN_IDEMPOTENCY_FILE, type FileState } from '../../../executor/store/state-file.ts';
import { until } from '../cluster/processes.ts';
import { ERROR, INFO, pruneDuty, prunedLines, type PruneDuty } from './prune-duty.ts';

const HOUR = 60 * 60_000;
const INTERVAL = 10 * 60_000;

describe('prune duty on the files', () => {
  let folder: string;
  let dataDir: string;
  let clock: ManualClock;
  let state: FileState;
  let duty: PruneDuty;

  const lines = (file: string) => readFileSync(join(dataDir, file), 'utf8').split('\n').filter(Boolean).length;
  const mail = (messageId: string) => ({ connector: 'helpdesk', messageId, replyTo: 'a@example.com', mailbox: 'deputy@example.com', subject: 'Unlock' });

  /** One record of each kind, expiring after `ttlMs` (the mail ledger's after its retention). */
  async function record(tag: string, ttlMs: number): Promise<void> {
    for (const records of [state.hookIdempotency, state.runIdempotency]) {
      await records.claim({ scope: 'itsm', key: tag, bodyHash: 'b', claimTtlMs: 60_000 });
      await records.complete({ scope: 'itsm', key: tag, answer: { runId: `run_${tag}`, state: 'queued', correlationId: 'c' }, ttlMs });
    }
    await state.hookSignatures.claim('itsm', `sig-${tag}`, undefined, clock.now() + ttlMs);
    await state.mailLedger.claim(mail(`<${tag}@x>`));
  }

  function start(intervalMs = INTERVAL): PruneDuty {
    const { audit } = createMemoryStore({ clock });
    return pruneDuty({ executorId: 'exec-a', records: state, leases: state.leases, runs: state.runs, audit, events: new InProcessEventStream(new EventBus(clock)), clock, intervalMs });
  }

  beforeEach(async () => {
    folder = await mkdtemp(join(tmpdir(), 'deputy-prune-'));
    dataDir = join(folder, 'data');
    clock = new ManualClock(Date.UTC(2026, 2, 1, 9));
    state = await openFileState({ dataDir, clock, logger: silentLogger() });
    duty = start();
  });

  afterEach(async () => {
    await duty.job.stop();
    await state.close();
    await rm(folder, { recursive: true, force: true });
  });

  it('drops what expired of every kind, in memory and on disk, keeps the rest and a claim in flight, and says so at info level only when it removed something', async () => {
    await record('old', HOUR);
    clock.advance(MESSAGE_RETENTION_MS + 1);
    await record('new', 24 * HOUR);
    assert.deepEqual((await state.runIdempotency.claim({ scope: 'itsm', key: 'slow', bodyHash: 'b', claimTtlMs: 60_000 })).kind, 'owner');

    assert.deepEqual(await duty.job.runOnce(), { removed: { runIdempotency: 1, hookIdempotency: 1, hookSignatures: 1, mailLedger: 1 }, failed: [] });
    assert.deepEqual(prunedLines(duty.logs).map((line) => [line.msg, line.removed]), [
      ['pruned 4 expired records', { runIdempotency: 1, hookIdempotency: 1, hookSignatures: 1, mailLedger: 1 }],
    ]);
    assert.deepEqual([IDEMPOTENCY_FILE, RUN_IDEMPOTENCY_FILE, SIGNATURES_FILE, MAIL_LEDGER_FILE].map(lines), [1, 1, 1, 1]);
    assert.equal((await state.runIdempotency.claim({ scope: 'itsm', key: 'new', bodyHash: 'x', claimTtlMs: 60_000 })).kind, 'answered');
    assert.deepEqual(await state.runIdempotency.claim({ scope: 'itsm', key: 'slow', bodyHash: 'x', claimTtlMs: 60_000 }), { kind: 'in-flight', bodyHash: 'b' });
    assert.equal(await state.hookSignatures.claim('itsm', 'sig-new', undefined, clock.now() + HOUR), 'replay');
    assert.equal(await state.mailLedger.claim(mail('<new@x>')), false);

    clock.advance(INTERVAL);
    assert.deepEqual(await duty.job.runOnce(), { removed: { runIdempotency: 1, hookIdempotency: 0, hookSignatures: 0, mailLedger: 0 }, failed: [] }, 'the claim, lapsed');
    clock.advance(INTERVAL);
    assert.deepEqual(await duty.job.runOnce(), { removed: { runIdempotency: 0, hookIdempotency: 0, hookSignatures: 0, mailLedger: 0 }, failed: [] });
    assert.equal(prunedLines(duty.logs).length, 2, 'nothing removed: nothing said at info level');
    assert.ok(duty.logs.some((line) => line.msg === 'no expired records to prune'));
  });

  it('logs a kind whose prune failed, prunes the others, and the next pass makes it good', async () => {
    await record('old', HOUR);
    clock.advance(MESSAGE_RETENTION_MS + 1);
    // The mail ledger's file cannot be replaced (a folder took its name): its compaction fails.
    const ledgerPath = join(dataDir, MAIL_LEDGER_FILE);
    rmSync(ledgerPath);
    mkdirSync(ledgerPath);
    const failed = await duty.job.runOnce();
    assert.deepEqual(failed?.failed, ['mailLedger']);
    assert.deepEqual(failed?.removed, { runIdempotency: 1, hookIdempotency: 1, hookSignatures: 1 });
    const errors = duty.logs.filter((line) => line.level === ERROR);
    assert.deepEqual(errors.map((line) => [line.msg, line.kind]), [['pruning expired records failed; tried again at the next interval', 'mailLedger']]);

    rmSync(ledgerPath, { recursive: true });
    await record('new', 24 * HOUR);
    clock.advance(INTERVAL);
    assert.deepEqual((await duty.job.runOnce())?.failed, []);
    assert.equal(lines(MAIL_LEDGER_FILE), 1, 'rewritten with the message kept only');
    assert.equal(await state.mailLedger.claim(mail('<new@x>')), false);
  });

  it('runs a pass at start and then every interval until stopped', async () => {
    await duty.job.stop();
    duty = start(25);
    await record('first', HOUR);
    clock.advance(HOUR);
    duty.job.start();
    await until('a pass to prune the first records', async () => prunedLines(duty.logs).length === 1, 20_000);
    await record('second', HOUR);
    clock.advance(HOUR);
    await until('a later pass to prune the second records', async () => prunedLines(duty.logs).length === 2, 20_000);
    assert.ok(prunedLines(duty.logs).every((line) => line.level === INFO));
    await duty.job.stop();
    assert.equal(await duty.job.runOnce(), undefined, 'stopped');
  });
});
