/**
 * PostgreSQL implementations of the small state ports (state-port.ts): plan state and script
 * reviews (revisioned records), hook idempotency keys and accepted signatures, the mail ledger,
 * sealed credentials and leases. Every decision that two executors could race on is one
 * statement (an INSERT … ON CONFLICT … WHERE, or an UPDATE … WHERE revision = $n), so the
 * database decides the winner. Times come from the injected clock, like the file backend's;
 * executors sharing a database need synchronized clocks (NTP), as for any lease.
 */
import type { ZodType } from 'zod';
import type { Clock } from '../../../lib/clock.ts';
import type { Pool } from '../../../lib/postgres/pool.ts';
import type { SignatureClaim } from '../../connectors/replay.ts';
import { DeputyError } from '../../contract/errors.ts';
import { CredentialRecordSchema, type CredentialRecord } from '../../credentials/vault.ts';
import { MessageEntrySchema, type MessageEntry } from '../../mail/ledger.ts';
import type {
  CredentialRecords,
  IdempotencyRecords,
  HookSignatureRecords,
  IdempotencyClaim,
  IdempotentAnswer,
  Lease,
  Leases,
  MailLedgerRecords,
  RecordMap,
  Revisioned,
} from '../state-port.ts';
import { storeFailure } from './batches.ts';

type Row = Record<string, unknown>;

async function run<R extends Row = Row>(pool: Pool, what: string, text: string, values: unknown[]): Promise<{ rows: R[]; rowCount: number }> {
  try {
    const result = await pool.query<R>(text, values);
    return { rows: result.rows, rowCount: result.rowCount ?? 0 };
  } catch (error) {
    throw storeFailure(what, error);
  }
}

function parseStored<T>(schema: ZodType<T>, value: unknown, what: string): T {
  const parsed = schema.safeParse(value);
  if (!parsed.success) throw new DeputyError('DEPUTY_E_INTERNAL', { detail: `${what} is invalid: ${parsed.error.message}` });
  return parsed.data;
}

/** The tables that hold revisioned records, and their key and value columns. */
const RECORD_TABLES = {
  planStates: { table: 'deputy.plan_state', key: 'plan_id', value: 'state' },
  scriptReviews: { table: 'deputy.script_reviews', key: 'script_id', value: 'review' },
} as const;

export class PgRecordMap<T> implements RecordMap<T> {
  private readonly table: string;
  private readonly key: string;
  private readonly value: string;

  constructor(
    private readonly pool: Pool,
    where: keyof typeof RECORD_TABLES,
    private readonly schema: ZodType<T>,
  ) {
    ({ table: this.table, key: this.key, value: this.value } = RECORD_TABLES[where]);
  }

  async get(key: string): Promise<Revisioned<T> | undefined> {
    const { rows } = await run<{ value: unknown; revision: string }>(this.pool, `reading ${this.table}`, `SELECT ${this.value} AS value, revision FROM ${this.table} WHERE ${this.key} = $1`, [key]);
    const row = rows[0];
    return row && { value: parseStored(this.schema, row.value, `${this.table} ${key}`), revision: Number(row.revision) };
  }

  async set(key: string, value: T): Promise<void> {
    await run(
      this.pool,
      `writing ${this.table}`,
      `INSERT INTO ${this.table} (${this.key}, ${this.value}) VALUES ($1, $2)
       ON CONFLICT (${this.key}) DO UPDATE SET ${this.value} = EXCLUDED.${this.value}, revision = ${this.table}.revision + 1, updated_at = now()`,
      [key, this.serialize(value)],
    );
  }

  async compareAndSet(key: string, expected: number | undefined, value: T): Promise<number | undefined> {
    const text = this.serialize(value);
    const { rows } =
      expected === undefined
        ? await run<{ revision: string }>(this.pool, `writing ${this.table}`, `INSERT INTO ${this.table} (${this.key}, ${this.value}) VALUES ($1, $2) ON CONFLICT DO NOTHING RETURNING revision`, [key, text])
        : await run<{ revision: string }>(
            this.pool,
            `writing ${this.table}`,
            `UPDATE ${this.table} SET ${this.value} = $2, revision = revision + 1, updated_at = now() WHERE ${this.key} = $1 AND revision = $3 RETURNING revision`,
            [key, text, expected],
          );
    return rows[0] ? Number(rows[0].revision) : undefined;
  }

