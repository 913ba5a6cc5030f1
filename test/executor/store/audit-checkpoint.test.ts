/**
 * The audit chain's keyed checkpoint (issue 14, "The audit chain notices a cut tail"): a log
 * whose last entries were cut, or that was re-sealed (entries deleted or changed and every hash
 * after them recomputed), still has an intact chain; only the checkpoint outside the data
 * folder tells. Real files in a temp folder.
 */
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import sinon from 'sinon';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isDeputyError } from '../../../executor/contract/index.ts';
import type { AuditEntry } from '../../../executor/domain.ts';
import { GENESIS_HEAD, seal, type ChainHead } from '../../../executor/store/audit-chain.ts';
import { auditCheckpointOf, CHECKPOINT_DELAY_MS, CheckpointWriter, describeCheckpointProblem, loadAuditKey, readCheckpoint, type AuditCheckpointConfig } from '../../../executor/store/audit-checkpoint.ts';
import { verifyAuditLog, type AuditLogVerification } from '../../../executor/store/audit.ts';
import { createFileStore } from '../../../executor/store/file.ts';
import { ManualClock } from '../../../lib/clock.ts';
import { silentLogger } from '../../../lib/logger.ts';

describe('audit checkpoint (outside the data folder, keyed)', () => {
  let root: string;
  let dataDir: string;
  let checkpoint: AuditCheckpointConfig;
  const clock = new ManualClock(Date.UTC(2026, 6, 1));
  const auditPath = () => join(dataDir, 'audit.jsonl');
  const open = (withCheckpoint = true) => createFileStore({ dataDir, clock, logger: silentLogger(), ...(withCheckpoint ? { auditCheckpoint: checkpoint } : {}) });
  const verify = () => verifyAuditLog(auditPath(), checkpoint);
  const entries = () => readFileSync(auditPath(), 'utf8').trimEnd().split('\n').map((line) => JSON.parse(line) as AuditEntry);
  const problemOf = (result: AuditLogVerification) => {
    assert.equal(result.chain.ok, true, 'the chain itself is intact: only the checkpoint can tell');
    return result.checkpoint.state === 'matches' ? undefined : describeCheckpointProblem(result.checkpoint);
  };

  async function writeEntries(count: number, withCheckpoint = true): Promise<void> {
    const store = await open(withCheckpoint);
    for (let n = 0; n < count; n++) {
      clock.advance(1000);
      await store.audit.append({ type: 'run.request', outcome: 'allowed', correlationId: `corr-${n}`, actor: 'alex', detail: { n } });
    }
    await store.close();
  }

  /** What someone who can write the data folder (but has not the key) can do: keep some entries, recompute every hash. */
  function reseal(keep: (entry: AuditEntry) => boolean, extra: number = 0): void {
    let head: ChainHead = GENESIS_HEAD;
    const lines: string[] = [];
    const kept = entries().filter(keep);
    for (let n = 0; n < extra; n++) kept.push({ ...(kept.at(-1) as AuditEntry), correlationId: `forged-${n}` });
    for (const { seq: _seq, prevHash: _prev, hash: _hash, ...fields } of kept) {
      const { entry, line } = seal({ fields }, head);
      head = { seq: entry.seq, hash: entry.hash };
      lines.push(line);
    }
    writeFileSync(auditPath(), lines.join(''));
  }

  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), 'deputy-checkpoint-'));
    dataDir = join(root, 'data');
    mkdirSync(join(root, 'state'));
    checkpoint = auditCheckpointOf({ auditCheckpoint: join(root, 'state', 'audit.checkpoint') });
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  it('follows every batch, so an intact log matches it', async () => {
    await writeEntries(10);
    const result = await verify();
    assert.equal(result.checkpoint.state, 'matches');
    assert.deepEqual(result.chain, { ok: true, count: 10 });
    assert.equal(result.checkpoint.state === 'matches' && result.checkpoint.checkpoint.seq, 10);
    assert.equal(statSync(checkpoint.path).mode & 0o777, 0o600);
    assert.equal(statSync(`${checkpoint.path}.key`).mode & 0o777, 0o600);
  });

  it('is written a moment after a batch, once for the batches meanwhile (off the runs\' flushes), and at once when the log closes', async () => {
    const timers = sinon.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    try {
      const writer = new CheckpointWriter(checkpoint, () => clock.now(), silentLogger());
      const head = (seq: number): ChainHead => ({ seq, hash: String(seq % 10).repeat(64) });
      writer.update(head(1));
      writer.update(head(2));
      // Disk round trips enough for a write started at once to have finished: none was.
      for (let trip = 0; trip < 20; trip++) await readFile(`${checkpoint.path}.key`);
      assert.equal((await readCheckpoint(checkpoint)).state, 'missing');
      await timers.tickAsync(CHECKPOINT_DELAY_MS);
      await writer.settled();
      const first = await readCheckpoint(checkpoint);
      assert.equal(first.state === 'found' && first.checkpoint.seq, 2);
      writer.update(head(3));
      await writer.settled();
      const closed = await readCheckpoint(checkpoint);
      assert.equal(closed.state === 'found' && closed.checkpoint.seq, 3);
    } finally {
      timers.restore();
    }
  });

  it('reports a cut tail, naming the entries that are gone, and start-up refuses the log', async () => {
    await writeEntries(10);
    const lines = readFileSync(auditPath(), 'utf8').split('\n');
    writeFileSync(auditPath(), `${lines.slice(0, 7).join('\n')}\n`);
    const problem = problemOf(await verify());
    assert.match(problem ?? '', /^the audit log was cut: it ends at entry 7, but its checkpoint \(written [^)]+\) names entry 10; entries 8–10 were removed$/);
    await assert.rejects(open(), (error: unknown) => isDeputyError(error) && error.message.startsWith(`Refusing to write to the audit log: ${problem}.`));
    // The refused start-up wrote nothing: the evidence is still there.
    assert.equal(entries().length, 7);
    assert.match(problemOf(await verify()) ?? '', /entries 8–10 were removed/);
  });

  it('reports a re-sealed log: entries deleted and the hashes recomputed, with fewer, as many or more entries', async () => {
    await writeEntries(10);
    const original = readFileSync(auditPath(), 'utf8');
    reseal((entry) => entry.seq !== 4);
    assert.match(problemOf(await verify()) ?? '', /^the audit log was cut: it ends at entry 9/);

    writeFileSync(auditPath(), original);
    reseal((entry) => entry.seq !== 4, 1);
    assert.match(problemOf(await verify()) ?? '', /^the audit log was re-sealed: entry 10 does not have the hash its checkpoint \(written [^)]+\) names; entries up to it were changed, removed or added and the hashes recomputed$/);
    await assert.rejects(open(), /Refusing to write to the audit log: the audit log was re-sealed/);

    writeFileSync(auditPath(), original);
    reseal((entry) => entry.seq !== 4 && entry.seq !== 5, 6);
    assert.match(problemOf(await verify()) ?? '', /^the audit log was re-sealed: entry 10 /);
    await assert.rejects(open(), /Refusing to write to the audit log: the audit log was re-sealed/);
  });

  it('refuses a checkpoint edited without the key, or checked with another key', async () => {
    await writeEntries(5);
    const written = JSON.parse(readFileSync(checkpoint.path, 'utf8')) as { seq: number };
    writeFileSync(checkpoint.path, JSON.stringify({ ...written, seq: 3 }));
    assert.match(problemOf(await verify()) ?? '', /is not valid: its signature does not match: it was edited, or it was written with another key$/);
    await assert.rejects(open(), /Refusing to write to the audit log: the audit checkpoint .* is not valid/);
    const otherKey = await verifyAuditLog(auditPath(), { path: checkpoint.path, key: Buffer.alloc(32, 7) });
    assert.equal(otherKey.checkpoint.state, 'invalid');
    const noKey = await verifyAuditLog(auditPath(), { path: checkpoint.path, key: undefined });
    assert.match(problemOf(noKey) ?? '', /there is no key to check it with/);
  });

  it('catches up after a crash left it behind the log, but not over a re-sealed prefix', async () => {
    await writeEntries(5);
    // Entries written without the checkpoint following (as after a crash between a batch and its checkpoint).
    await writeEntries(3, false);
    await writeEntries(1);
    assert.equal(problemOf(await verify()), undefined);
    const store = await open();
    await store.close();

    const behind = readFileSync(checkpoint.path, 'utf8');
    await writeEntries(2, false);
    writeFileSync(checkpoint.path, behind);
    reseal((entry) => entry.seq !== 2, 1);
    await assert.rejects(open(), /Refusing to write to the audit log: the audit log was re-sealed: entry 9 /);
  });

  it('starts a checkpoint over a log that had none, and says so in the log for verify to report', async () => {
    await writeEntries(4, false);
    assert.match(problemOf(await verify()) ?? '', /^there is no audit checkpoint at .*, so a cut tail or a re-sealed log cannot be ruled out$/);
    const store = await open();
    await store.close();
    const result = await verify();
    assert.equal(problemOf(result), undefined);
    assert.deepEqual(result.checkpointStarts.map(({ seq, entriesBefore }) => ({ seq, entriesBefore })), [{ seq: 5, entriesBefore: 4 }]);
    assert.equal(entries().at(-1)?.type, 'audit.checkpoint');
  });

  it('keeps its key in a 0600 file beside the checkpoint unless DEPUTY_AUDIT_KEY gives one, and refuses a key others can read', () => {
    const path = join(root, 'state', 'other.checkpoint');
    assert.equal(loadAuditKey({ key: undefined, checkpointPath: path, create: false }), undefined, 'verify creates no key');
    const created = loadAuditKey({ key: undefined, checkpointPath: path, create: true });
    assert.deepEqual(loadAuditKey({ key: undefined, checkpointPath: path, create: true }), created);
    chmodSync(`${path}.key`, 0o644);
    assert.throws(() => loadAuditKey({ key: undefined, checkpointPath: path, create: true }), /readable by other users/);
    const given = Buffer.alloc(32, 9).toString('base64');
    assert.deepEqual(loadAuditKey({ key: given, checkpointPath: path, create: true }), Buffer.alloc(32, 9));
    assert.throws(() => loadAuditKey({ key: 'too-short', checkpointPath: path, create: true }), /DEPUTY_AUDIT_KEY/);
  });
});
