/** Gathers a run's records: masked first, then counted against the per-run caps. */
import type { StoredRecord } from '../store/port.ts';
import type { ExecutionLimits } from './types.ts';
import type { Masker } from './mask.ts';

export class RecordCollector {
  private readonly kept: StoredRecord[] = [];
  private bytes = 0;
  private cut = false;
  private dropped = 0;

  constructor(
    private readonly limits: ExecutionLimits,
    private readonly mask: Masker,
    private readonly onKept?: (record: StoredRecord) => void,
  ) {}

  /** Text bytes plus the size of `data` as JSON count against `maxOutputBytes`. */
  add(raw: StoredRecord): void {
    if (this.cut) {
      this.dropped += 1;
      return;
    }
    const record = this.mask(raw);
    const size = Buffer.byteLength(record.text) + (record.data === undefined ? 0 : Buffer.byteLength(JSON.stringify(record.data)));
    if (this.kept.length >= this.limits.maxRecords || this.bytes + size > this.limits.maxOutputBytes) {
      this.cut = true;
      this.dropped += 1;
      return;
    }
    this.bytes += size;
    this.kept.push(record);
    this.onKept?.(record);
  }

  get truncated(): boolean {
    return this.cut;
  }

  /** The kept records, and when the caps cut the run, a last note saying so (outside the caps). */
  records(): StoredRecord[] {
    if (!this.cut) return [...this.kept];
    const note: StoredRecord = {
      stream: 'warning',
      text: `Deputy: output cut at the limit of ${this.limits.maxRecords} records / ${this.limits.maxOutputBytes} bytes; ${this.dropped} further record(s) were dropped.`,
    };
    return [...this.kept, note];
  }
}
