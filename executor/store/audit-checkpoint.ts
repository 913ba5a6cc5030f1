/**
 * A keyed checkpoint of the audit chain's head, kept outside the data folder.
 *
 * The hash chain shows an edited entry, but not a cut tail (the last entries deleted), nor a
 * log re-sealed (entries deleted or changed and every hash after them recomputed): both are
 * intact chains. So shortly after every durable batch (CHECKPOINT_DELAY_MS, one write for all
 * batches meanwhile) the executor writes the head (seq and hash) to a checkpoint file outside the data folder, with an HMAC-SHA256 under a key the data
 * folder does not hold. `deputy audit verify` and start-up compare the log with it: a log
 * that ends before the checkpoint's entry was cut, one whose entry there has another hash was
 * re-sealed. What this does and does not protect against: docs/store.md, docs/security.md.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { z } from 'zod';
import type { Logger } from '../../lib/logger.ts';
import { DeputyError } from '../contract/errors.ts';
import { decodeKey, newKeyText } from '../credentials/keyring.ts';
import type { ChainHead } from './audit-chain.ts';
import { isMissingFile, writeFileDurably } from './files.ts';

export interface AuditCheckpointConfig {
  /** The checkpoint file (outside the data folder). */
  path: string;
  key: Buffer;
}

export interface Checkpoint extends ChainHead {
  /** When it was written (ISO time). */
  at: string;
}

const CheckpointFileSchema = z.strictObject({
  version: z.literal(1),
  seq: z.number().int().min(0),
  hash: z.string().regex(/^[0-9a-f]{64}$/),
  at: z.string(),
  mac: z.string().regex(/^[0-9a-f]{64}$/),
});

export type CheckpointRead = { state: 'found'; checkpoint: Checkpoint } | { state: 'missing' } | { state: 'invalid'; reason: string };

/**
 * The checkpoint key: `DEPUTY_AUDIT_KEY` (base64 of 32 bytes) when given, else the key file
 * next to the checkpoint (`<checkpoint>.key`, mode 0600), created when `create` is set.
 * Undefined when there is no key and none may be created (`deputy audit verify`).
 */
export function loadAuditKey(options: { key: string | undefined; checkpointPath: string; create: boolean }): Buffer | undefined {
  if (options.key !== undefined) return decodeKey(options.key, 'DEPUTY_AUDIT_KEY');
  const path = auditKeyPath(options.checkpointPath);
  if (options.create) {
    try {
      writeFileSync(path, `${newKeyText()}\n`, { flag: 'wx', mode: 0o600 });
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code !== 'EEXIST') {
        throw new DeputyError('DEPUTY_E_CONFIG_INVALID', {
          message: `DEPUTY_AUDIT_CHECKPOINT: cannot create the audit key ${path} (${code ?? 'error'}); point DEPUTY_AUDIT_CHECKPOINT at a writable place outside the data folder, or set DEPUTY_AUDIT_KEY.`,
          cause: error,
        });
      }
    }
  }
  let mode: number;
  try {
    mode = statSync(path).mode;
  } catch (error) {
    if (isMissingFile(error) && !options.create) return undefined;
    throw error;
  }
  if ((mode & 0o077) !== 0) {
    throw new DeputyError('DEPUTY_E_CONFIG_INVALID', { message: `${path} is readable by other users (mode ${(mode & 0o777).toString(8)}); chmod 600 it.` });
  }
  return decodeKey(readFileSync(path, 'utf8'), path);
}

/** The checkpoint an executor (or `deputy import`) writes: its configured place, its key (created when missing). */
export function auditCheckpointOf(config: { auditCheckpoint: string; auditKey?: string | undefined }): AuditCheckpointConfig {
  const key = loadAuditKey({ key: config.auditKey, checkpointPath: config.auditCheckpoint, create: true });
  if (!key) throw new DeputyError('DEPUTY_E_INTERNAL', { detail: 'the audit key was not created' });
  return { path: config.auditCheckpoint, key };
}

export function auditKeyPath(checkpointPath: string): string {
  return `${checkpointPath}.key`;
}

function macOf(key: Buffer, checkpoint: Checkpoint): string {
  return createHmac('sha256', key).update(`deputy-audit-checkpoint/1\n${checkpoint.seq}\n${checkpoint.hash}\n${checkpoint.at}`).digest('hex');
}

export async function readCheckpoint(config: AuditCheckpointConfig): Promise<CheckpointRead> {
  let text: string;
  try {
    text = await readFile(config.path, 'utf8');
  } catch (error) {
    if (isMissingFile(error)) return { state: 'missing' };
    return { state: 'invalid', reason: `it cannot be read (${(error as NodeJS.ErrnoException).code ?? 'error'})` };
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    return { state: 'invalid', reason: 'it is not JSON' };
  }
  const parsed = CheckpointFileSchema.safeParse(raw);
  if (!parsed.success) return { state: 'invalid', reason: 'it is not a checkpoint' };
  const { seq, hash, at, mac } = parsed.data;
  const checkpoint = { seq, hash, at };
  if (!timingSafeEqual(Buffer.from(mac, 'hex'), Buffer.from(macOf(config.key, checkpoint), 'hex'))) {
    return { state: 'invalid', reason: 'its signature does not match: it was edited, or it was written with another key' };
  }
  return { state: 'found', checkpoint };
}

