/**
 * The asynchronous storage ports every backend implements (files and PostgreSQL), for state
 * that several executors may share. Reads are async, because on PostgreSQL another executor
 * may have changed a record a moment ago; every change that can race is a compare-and-set, so
 * two writers never both win.
 *
 * Each exists with a file and a PostgreSQL implementation and one shared test suite
 * (test/executor/store/state-suite.ts). See docs/store.md, "Asynchronous ports" and "What is wired".
 */
import type { RunState, ScriptReviewState } from '../contract/index.ts';
import type { SignatureClaim } from '../connectors/replay.ts';
import type { CredentialRecord } from '../credentials/record.ts';
import type { RunRecord } from '../domain.ts';
import type { MessageEntry } from '../mail/ledger.ts';
import type { PlanState } from '../plans/state.ts';
import type { AuditLog, CatalogStore, RunFilter, StoredRecord } from './port.ts';

/** The states a run waits or works in; counting them is what the queue caps need. */
export type UnfinishedRunState = Exclude<RunState, 'succeeded' | 'failed' | 'timed-out' | 'cancelled' | 'rejected' | 'interrupted'>;

/** What `transition` did: the run as stored now, or, when another writer moved it first, the run as that writer left it. */
export type TransitionResult = { ok: true; run: RunRecord } | { ok: false; current: RunRecord | undefined };

/**
 * Work that belongs to a change of a run (its audit entry): started once the change is decided,
 * so that on files both reach the disk in one round trip, and awaited with it.
 */
export type Alongside = () => Promise<unknown>;

export interface TransitionOptions {
  /** Started only when the compare-and-set is won; never for the loser. */
  alongside?: Alongside;
  /** The run's output, durable no later than `next` (a final state's output comes with it). */
  output?: StoredRecord[];
}

/**
 * Runs, async. A run is created once and then changes only through `transition`, a
 * compare-and-set on its state: of two executors that both try to start (or cancel) the same
 * queued run, exactly one succeeds, and the other learns the state the winner left.
 * Listing order and id rules are those of port.ts's RunStore.
 */
export interface AsyncRunStore {
  /**
   * Stores a new run; DEPUTY_E_CONFLICT when a run with this id exists. Durable when it resolves,
   * and so is what `alongside` wrote (it is started once the id is known to be free).
   */
  create(run: RunRecord, alongside?: Alongside): Promise<void>;
  /**
   * Replaces the run with `next` only while its stored state is `expected` (`next.state` may
   * equal `expected`: an update within one state, such as recording an approval). Durable when
   * it resolves with `ok: true`, with `options.output` and what `options.alongside` wrote.
   */
  transition(id: string, expected: RunState, next: RunRecord, options?: TransitionOptions): Promise<TransitionResult>;
  get(id: string): Promise<RunRecord | undefined>;
  /** Newest first (by creation). */
  list(filter: RunFilter): Promise<RunRecord[]>;
  /** Runs not in a final state, oldest first. */
  unfinished(): Promise<RunRecord[]>;
  /** How many runs are in `state` (for one principal, when given): the queue caps. */
  count(filter: { state: UnfinishedRunState; principal?: string }): Promise<number>;
  writeOutput(runId: string, records: StoredRecord[]): Promise<void>;
  readOutput(runId: string): Promise<StoredRecord[]>;
}

/**
 * A change and the work that goes with it, side by side. Both are settled before this settles;
 * when either fails it rejects, with the change's error first.
 */
export async function besides(change: Promise<unknown>, alongside: Alongside | undefined): Promise<void> {
  const [changed, beside] = await Promise.allSettled([change, alongside?.()]);
  if (changed.status === 'rejected') throw changed.reason;
  if (beside.status === 'rejected') throw beside.reason;
}

/** A record with the revision it was read at; each write makes the next revision. */
export interface Revisioned<T> {
  value: T;
  revision: number;
}

/**
 * Small records by key (plan state, script reviews). `compareAndSet` is how two executors
 * agree: a plan's schedule point moves only if nobody moved it since it was read, so a
 * scheduled time fires once across all of them.
 */
export interface RecordMap<T> {
  get(key: string): Promise<Revisioned<T> | undefined>;
  /** Writes whatever is there. Durable when it resolves. */
  set(key: string, value: T): Promise<void>;
  /**
   * Writes only while the record is still at `expected` (undefined: only while there is none).
   * Returns the new revision, or undefined when another writer came first.
   */
  compareAndSet(key: string, expected: number | undefined, value: T): Promise<number | undefined>;
  delete(key: string): Promise<void>;
}

/** What a request with an `Idempotency-Key` got the first time. */
export interface IdempotentAnswer {
  runId: string;
  state: string;
  correlationId: string;
}

/**
 * The outcome of claiming a key: `owner` (start the work, then `complete` or `release`),
 * `answered` (a repeat: return the first answer, if the body matches), or `in-flight`
 * (another request, perhaps on another executor, holds the key: wait and claim again).
 */
