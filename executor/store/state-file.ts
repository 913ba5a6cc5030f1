/**
 * The file implementations of the asynchronous state ports (state-port.ts), in the data folder
 * and in the formats the executor writes there today, so phase two can switch callers without
 * moving data: plan state and script reviews (JSON maps), hook idempotency keys and mail
 * (JSON lines that expire), credentials (credentials.json), runs (IndexedFileRuns over
 * runs.jsonl). One process owns a data folder (executor/data-lock.ts), so a compare-and-set
 * here is a check and a change in one synchronous step, and leases live in memory.
 */
import { join } from 'node:path';
import type { Clock } from '../../lib/clock.ts';
import type { Logger } from '../../lib/logger.ts';
import { z } from 'zod';
import { IDEMPOTENCY_FILE, SIGNATURES_FILE } from '../connectors/index.ts';
import { SignatureLedger, type SignatureClaim } from '../connectors/replay.ts';
import { IDEMPOTENCY_TTL_MS } from '../connectors/idempotency.ts';
import { DeputyError, ScriptReviewStateSchema } from '../contract/index.ts';
import { CREDENTIALS_FILE } from '../credentials/vault.ts';
import { MAIL_LEDGER_FILE } from '../mail/index.ts';
import { MessageLedger, type MessageEntry } from '../mail/ledger.ts';
import { PLAN_STATE_FILE } from '../plans/index.ts';
import { PlanStateSchema } from '../plans/state.ts';
import { FileCredentialRecords } from './credentials-file.ts';
import { ExpiringLog } from './expiring-log.ts';
import { storePaths } from './file.ts';
import { ensurePrivateDir } from './files.ts';
import { DurableJsonMap } from './json-map.ts';
import { IndexedFileRuns } from './runs-indexed.ts';
import type {
  IdempotencyRecords,
  HookSignatureRecords,
  IdempotencyClaim,
  IdempotentAnswer,
  Lease,
  Leases,
  MailLedgerRecords,
  RecordMap,
  Revisioned,
  StateStore,
} from './state-port.ts';

export const SCRIPT_REVIEWS_FILE = 'script-reviews.json';
/** The file executor/app.ts keeps `POST /v1/runs` Idempotency-Keys in. */
export const RUN_IDEMPOTENCY_FILE = 'run-idempotency.jsonl';
export const RUN_INDEX_DIR = 'runs-index';

export class FileRecordMap<T> implements RecordMap<T> {
  private readonly map: DurableJsonMap<T>;
  /** Revisions count from 1 for each key this process has seen; only this process writes the file. */
  private readonly revisions = new Map<string, number>();

  constructor(
    path: string,
    private readonly schema: z.ZodType<T>,
  ) {
    this.map = new DurableJsonMap(path, schema);
  }

  async get(key: string): Promise<Revisioned<T> | undefined> {
    const value = this.map.get(key);
    return value === undefined ? undefined : { value, revision: this.revisions.get(key) ?? 1 };
  }

  async set(key: string, value: T): Promise<void> {
    const valid = this.parse(value);
    this.revisions.set(key, this.revisionOf(key) + 1);
    await this.map.set(key, valid);
  }

  async compareAndSet(key: string, expected: number | undefined, value: T): Promise<number | undefined> {
    const valid = this.parse(value);
    const current = this.map.get(key) === undefined ? undefined : this.revisionOf(key);
    if (current !== expected) return undefined;
    // Claimed before the write is awaited: a second writer in the meantime sees the new revision.
    const revision = (current ?? 0) + 1;
    this.revisions.set(key, revision);
    await this.map.set(key, valid);
    return revision;
  }

  delete(key: string): Promise<void> {
    this.revisions.delete(key);
    return this.map.delete(key);
  }

  private parse(value: T): T {
    const parsed = this.schema.safeParse(value);
    if (!parsed.success) throw new DeputyError('DEPUTY_E_INTERNAL', { detail: `invalid record: ${z.prettifyError(parsed.error)}` });
    return parsed.data;
  }

  private revisionOf(key: string): number {
    return this.revisions.get(key) ?? (this.map.get(key) === undefined ? 0 : 1);
  }
}

/**
 * The lines of hook-idempotency.jsonl and run-idempotency.jsonl, as IdempotencyStore writes them:
 * answered keys (a key in flight lives in memory only). `connector` holds the scope.
 */