/**
 * How long the checkpoint waits after a batch before it is written. A run's state changes come
 * a few milliseconds apart, each with an audit entry: written at once, the checkpoint's two
 * flushes (file, folder) would contend with the next change's flush on the run's path; a moment
 * later, one write covers them all. A cut within this moment of a crash goes unnoticed, as a
 * cut between a batch and its checkpoint always could.
 */
export const CHECKPOINT_DELAY_MS = 50;

/**
 * Writes the newest head CHECKPOINT_DELAY_MS after a batch, in the background and in order: the
 * batches meanwhile, and those while a write is running, share the next write.
 */
export class CheckpointWriter {
  private latest: ChainHead | undefined;
  private running: Promise<void> | undefined;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly config: AuditCheckpointConfig,
    private readonly now: () => number,
    private readonly logger: Logger,
  ) {}

  update(head: ChainHead): void {
    this.latest = head;
    if (this.running || this.timer) return;
    this.timer = setTimeout(() => this.writeNow(), CHECKPOINT_DELAY_MS);
    // A checkpoint waiting does not keep the process alive; closing the log writes it (settled).
    this.timer.unref();
  }

  /** Resolves when the newest head so far is in the file (or its write failed and was logged). */
  async settled(): Promise<void> {
    if (this.timer) this.writeNow();
    while (this.running) await this.running;
  }

  private writeNow(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.running ??= this.drain();
  }

  private async drain(): Promise<void> {
    try {
      while (this.latest) {
        const head = this.latest;
        this.latest = undefined;
        await this.write(head);
      }
    } finally {
      this.running = undefined;
    }
  }

  private async write(head: ChainHead): Promise<void> {
    const checkpoint: Checkpoint = { seq: head.seq, hash: head.hash, at: new Date(this.now()).toISOString() };
    try {
      await writeFileDurably(this.config.path, `${JSON.stringify({ version: 1, ...checkpoint, mac: macOf(this.config.key, checkpoint) })}\n`);
    } catch (error) {
      // The log itself is durable; a checkpoint that lags behind still guards what it names.
      this.logger.error({ err: error, path: this.config.path, seq: head.seq }, 'writing the audit checkpoint failed');
    }
  }
}

/** What a log whose chain verified says next to its checkpoint. */
export type CheckpointVerdict =
  | { state: 'matches'; checkpoint: Checkpoint }
  | { state: 'missing'; path: string }
  | { state: 'invalid'; path: string; reason: string }
  | { state: 'cut'; checkpoint: Checkpoint; lastSeq: number }
  | { state: 'resealed'; checkpoint: Checkpoint };

/** `hashAtCheckpoint`: the hash of the log's entry at the checkpoint's seq, if it has one. */
export function judgeCheckpoint(read: CheckpointRead, path: string, lastSeq: number, hashAtCheckpoint: string | undefined): CheckpointVerdict {
  if (read.state === 'missing') return { state: 'missing', path };
  if (read.state === 'invalid') return { state: 'invalid', path, reason: read.reason };
  const { checkpoint } = read;
  if (checkpoint.seq > lastSeq) return { state: 'cut', checkpoint, lastSeq };
  if (checkpoint.seq > 0 && hashAtCheckpoint !== checkpoint.hash) return { state: 'resealed', checkpoint };
  return { state: 'matches', checkpoint };
}

/** What is wrong, in words, for `deputy audit verify` and a refused start-up. */
export function describeCheckpointProblem(verdict: Exclude<CheckpointVerdict, { state: 'matches' }>): string {
  switch (verdict.state) {
    case 'missing':
      return `there is no audit checkpoint at ${verdict.path}, so a cut tail or a re-sealed log cannot be ruled out`;
    case 'invalid':
      return `the audit checkpoint ${verdict.path} is not valid: ${verdict.reason}`;
    case 'cut': {
      const { checkpoint, lastSeq } = verdict;
      const removed = lastSeq + 1 === checkpoint.seq ? `entry ${checkpoint.seq} was` : `entries ${lastSeq + 1}–${checkpoint.seq} were`;
      return `the audit log was cut: it ends at entry ${lastSeq}, but its checkpoint (written ${checkpoint.at}) names entry ${checkpoint.seq}; ${removed} removed`;
    }
    case 'resealed':
      return `the audit log was re-sealed: entry ${verdict.checkpoint.seq} does not have the hash its checkpoint (written ${verdict.checkpoint.at}) names; entries up to it were changed, removed or added and the hashes recomputed`;
  }
}