export type IdempotencyClaim =
  | { kind: 'owner' }
  | { kind: 'answered'; bodyHash: string; answer: IdempotentAnswer }
  | { kind: 'in-flight'; bodyHash: string };

/**
 * `Idempotency-Key` records, for inbound hooks (scope: the connector's id) and for
 * `POST /v1/runs` (scope: `principal:<id>`), each kind in its own file or rows of its own.
 */
export interface IdempotencyRecords {
  /**
   * Takes the key for this request when nobody holds it (or the holder's claim lapsed after
   * `claimTtlMs`, e.g. its executor died). Records older than their TTL count as absent.
   */
  claim(request: { scope: string; key: string; bodyHash: string; claimTtlMs: number }): Promise<IdempotencyClaim>;
  /** Stores the answer; it is returned to repeats for `ttlMs` from now. */
  complete(request: { scope: string; key: string; answer: IdempotentAnswer; ttlMs: number }): Promise<void>;
  /** Gives the key up after a failed start, so the client may retry at once. */
  release(scope: string, key: string): Promise<void>;
  /**
   * Keeps a claim in flight for `claimTtlMs` from now: its holder is still working (a start may
   * take longer than a claim lives, e.g. a query checking the inputs), so it must not lapse.
   * False when the key holds no claim in flight (answered, released, or lapsed and gone).
   */
  renew(request: { scope: string; key: string; claimTtlMs: number }): Promise<boolean>;
  /**
   * Drops records whose TTL has passed (answers, and claims that lapsed after `claimTtlMs`);
   * returns how many. A claim still in flight stays.
   */
  prune(): Promise<number>;
}

/**
 * Signatures of inbound hook requests already accepted (executor/connectors/replay.ts): the same
 * signed request sent again within its window is a replay, refused on whichever executor it
 * arrives, unless it repeats the first request's Idempotency-Key (a sender retrying).
 */
export interface HookSignatureRecords {
  /** `first` (now recorded), `retry` (seen, same Idempotency-Key) or `replay`; records count until `expiresAt` (inclusive). */
  claim(connector: string, digest: string, idempotencyKey: string | undefined, expiresAt: number): Promise<SignatureClaim>;
  /** Drops records whose window closed; returns how many. */
  prune(): Promise<number>;
}

export interface MailLedgerRecords {
  /** True when this connector had not seen the Message-ID (the record is stored then, stamped with the clock); false for a repeat. */
  claim(entry: Omit<MessageEntry, 'at' | 'runId'>): Promise<boolean>;
  attachRun(connector: string, messageId: string, runId: string): Promise<void>;
  forRun(runId: string): Promise<MessageEntry | undefined>;
  /** Drops records older than `before` (epoch ms); returns how many. */
  prune(before: number): Promise<number>;
}

export interface CredentialRecords {
  /** Sealed records (ciphertext, IV, tag and key id; never a value or a key). */
  list(): Promise<CredentialRecord[]>;
  get(id: string): Promise<CredentialRecord | undefined>;
  /**
   * Stores `record` only while the stored one is at `expectedVersion` and `expectedKeyId`
   * (undefined version: only while there is none). A new value is version + 1; re-encryption
   * keeps the version and changes the key. False when another writer came first.
   */
  compareAndSet(record: CredentialRecord, expected: { version: number; keyId: string } | undefined): Promise<boolean>;
}

/**
 * Leases with an expiry: an executor's liveness (`executor:<id>`) and duties that need one
 * owner at a time across executors (the plan scheduler, approval expiry).
 */
export interface Lease {
  name: string;
  holder: string;
  acquiredAt: number;
  expiresAt: number;
}

export interface Leases {
  /** Takes or renews `name` for `holder` when it is free, expired, or already theirs; false when someone else holds it. */
  acquire(name: string, holder: string, ttlMs: number): Promise<boolean>;
  release(name: string, holder: string): Promise<void>;
  get(name: string): Promise<Lease | undefined>;
  /** Leases whose name starts with `prefix` and that have expired (a dead executor's). */
  expired(prefix: string): Promise<Lease[]>;
}

/** Everything above, as one backend provides it. */
export interface StateStore {
  runs: AsyncRunStore;
  planStates: RecordMap<PlanState>;
  scriptReviews: RecordMap<ScriptReviewState>;
  hookIdempotency: IdempotencyRecords;
  runIdempotency: IdempotencyRecords;
  hookSignatures: HookSignatureRecords;
  mailLedger: MailLedgerRecords;
  credentials: CredentialRecords;
  leases: Leases;
  close(): Promise<void>;
}

/** What the executor's services share, on either backend: the catalog, the audit log, and runs through the asynchronous port. */
export interface ExecutorStore {
  catalog: CatalogStore;
  audit: AuditLog;
  runs: AsyncRunStore;
  close(): Promise<void>;
}