const IdempotencyLineSchema = z.object({
  connector: z.string(),
  key: z.string(),
  bodyHash: z.string(),
  runId: z.string(),
  state: z.string(),
  correlationId: z.string(),
  at: z.number(),
  /** Absent in lines written before the TTL was per key: those live for IDEMPOTENCY_TTL_MS. */
  expiresAt: z.number().optional(),
});
type IdempotencyLine = z.infer<typeof IdempotencyLineSchema>;
type KeyState = { line: IdempotencyLine; expiresAt: number } | { inFlight: true; bodyHash: string; expiresAt: number };

const keyOf = (scope: string, key: string) => `${scope}\u0000${key}`;
const lineExpiry = (line: IdempotencyLine) => line.expiresAt ?? line.at + IDEMPOTENCY_TTL_MS;

export class FileIdempotency implements IdempotencyRecords {
  private readonly keys = new Map<string, KeyState>();

  private constructor(
    private readonly log: ExpiringLog<IdempotencyLine>,
    private readonly clock: Clock,
  ) {}

  static async open(path: string, clock: Clock): Promise<FileIdempotency> {
    const { log, entries } = await ExpiringLog.open(path, IdempotencyLineSchema, (line) => lineExpiry(line) > clock.now());
    const records = new FileIdempotency(log, clock);
    for (const line of entries) records.keys.set(keyOf(line.connector, line.key), { line, expiresAt: lineExpiry(line) });
    return records;
  }

  async claim(request: { scope: string; key: string; bodyHash: string; claimTtlMs: number }): Promise<IdempotencyClaim> {
    const id = keyOf(request.scope, request.key);
    const now = this.clock.now();
    const known = this.keys.get(id);
    if (known && known.expiresAt > now) {
      if ('inFlight' in known) return { kind: 'in-flight', bodyHash: known.bodyHash };
      return { kind: 'answered', bodyHash: known.line.bodyHash, answer: { runId: known.line.runId, state: known.line.state, correlationId: known.line.correlationId } };
    }
    this.keys.set(id, { inFlight: true, bodyHash: request.bodyHash, expiresAt: now + request.claimTtlMs });
    return { kind: 'owner' };
  }

  async complete(request: { scope: string; key: string; answer: IdempotentAnswer; ttlMs: number }): Promise<void> {
    const id = keyOf(request.scope, request.key);
    const held = this.keys.get(id);
    const bodyHash = held && 'inFlight' in held ? held.bodyHash : held?.line.bodyHash;
    if (bodyHash === undefined) return;
    const now = this.clock.now();
    const line: IdempotencyLine = { connector: request.scope, key: request.key, bodyHash, ...request.answer, at: now, expiresAt: now + request.ttlMs };
    this.keys.set(id, { line, expiresAt: line.expiresAt ?? now });
    await this.log.append(line);
  }

  async release(scope: string, key: string): Promise<void> {
    const id = keyOf(scope, key);
    const held = this.keys.get(id);
    if (held && 'inFlight' in held) this.keys.delete(id);
  }

  async renew(request: { scope: string; key: string; claimTtlMs: number }): Promise<boolean> {
    const held = this.keys.get(keyOf(request.scope, request.key));
    if (!held || !('inFlight' in held)) return false;
    held.expiresAt = Math.max(held.expiresAt, this.clock.now() + request.claimTtlMs);
    return true;
  }

  settled(): Promise<void> {
    return this.log.settled();
  }

  /** Drops answered keys and lapsed claims whose time passed, and compacts the file to the answered keys left. */
  async prune(): Promise<number> {
    const now = this.clock.now();
    let dropped = 0;
    for (const [id, state] of this.keys) {
      if (state.expiresAt > now) continue;
      this.keys.delete(id);
      dropped += 1;
    }
    await this.log.compact([...this.keys.values()].flatMap((state) => ('line' in state ? [state.line] : [])));
    return dropped;
  }
}

/** The signature port over the connectors' SignatureLedger (hook-signatures.jsonl). */
export class FileHookSignatures implements HookSignatureRecords {
  constructor(private readonly ledger: SignatureLedger) {}

  claim(connector: string, digest: string, idempotencyKey: string | undefined, expiresAt: number): Promise<SignatureClaim> {
    return this.ledger.claim(connector, digest, idempotencyKey, expiresAt);
  }

