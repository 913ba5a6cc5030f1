/**
 * The storage port. lowdb + append-only JSON lines is the embedded backend; another backend
 * (PostgreSQL) implements the same interfaces and runs the same test suite.
 */
import type { ChatIdentity } from '../contract/index.ts';
import type { Action, AuditEntry, AuditInput, Connector, CredentialRef, Plan, Principal, RunRecord, Script, ScriptVersion, Target, Tenant } from '../domain.ts';

/** Everything the catalog import writes, replaced in one step so nothing is ever half-imported. */
export interface CatalogSnapshot {
  tenants: Tenant[];
  principals: Principal[];
  scripts: Script[];
  versions: ScriptVersion[];
  actions: Action[];
  /** Automation (executor/connectors, credentials, plans); absent in catalogs that define none. */
  connectors?: Connector[];
  credentials?: CredentialRef[];
  plans?: Plan[];
  /** Target systems actions run on over SSH (docs/targets.md). */
  targets?: Target[];
}

/** Every getter returns a copy: changing a returned record never changes the store. */
export interface CatalogStore {
  snapshot(): CatalogSnapshot;
  /** Atomically replaces the whole catalog (write to a temp file, then rename). */
  replace(next: CatalogSnapshot): Promise<void>;
  getTenant(id: string): Tenant | undefined;
  getPrincipal(id: string): Principal | undefined;
  findPrincipalByIdentity(identity: ChatIdentity): Principal | undefined;
  getScript(id: string): Script | undefined;
  getVersion(hash: string): ScriptVersion | undefined;
  getAction(id: string): Action | undefined;
  listActions(): Action[];
  getTarget(id: string): Target | undefined;
  listTargets(): Target[];
}

/** One line of a run's stored output. `data` holds an output object as JSON, when it was one. */
export interface StoredRecord {
  stream: 'output' | 'error' | 'warning' | 'verbose' | 'information' | 'progress';
  text: string;
  data?: unknown;
}

export interface RunFilter {
  principal?: string;
  state?: RunRecord['state'];
  limit: number;
}

/**
 * Runs are listed in creation order (the order of each id's first put). Getters return copies.
 * Run ids are letters, digits, `_` and `-` (they name output files); others are refused with
 * DEPUTY_E_BAD_REQUEST.
 */
export interface RunStore {
  /** Durable when the promise resolves: the API answers 202 only after this. */
  put(run: RunRecord): Promise<void>;
  get(id: string): RunRecord | undefined;
  /** Newest first. */
  list(filter: RunFilter): RunRecord[];
  /** Runs not in a final state, oldest first (for recovery after a restart). */
  unfinished(): RunRecord[];
  /** Stores a run's full output, replacing any earlier one atomically. */
  writeOutput(runId: string, records: StoredRecord[]): Promise<void>;
  /** A run's stored output; empty when none was written (yet). */
  readOutput(runId: string): Promise<StoredRecord[]>;
}

/**
 * `count` is the number of entries verified intact (all of them when ok); `brokenAt` is the
 * seq of the first entry that is missing, moved, changed or unreadable.
 */
export type AuditVerification =
  | { ok: true; count: number }
  | { ok: false; count: number; brokenAt: number; reason: string };

export interface AuditLog {
  append(entry: AuditInput): Promise<AuditEntry>;
  verify(): Promise<AuditVerification>;
  /**
   * Newest last; for tests and the admin views. With `sinceSeq`: the first `limit` entries after
   * that seq (paging forward). Without: the last `limit` entries.
   */
  read(options?: { sinceSeq?: number; limit?: number }): Promise<AuditEntry[]>;
}

export interface Store {
  catalog: CatalogStore;
  runs: RunStore;
  audit: AuditLog;
  close(): Promise<void>;
}
