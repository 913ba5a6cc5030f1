/**
 * The memory backend: the file backend's semantics (validation, ordering, the audit hash
 * chain and its verification) without a disk, for fast tests elsewhere. Nothing survives
 * the process.
 */
import type { Clock } from '../../lib/clock.ts';
import type { AuditEntry, AuditInput, RunRecord } from '../domain.ts';
import { ChainVerifier, EntrySelection, GENESIS_HEAD, parseAuditLine, prepareAudit, seal, type ChainHead } from './audit-chain.ts';
import { CatalogIndex, IndexedCatalog, parseSnapshot } from './catalog-index.ts';
import type { AuditLog, AuditVerification, CatalogSnapshot, RunFilter, RunStore, Store, StoredRecord } from './port.ts';
import { assertRunId, parseOutput, parseRun, RunIndex } from './run-index.ts';

class MemoryCatalog extends IndexedCatalog {
  async replace(next: CatalogSnapshot): Promise<void> {
    this.index = new CatalogIndex(parseSnapshot(next));
  }
}

class MemoryRuns implements RunStore {
  private readonly index = new RunIndex();
  private readonly outputs = new Map<string, StoredRecord[]>();

  async put(run: RunRecord): Promise<void> {
    this.index.apply(parseRun(run));
  }
  get(id: string): RunRecord | undefined {
    return this.index.get(id);
  }
  list(filter: RunFilter): RunRecord[] {
    return this.index.list(filter);
  }
  unfinished(): RunRecord[] {
    return this.index.unfinished();
  }
  async writeOutput(runId: string, records: StoredRecord[]): Promise<void> {
    assertRunId(runId);
    this.outputs.set(runId, structuredClone(parseOutput(records)));
  }
  async readOutput(runId: string): Promise<StoredRecord[]> {
    assertRunId(runId);
    return structuredClone(this.outputs.get(runId) ?? []);
  }
}

/** Keeps the stored lines themselves, so verify() checks exactly what the file backend would. */
class MemoryAudit implements AuditLog {
  private readonly lines: string[] = [];
  private head: ChainHead = GENESIS_HEAD;

  constructor(private readonly clock: Clock) {}

  async append(input: AuditInput): Promise<AuditEntry> {
    const { entry, line } = seal(prepareAudit(input, new Date(this.clock.now()).toISOString()), this.head);
    this.lines.push(line.slice(0, -1));
    this.head = { seq: entry.seq, hash: entry.hash };
    return entry;
  }

  async verify(): Promise<AuditVerification> {
    const verifier = new ChainVerifier();
    this.lines.every((line, index) => verifier.accept(line, index + 1));
    return verifier.result();
  }

  async read(options?: { sinceSeq?: number; limit?: number }): Promise<AuditEntry[]> {
    const selection = new EntrySelection(options);
    this.lines.every((line, index) => selection.offer(parseAuditLine(line, `entry line ${index + 1}`)));
    return selection.result();
  }
}

export function createMemoryStore(options: { clock: Clock }): Store {
  return {
    catalog: new MemoryCatalog(),
    runs: new MemoryRuns(),
    audit: new MemoryAudit(options.clock),
    close: async () => {},
  };
}