  prune(): Promise<number> {
    return this.ledger.prune();
  }
}

/** The mail ledger's port over MessageLedger (mail-messages.jsonl). */
export class FileMailLedger implements MailLedgerRecords {
  constructor(private readonly ledger: MessageLedger) {}

  async claim(entry: Omit<MessageEntry, 'at' | 'runId'>): Promise<boolean> {
    const { first, written } = this.ledger.claim(entry);
    await written;
    return first;
  }

  attachRun(connector: string, messageId: string, runId: string): Promise<void> {
    return this.ledger.attachRun(connector, messageId, runId);
  }

  async forRun(runId: string): Promise<MessageEntry | undefined> {
    return this.ledger.forRun(runId);
  }

  prune(before: number): Promise<number> {
    return this.ledger.prune(before);
  }
}

/** Leases for one process: with files there is one executor per data folder, so they only need to be consistent within it. */
export class MemoryLeases implements Leases {
  private readonly leases = new Map<string, Lease>();

  constructor(private readonly clock: Clock) {}

  async acquire(name: string, holder: string, ttlMs: number): Promise<boolean> {
    const now = this.clock.now();
    const current = this.leases.get(name);
    if (current && current.holder !== holder && current.expiresAt > now) return false;
    this.leases.set(name, { name, holder, acquiredAt: current?.holder === holder ? current.acquiredAt : now, expiresAt: now + ttlMs });
    return true;
  }

  async release(name: string, holder: string): Promise<void> {
    if (this.leases.get(name)?.holder === holder) this.leases.delete(name);
  }

  async get(name: string): Promise<Lease | undefined> {
    const lease = this.leases.get(name);
    return lease && { ...lease };
  }

  async expired(prefix: string): Promise<Lease[]> {
    const now = this.clock.now();
    return [...this.leases.values()].filter((lease) => lease.name.startsWith(prefix) && lease.expiresAt <= now).sort((a, b) => a.name.localeCompare(b.name));
  }
}

export interface FileStateOptions {
  dataDir: string;
  clock: Clock;
  logger: Logger;
  /** Run lines between index checkpoints (default 10,000). */
  checkpointEvery?: number;
}

export interface FileState extends StateStore {
  runs: IndexedFileRuns;
}

/**
 * Opens every state port on the data folder. Not yet used by the executor (phase two): its
 * runs share runs.jsonl with FileRuns, so the two must never be open on one folder at once.
 */
export async function openFileState(options: FileStateOptions): Promise<FileState> {
  const { dataDir, clock, logger } = options;
  const paths = storePaths(dataDir);
  await ensurePrivateDir(dataDir, logger);
  await ensurePrivateDir(paths.outputDir, logger);
  const runs = await IndexedFileRuns.open({
    path: paths.runs,
    indexDir: join(dataDir, RUN_INDEX_DIR),
    outputDir: paths.outputDir,
    logger,
    ...(options.checkpointEvery === undefined ? {} : { checkpointEvery: options.checkpointEvery }),
  });
  try {
    const hookIdempotency = await FileIdempotency.open(join(dataDir, IDEMPOTENCY_FILE), clock);
    const runIdempotency = await FileIdempotency.open(join(dataDir, RUN_IDEMPOTENCY_FILE), clock);
    const signatures = await SignatureLedger.open(join(dataDir, SIGNATURES_FILE), clock);
    const ledger = await MessageLedger.open(join(dataDir, MAIL_LEDGER_FILE), clock);
    return {
      runs,
      planStates: new FileRecordMap(join(dataDir, PLAN_STATE_FILE), PlanStateSchema),
      scriptReviews: new FileRecordMap(join(dataDir, SCRIPT_REVIEWS_FILE), ScriptReviewStateSchema),
      hookIdempotency,
      runIdempotency,
      hookSignatures: new FileHookSignatures(signatures),
      mailLedger: new FileMailLedger(ledger),
      credentials: new FileCredentialRecords(join(dataDir, CREDENTIALS_FILE)),
      leases: new MemoryLeases(clock),
      close: async () => {
        await Promise.all([ledger.settled(), hookIdempotency.settled(), runIdempotency.settled(), signatures.settled()]);
        await runs.close();
      },
    };
  } catch (error) {
    await runs.close();
    throw error;
  }
}
