/**
 * The audit log in `<dataDir>/audit.jsonl`: one canonical-JSON entry per line, hash-chained
 * (see audit-chain.ts). Only the chain's head (last seq and hash) is kept in memory, read
 * from the file's tail on open. Entries are sealed onto the chain by the single group-commit
 * flusher, in submission order, so concurrent appends can never fork the chain, and the head
 * moves only once a batch is durable. With a checkpoint (audit-checkpoint.ts), the head is
 * also written, keyed, outside the data folder after each batch, so a cut or re-sealed log
 * is noticed.
 */
import { existsSync } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import type { Clock } from '../../lib/clock.ts';
import { newCorrelationId } from '../../lib/ids.ts';
import type { Logger } from '../../lib/logger.ts';
import { DeputyError } from '../contract/errors.ts';
import type { AuditEntry, AuditInput } from '../domain.ts';
import {
  auditKeyPath,
  CheckpointWriter,
  describeCheckpointProblem,
  judgeCheckpoint,
  readCheckpoint,
  type AuditCheckpointConfig,
  type CheckpointRead,
  type CheckpointVerdict,
} from './audit-checkpoint.ts';
import { ChainVerifier, EntrySelection, GENESIS_HEAD, parseAuditLine, prepareAudit, seal, type ChainHead, type PreparedAudit } from './audit-chain.ts';
import { isMissingFile, openAppendOnly } from './files.ts';
import { GroupCommitFile } from './group-commit.ts';
import { readTail, scanLines } from './lines.ts';
import type { AuditLog, AuditVerification } from './port.ts';

export class FileAudit implements AuditLog {
  private constructor(
    private readonly path: string,
    private readonly log: GroupCommitFile<PreparedAudit, AuditEntry>,
    private readonly clock: Clock,
    private readonly checkpoint: CheckpointWriter | undefined,
  ) {}

  /** With `checkpoint`, the log must match it (or start-up is refused), and it follows every batch. */
  static async open(path: string, clock: Clock, logger: Logger, checkpoint?: AuditCheckpointConfig): Promise<FileAudit> {
    const { handle, size } = await openAppendOnly(path);
    try {
      const tail = await readTail(handle, size);
      let durableSize = size;
      if (tail.tornFrom !== undefined) {
        // The cut-off entry's append never returned; the chain continues from the last whole entry.
        logger.warn({ path, offset: tail.tornFrom, bytes: size - tail.tornFrom }, 'dropping an incomplete last line of the audit log (a write was cut off)');
        await handle.truncate(tail.tornFrom);
        await handle.datasync();
        durableSize = tail.tornFrom;
      }
      let head: ChainHead = GENESIS_HEAD;
      if (tail.lastLine) {
        const last = parseAuditLine(tail.lastLine.text, `the last line of ${path}`);
        head = { seq: last.seq, hash: last.hash };
      }
      const writer = checkpoint && new CheckpointWriter(checkpoint, () => clock.now(), logger);
      const startedAt = checkpoint && (await checkStartHead(handle, durableSize, head, checkpoint));
      const log = new GroupCommitFile<PreparedAudit, AuditEntry>(handle, path, durableSize, (batch) => {
        let next = head;
        const sealed = batch.map((prepared) => {
          const { entry, line } = seal(prepared, next);
          next = { seq: entry.seq, hash: entry.hash };
          return { entry, line };
        });
        return {
          text: sealed.map(({ line }) => line).join(''),
          results: sealed.map(({ entry }) => entry),
          commit: () => {
            head = next;
            writer?.update(head);
          },
        };
      });
      const audit = new FileAudit(path, log, clock, writer);
      if (writer && startedAt !== undefined) {
        writer.update(head);
        if (startedAt > 0) {
          // Earlier entries had no checkpoint (an upgrade, or it was moved away): say so where verify will read it.
          logger.warn({ path: checkpoint.path, entries: startedAt }, 'no audit checkpoint found; starting one now (a cut before it cannot be detected)');
          await audit.append({
            type: 'audit.checkpoint',
            outcome: 'info',
            correlationId: newCorrelationId(),
            subject: checkpoint.path,
            detail: { started: true, entriesBefore: startedAt },
          });
        }
      }
      return audit;
    } catch (error) {
      await handle.close();
      throw error;
    }
  }

  get syncs(): number {
    return this.log.syncs;
  }

  async append(input: AuditInput): Promise<AuditEntry> {
    // Stamped now, in submission order, so `at` never goes backwards along the chain.
    const prepared = prepareAudit(input, new Date(this.clock.now()).toISOString());
    return this.log.submit(prepared);
  }

  /** Checks the entries that are durable now (a batch being written is not half-read). */
  async verify(): Promise<AuditVerification> {
    return verifyAuditFile(this.path, this.log.size);
  }

