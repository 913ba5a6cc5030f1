/**
 * The audit log in `<dataDir>/audit.jsonl`: one canonical-JSON entry per line, hash-chained
 * (see audit-chain.ts). Only the chain's head (last seq and hash) is kept in memory, read
 * from the file's tail on open. Entries are sealed onto the chain by the single group-commit
 * flusher, in submission order, so concurrent appends can never fork the chain, and the head
 * moves only once a batch is durable.
 */
import { open } from 'node:fs/promises';
import type { Clock } from '../../lib/clock.ts';
import type { Logger } from '../../lib/logger.ts';
import { DeputyError } from '../contract/errors.ts';
import type { AuditEntry, AuditInput } from '../domain.ts';
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
  ) {}

  static async open(path: string, clock: Clock, logger: Logger): Promise<FileAudit> {
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
          },
        };
      });
      return new FileAudit(path, log, clock);
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
  }
}

/**
 * Re-reads an audit log and recomputes its chain, without opening the store (for
 * `deputy audit verify`). Reads in chunks, so the log's size does not matter. `end` limits
 * the check to the first `end` bytes.
 */
export async function verifyAuditFile(path: string, end?: number): Promise<AuditVerification> {
  let handle;
  try {
    handle = await open(path, 'r');
  } catch (error) {
    if (isMissingFile(error)) throw new DeputyError('DEPUTY_E_NOT_FOUND', { message: `There is no audit log at ${path}.` });
    throw error;
  }
  const verifier = new ChainVerifier();
  try {
    await scanLines(handle, (line) => verifier.accept(line.text, line.number, line.terminated), end);
  } finally {
    await handle.close();
  }
  return verifier.result();
}
