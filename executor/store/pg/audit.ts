/**
 * The audit log in `deputy.audit`: each entry's canonical JSON line, exactly as the file
 * backend would write it, hash-chained (audit-chain.ts). Appends of one process are grouped
 * into one transaction; each transaction locks the chain's head row first, so executors
 * appending at the same moment take turns and the chain never forks.
 */
import type { Clock } from '../../../lib/clock.ts';
import type { Pool } from '../../../lib/postgres/pool.ts';
import { inTransaction } from '../../../lib/postgres/pool.ts';
import type { AuditEntry, AuditInput } from '../../domain.ts';
import { ChainVerifier, EntrySelection, parseAuditLine, prepareAudit, seal, type ChainHead, type PreparedAudit } from '../audit-chain.ts';
import type { AuditLog, AuditVerification } from '../port.ts';
import { storeFailure, TransactionBatches } from './batches.ts';

/** Lines read per query while verifying or reading, so a long log never sits in memory whole. */
const PAGE = 2000;

export class PgAudit implements AuditLog {
  private readonly batches: TransactionBatches<PreparedAudit, AuditEntry>;

  constructor(
    private readonly pool: Pool,
    private readonly clock: Clock,
  ) {
    this.batches = new TransactionBatches((batch) => this.write(batch), 'appending to the audit log');
  }

  async append(input: AuditInput): Promise<AuditEntry> {
    // Stamped and validated now, in submission order, like the file backend.
    return this.batches.submit(prepareAudit(input, new Date(this.clock.now()).toISOString()));
  }

  async verify(): Promise<AuditVerification> {
    const verifier = new ChainVerifier();
    let position = 0;
    await this.scan(0, (line) => {
      position += 1;
      return verifier.accept(line, position);
    });
    return verifier.result();
  }

  async read(options?: { sinceSeq?: number; limit?: number }): Promise<AuditEntry[]> {
    const { sinceSeq, limit } = options ?? {};
    if (limit !== undefined && limit <= 0) return [];
    if (sinceSeq === undefined && limit !== undefined) {
      const { rows } = await this.query<{ seq: string; line: string }>('SELECT seq, line FROM deputy.audit ORDER BY seq DESC LIMIT $1', [limit]);
      return rows.reverse().map((row) => parseAuditLine(row.line, `audit entry ${row.seq}`));
    }
    const selection = new EntrySelection(options);
    await this.scan(sinceSeq ?? 0, (line, seq) => selection.offer(parseAuditLine(line, `audit entry ${seq}`)));
    return selection.result();
  }

  close(): Promise<void> {
    return this.batches.close();
  }

  /** Calls `onLine` for each entry after `afterSeq`, in order, until it returns false. */
  private async scan(afterSeq: number, onLine: (line: string, seq: string) => boolean): Promise<void> {
    let last = afterSeq;
    for (;;) {
      const { rows } = await this.query<{ seq: string; line: string }>('SELECT seq, line FROM deputy.audit WHERE seq > $1 ORDER BY seq LIMIT $2', [last, PAGE]);
      for (const row of rows) if (!onLine(row.line, row.seq)) return;
      if (rows.length < PAGE) return;
      last = Number(rows.at(-1)?.seq);
    }
  }

  private async query<R extends object>(text: string, values: unknown[]): Promise<{ rows: R[] }> {
    try {
      return await this.pool.query<R>(text, values);
    } catch (error) {
      throw storeFailure('reading the audit log', error);
    }
  }

  private write(batch: PreparedAudit[]): Promise<AuditEntry[]> {
    return inTransaction(this.pool, async (client) => {
      const { rows } = await client.query<{ seq: string; hash: string }>('SELECT seq, hash FROM deputy.audit_head FOR UPDATE');
      const stored = rows[0];
      if (!stored) throw new Error('deputy.audit_head is empty');
      let head: ChainHead = { seq: Number(stored.seq), hash: stored.hash };
      const sealed = batch.map((prepared) => {
        const result = seal(prepared, head);
        head = { seq: result.entry.seq, hash: result.entry.hash };
        return result;
      });
      await client.query(
        `INSERT INTO deputy.audit (seq, line, hash, prev_hash, at)
         SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::timestamptz[])`,
        [
          sealed.map(({ entry }) => entry.seq),
          sealed.map(({ line }) => line.slice(0, -1)),
          sealed.map(({ entry }) => entry.hash),
          sealed.map(({ entry }) => entry.prevHash),
          sealed.map(({ entry }) => entry.at),
        ],
      );
      await client.query('UPDATE deputy.audit_head SET seq = $1, hash = $2', [head.seq, head.hash]);
      return sealed.map(({ entry }) => entry);
    });
  }
}