  async read(options?: { sinceSeq?: number; limit?: number }): Promise<AuditEntry[]> {
    const selection = new EntrySelection(options);
    const handle = await open(this.path, 'r');
    try {
      await scanLines(handle, (line) => selection.offer(parseAuditLine(line.text, `line ${line.number} of ${this.path}`)), this.log.size);
    } finally {
      await handle.close();
    }
    return selection.result();
  }

  async close(): Promise<void> {
    await this.log.close();
    await this.checkpoint?.settled();
  }
}

/**
 * Start-up's look at the checkpoint: a log that was cut or re-sealed is refused (appending to
 * it would make a new checkpoint over the evidence). Returns the seq a new checkpoint starts
 * at when there was none, else undefined. Only a checkpoint that lags behind the log (a crash
 * between a batch and its checkpoint) makes it read the log up to the checkpoint's entry.
 */
async function checkStartHead(handle: FileHandle, end: number, head: ChainHead, config: AuditCheckpointConfig): Promise<number | undefined> {
  const read = await readCheckpoint(config);
  if (read.state === 'missing') return head.seq;
  let hashAtCheckpoint = read.state === 'found' && read.checkpoint.seq === head.seq ? head.hash : undefined;
  if (read.state === 'found' && read.checkpoint.seq < head.seq && read.checkpoint.seq > 0) {
    const wanted = read.checkpoint.seq;
    await scanLines(
      handle,
      (line) => {
        if (line.number < wanted) return true;
        hashAtCheckpoint = parseAuditLine(line.text, `line ${line.number} of the audit log`).hash;
        return false;
      },
      end,
    );
  }
  const verdict = judgeCheckpoint(read, config.path, head.seq, hashAtCheckpoint);
  if (verdict.state !== 'matches') {
    throw new DeputyError('DEPUTY_E_INTERNAL', {
      message: `Refusing to write to the audit log: ${describeCheckpointProblem(verdict)}. Run "deputy audit verify"; docs/store.md ("The audit checkpoint") says how to go on.`,
    });
  }
  return undefined;
}

/** What `deputy audit verify` finds: the chain, and the log next to its checkpoint. */
export interface AuditLogVerification {
  chain: AuditVerification;
  checkpoint: CheckpointVerdict;
  /** Entries where a checkpoint was started over a log that had none (a cut before them would not show). */
  checkpointStarts: { seq: number; at: string; entriesBefore: number }[];
}

/** The chain and the checkpoint; the checkpoint is read first, so entries appended meanwhile are no false alarm. */
export async function verifyAuditLog(path: string, checkpoint: { path: string; key: Buffer | undefined }): Promise<AuditLogVerification> {
  const read: CheckpointRead =
    checkpoint.key !== undefined
      ? await readCheckpoint({ path: checkpoint.path, key: checkpoint.key })
      : existsSync(checkpoint.path)
        ? { state: 'invalid', reason: `there is no key to check it with (set DEPUTY_AUDIT_KEY, or keep its key file ${auditKeyPath(checkpoint.path)})` }
        : { state: 'missing' };
  const wanted = read.state === 'found' ? read.checkpoint.seq : undefined;
  let hashAtCheckpoint: string | undefined;
  const checkpointStarts: AuditLogVerification['checkpointStarts'] = [];
  const chain = await verifyAuditFile(path, undefined, (entry) => {
    if (entry.seq === wanted) hashAtCheckpoint = entry.hash;
    if (entry.type === 'audit.checkpoint' && entry.detail.started === true) {
      checkpointStarts.push({ seq: entry.seq, at: entry.at, entriesBefore: Number(entry.detail.entriesBefore) });
    }
  });
  return { chain, checkpoint: judgeCheckpoint(read, checkpoint.path, chain.count, hashAtCheckpoint), checkpointStarts };
}

/**
 * Re-reads an audit log and recomputes its chain, without opening the store (for
 * `deputy audit verify`). Reads in chunks, so the log's size does not matter. `end` limits
 * the check to the first `end` bytes.
 */
export async function verifyAuditFile(path: string, end?: number, onEntry?: (entry: AuditEntry) => void): Promise<AuditVerification> {
  let handle;
  try {
    handle = await open(path, 'r');
  } catch (error) {
    if (isMissingFile(error)) throw new DeputyError('DEPUTY_E_NOT_FOUND', { message: `There is no audit log at ${path}.` });
    throw error;
  }
  const verifier = new ChainVerifier(onEntry);
  try {
    await scanLines(handle, (line) => verifier.accept(line.text, line.number, line.terminated), end);
  } finally {
    await handle.close();
  }
  return verifier.result();
}