  async delete(key: string): Promise<void> {
    await run(this.pool, `deleting from ${this.table}`, `DELETE FROM ${this.table} WHERE ${this.key} = $1`, [key]);
  }

  private serialize(value: T): string {
    return JSON.stringify(parseStored(this.schema, value, `a record for ${this.table}`));
  }
}

export class PgIdempotency implements IdempotencyRecords {
  constructor(
    private readonly pool: Pool,
    private readonly clock: Clock,
    /** Which requests: a hook's (`hook`) or `POST /v1/runs` (`run`). */
    private readonly kind: 'hook' | 'run',
  ) {}

  async claim(request: { scope: string; key: string; bodyHash: string; claimTtlMs: number }): Promise<IdempotencyClaim> {
    const now = this.clock.now();
    const id = [this.kind, request.scope, request.key];
    // A record can vanish between the two statements (its owner released it): then claim again.
    for (let attempt = 0; attempt < 5; attempt += 1) {
      const { rowCount } = await run(
        this.pool,
        'claiming an idempotency key',
        `INSERT INTO deputy.idempotency_keys (kind, scope, key, body_hash, answer, created_at, expires_at) VALUES ($1, $2, $3, $4, NULL, $5, $6)
         ON CONFLICT (kind, scope, key) DO UPDATE SET body_hash = EXCLUDED.body_hash, answer = NULL, created_at = EXCLUDED.created_at, expires_at = EXCLUDED.expires_at
         WHERE deputy.idempotency_keys.expires_at <= EXCLUDED.created_at`,
        [...id, request.bodyHash, new Date(now), new Date(now + request.claimTtlMs)],
      );
      if (rowCount === 1) return { kind: 'owner' };
      const { rows } = await run<{ body_hash: string; answer: IdempotentAnswer | null }>(
        this.pool,
        'reading an idempotency key',
        'SELECT body_hash, answer FROM deputy.idempotency_keys WHERE kind = $1 AND scope = $2 AND key = $3',
        id,
      );
      const row = rows[0];
      if (row) return row.answer === null ? { kind: 'in-flight', bodyHash: row.body_hash } : { kind: 'answered', bodyHash: row.body_hash, answer: row.answer };
    }
    throw new DeputyError('DEPUTY_E_BUSY', { detail: `idempotency key ${request.key} of ${request.scope} keeps changing hands` });
  }

  async complete(request: { scope: string; key: string; answer: IdempotentAnswer; ttlMs: number }): Promise<void> {
    await run(this.pool, 'storing an idempotent answer', 'UPDATE deputy.idempotency_keys SET answer = $4, expires_at = $5 WHERE kind = $1 AND scope = $2 AND key = $3', [
      this.kind,
      request.scope,
      request.key,
      JSON.stringify(request.answer),
      new Date(this.clock.now() + request.ttlMs),
    ]);
  }

  async release(scope: string, key: string): Promise<void> {
    await run(this.pool, 'releasing an idempotency key', 'DELETE FROM deputy.idempotency_keys WHERE kind = $1 AND scope = $2 AND key = $3 AND answer IS NULL', [this.kind, scope, key]);
  }

  async renew(request: { scope: string; key: string; claimTtlMs: number }): Promise<boolean> {
    const { rowCount } = await run(
      this.pool,
      'renewing an idempotency claim',
      'UPDATE deputy.idempotency_keys SET expires_at = GREATEST(expires_at, $4) WHERE kind = $1 AND scope = $2 AND key = $3 AND answer IS NULL',
      [this.kind, request.scope, request.key, new Date(this.clock.now() + request.claimTtlMs)],
    );
    return rowCount === 1;
  }

  async prune(): Promise<number> {
    return (await run(this.pool, 'pruning idempotency keys', 'DELETE FROM deputy.idempotency_keys WHERE kind = $1 AND expires_at <= $2', [this.kind, new Date(this.clock.now())])).rowCount;
  }
}

export class PgHookSignatures implements HookSignatureRecords {
  constructor(
    private readonly pool: Pool,
    private readonly clock: Clock,
  ) {}

  async claim(connector: string, digest: string, idempotencyKey: string | undefined, expiresAt: number): Promise<SignatureClaim> {
    const now = new Date(this.clock.now());
    const { rowCount } = await run(
      this.pool,
      'recording a hook signature',
      `INSERT INTO deputy.hook_signatures (connector, digest, idempotency_key, expires_at) VALUES ($1, $2, $3, $4)
       ON CONFLICT (connector, digest) DO UPDATE SET idempotency_key = EXCLUDED.idempotency_key, expires_at = EXCLUDED.expires_at
       WHERE deputy.hook_signatures.expires_at < $5`,
      [connector, digest, idempotencyKey ?? null, new Date(expiresAt), now],
    );
    if (rowCount === 1) return 'first';
    const { rows } = await run<{ idempotency_key: string | null }>(
      this.pool,
      'reading a hook signature',
      'SELECT idempotency_key FROM deputy.hook_signatures WHERE connector = $1 AND digest = $2',
      [connector, digest],
    );
    const first = rows[0];
    return first && idempotencyKey !== undefined && first.idempotency_key === idempotencyKey ? 'retry' : 'replay';
  }

  /** Drops signatures whose window closed; returns how many. */
  async prune(): Promise<number> {
    return (await run(this.pool, 'pruning hook signatures', 'DELETE FROM deputy.hook_signatures WHERE expires_at < $1', [new Date(this.clock.now())])).rowCount;
  }
}

export class PgMailLedger implements MailLedgerRecords {
  constructor(
    private readonly pool: Pool,
    private readonly clock: Clock,
  ) {}

  async claim(entry: Omit<MessageEntry, 'at' | 'runId'>): Promise<boolean> {
    const { runId: _none, ...record } = parseStored(MessageEntrySchema, { ...entry, at: this.clock.now() }, 'a mail ledger entry');
    const { rowCount } = await run(
      this.pool,
      'recording a mail message',
      'INSERT INTO deputy.mail_messages (connector, message_id, entry, at) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING',
      [record.connector, record.messageId, JSON.stringify(record), new Date(record.at)],
    );
    return rowCount === 1;
  }

  async attachRun(connector: string, messageId: string, runId: string): Promise<void> {
    await run(
      this.pool,
      'recording the run of a mail message',
      'UPDATE deputy.mail_messages SET run_id = $3 WHERE connector = $1 AND message_id = $2',
      [connector, messageId, runId],
    );
  }

  async forRun(runId: string): Promise<MessageEntry | undefined> {
    const { rows } = await run<{ entry: object }>(this.pool, 'reading the mail ledger', 'SELECT entry FROM deputy.mail_messages WHERE run_id = $1 LIMIT 1', [runId]);
    // The entry is stored as claimed; its run is the run_id column.
    return rows[0] && parseStored(MessageEntrySchema, { ...rows[0].entry, runId }, `the mail ledger entry of run ${runId}`);
  }

  async prune(before: number): Promise<number> {
    return (await run(this.pool, 'pruning the mail ledger', 'DELETE FROM deputy.mail_messages WHERE at < $1', [new Date(before)])).rowCount;
  }
}

const CREDENTIAL_COLUMNS = 'id, tenant, kind, username, ciphertext, iv, tag, key_id AS "keyId", version, rotated_at AS "rotatedAt"';

function credentialFrom(row: Row): CredentialRecord {
  const { username, ...rest } = row;
  return parseStored(CredentialRecordSchema, username === null ? rest : row, `stored credential ${String(row.id)}`);
}

export class PgCredentialRecords implements CredentialRecords {
  constructor(private readonly pool: Pool) {}

  async list(): Promise<CredentialRecord[]> {
    const { rows } = await run(this.pool, 'reading credentials', `SELECT ${CREDENTIAL_COLUMNS} FROM deputy.credentials ORDER BY id`, []);
    return rows.map(credentialFrom);
  }

  async get(id: string): Promise<CredentialRecord | undefined> {
    const { rows } = await run(this.pool, 'reading a credential', `SELECT ${CREDENTIAL_COLUMNS} FROM deputy.credentials WHERE id = $1`, [id]);
    return rows[0] && credentialFrom(rows[0]);
  }

  async compareAndSet(record: CredentialRecord, expected: { version: number; keyId: string } | undefined): Promise<boolean> {
    const r = parseStored(CredentialRecordSchema, record, `credential ${record.id}`);
    const values = [r.id, r.tenant, r.kind, r.username ?? null, r.ciphertext, r.iv, r.tag, r.keyId, r.version, r.rotatedAt];
    const { rowCount } =
      expected === undefined
        ? await run(
            this.pool,
            'storing a credential',
            `INSERT INTO deputy.credentials (id, tenant, kind, username, ciphertext, iv, tag, key_id, version, rotated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT DO NOTHING`,
            values,
          )
        : await run(
            this.pool,
            'storing a credential',
            `UPDATE deputy.credentials SET tenant = $2, kind = $3, username = $4, ciphertext = $5, iv = $6, tag = $7, key_id = $8, version = $9, rotated_at = $10
             WHERE id = $1 AND version = $11 AND key_id = $12`,
            [...values, expected.version, expected.keyId],
          );
    return rowCount === 1;
  }
}

export class PgLeases implements Leases {
  constructor(
    private readonly pool: Pool,
    private readonly clock: Clock,
  ) {}

  async acquire(name: string, holder: string, ttlMs: number): Promise<boolean> {
    const now = this.clock.now();
    const { rowCount } = await run(
      this.pool,
      'taking a lease',
      `INSERT INTO deputy.leases (name, holder, acquired_at, expires_at) VALUES ($1, $2, $3, $4)
       ON CONFLICT (name) DO UPDATE SET
         acquired_at = CASE WHEN deputy.leases.holder = EXCLUDED.holder THEN deputy.leases.acquired_at ELSE EXCLUDED.acquired_at END,
         holder = EXCLUDED.holder, expires_at = EXCLUDED.expires_at
       WHERE deputy.leases.holder = EXCLUDED.holder OR deputy.leases.expires_at <= EXCLUDED.acquired_at`,
      [name, holder, new Date(now), new Date(now + ttlMs)],
    );
    return rowCount === 1;
  }

  async release(name: string, holder: string): Promise<void> {
    await run(this.pool, 'releasing a lease', 'DELETE FROM deputy.leases WHERE name = $1 AND holder = $2', [name, holder]);
  }

  async get(name: string): Promise<Lease | undefined> {
    const { rows } = await run<LeaseRow>(this.pool, 'reading a lease', 'SELECT name, holder, acquired_at, expires_at FROM deputy.leases WHERE name = $1', [name]);
    return rows[0] && leaseFrom(rows[0]);
  }

  async expired(prefix: string): Promise<Lease[]> {
    const { rows } = await run<LeaseRow>(
      this.pool,
      'reading expired leases',
      'SELECT name, holder, acquired_at, expires_at FROM deputy.leases WHERE left(name, length($1)) = $1 AND expires_at <= $2 ORDER BY name',
      [prefix, new Date(this.clock.now())],
    );
    return rows.map(leaseFrom);
  }
}

interface LeaseRow extends Row {
  name: string;
  holder: string;
  acquired_at: Date;
  expires_at: Date;
}

function leaseFrom(row: LeaseRow): Lease {
  return { name: row.name, holder: row.holder, acquiredAt: row.acquired_at.getTime(), expiresAt: row.expires_at.getTime() };
}
