/**
 * The audit log's hash chain, shared by every backend.
 *
 * Each entry holds `seq` (1, 2, 3 …), `prevHash` (the previous entry's `hash`, or
 * GENESIS_HASH for the first) and `hash` = SHA-256 (hex) over the canonical JSON of the entry
 * without `hash`: keys sorted at every level, no whitespace. Changing, removing, adding or
 * moving any line breaks the chain at that point, and `ChainVerifier` names where.
 */
import { createHash } from 'node:crypto';
import { z } from 'zod';
import { DeputyError } from '../contract/errors.ts';
import { AuditEntrySchema, type AuditEntry, type AuditInput } from '../domain.ts';
import type { AuditVerification } from './port.ts';

export const GENESIS_HASH = '0'.repeat(64);

export interface ChainHead {
  seq: number;
  hash: string;
}

export const GENESIS_HEAD: ChainHead = { seq: 0, hash: GENESIS_HASH };

const AuditInputSchema = AuditEntrySchema.omit({ seq: true, at: true, prevHash: true, hash: true, detail: true }).extend({
  detail: z.record(z.string(), z.unknown()).optional(),
});

/** JSON with keys sorted at every level: the same value always gives the same text. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map((item) => canonicalJson(item ?? null)).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const fields = Object.keys(value)
      .sort()
      .filter((key) => (value as Record<string, unknown>)[key] !== undefined)
      .map((key) => `${JSON.stringify(key)}:${canonicalJson((value as Record<string, unknown>)[key])}`);
    return `{${fields.join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

export function hashOf(entryWithoutHash: Record<string, unknown>): string {
  return createHash('sha256').update(canonicalJson(entryWithoutHash), 'utf8').digest('hex');
}

/**
 * Bounds on what one entry may hold, whoever writes it: a caller that passes along something a
 * client sent (a header, an id from a URL, an input) cannot make the log grow faster than
 * entries are written. Past a bound, the value is cut and says so.
 */
export const AUDIT_LIMITS = {
  /** type, correlationId, actor, via, subject. */
  fieldChars: 256,
  /** Each string inside `detail` (keys too). */
  detailStringChars: 1024,
  /** Items of an array, keys of an object, inside `detail`. */
  items: 64,
  depth: 6,
  /** The whole of `detail` as JSON; past it, tighter bounds, then only a note of what was there. */
  detailBytes: 8 * 1024,
} as const;

function boundString(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max)}…[${text.length - max} more characters]`;
}

interface ValueBounds {
  chars: number;
  items: number;
}

function boundValue(value: unknown, bounds: ValueBounds, depth = 0): unknown {
  if (typeof value === 'string') return boundString(value, bounds.chars);
  if (value === null || typeof value !== 'object') return value;
  if (depth >= AUDIT_LIMITS.depth) return '…[nested too deep]';
  if (Array.isArray(value)) {
    const kept = value.slice(0, bounds.items).map((item) => boundValue(item, bounds, depth + 1));
    return value.length > bounds.items ? [...kept, `…[${value.length - bounds.items} more items]`] : kept;
  }
  const entries = Object.entries(value);
  const kept = entries.slice(0, bounds.items).map(([key, item]) => [boundString(key, bounds.chars), boundValue(item, bounds, depth + 1)]);
  if (entries.length > bounds.items) kept.push(['…', `${entries.length - bounds.items} more keys`]);
  return Object.fromEntries(kept);
}

/**
 * `detail` (plain JSON already) within AUDIT_LIMITS: each value cut at the usual bounds, then,
 * if the whole is still too big, at tighter ones, and only then replaced by a note.
 */
export function boundDetail(detail: Record<string, unknown>): Record<string, unknown> {
  const attempts: ValueBounds[] = [
    { chars: AUDIT_LIMITS.detailStringChars, items: AUDIT_LIMITS.items },
    { chars: 128, items: 16 },
  ];
  for (const bounds of attempts) {
    const bounded = boundValue(detail, bounds) as Record<string, unknown>;
    if (Buffer.byteLength(JSON.stringify(bounded), 'utf8') <= AUDIT_LIMITS.detailBytes) return bounded;
  }
  return { truncated: `${Buffer.byteLength(JSON.stringify(detail), 'utf8')} bytes of detail were left out`, keys: Object.keys(detail).slice(0, 16).map((key) => boundString(key, 64)) };
}

/** An append request, validated and reduced to plain JSON, stamped with its time. */
export interface PreparedAudit {
  fields: Omit<AuditEntry, 'seq' | 'prevHash' | 'hash'>;
}

/**
 * Validates an append, turns `detail` into plain JSON now and applies AUDIT_LIMITS, so that a
 * bad value fails the caller's append instead of a whole batch later, no entry grows past the
 * limits, and what is hashed is exactly what is read back.
 */
export function prepareAudit(input: AuditInput, at: string): PreparedAudit {
  const parsed = AuditInputSchema.safeParse(input);
  if (!parsed.success) {
    throw new DeputyError('DEPUTY_E_INTERNAL', { detail: `invalid audit entry: ${z.prettifyError(parsed.error)}` });
  }
  let detail: Record<string, unknown>;
  try {
    detail = JSON.parse(JSON.stringify(parsed.data.detail ?? {})) as Record<string, unknown>;
  } catch (error) {
    throw new DeputyError('DEPUTY_E_INTERNAL', { detail: 'audit detail is not serializable as JSON', cause: error });
  }
  const field = (text: string) => boundString(text, AUDIT_LIMITS.fieldChars);
  const { actor, via, subject } = parsed.data;
  return {
    fields: {
      at,
      type: field(parsed.data.type),
      outcome: parsed.data.outcome,
      correlationId: field(parsed.data.correlationId),
      ...(actor === undefined ? {} : { actor: field(actor) }),
      ...(via === undefined ? {} : { via: field(via) }),
      ...(subject === undefined ? {} : { subject: field(subject) }),
      detail: boundDetail(detail),
    },
  };
}

/** Links a prepared entry onto `head`. Returns the entry and the line to store (canonical JSON + newline). */
export function seal(prepared: PreparedAudit, head: ChainHead): { entry: AuditEntry; line: string } {
  const body = { ...prepared.fields, seq: head.seq + 1, prevHash: head.hash };
  const entry: AuditEntry = { ...body, hash: hashOf(body) };
  return { entry, line: `${canonicalJson(entry)}\n` };
}

/** Reads a stored line as an entry, for reading the log (not for verifying it). */
export function parseAuditLine(text: string, where: string): AuditEntry {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    throw new DeputyError('DEPUTY_E_INTERNAL', { message: `The audit log is damaged: ${where} is not valid JSON. Run "deputy audit verify".`, cause: error });
  }
  const parsed = AuditEntrySchema.safeParse(raw);
  if (!parsed.success) {
    throw new DeputyError('DEPUTY_E_INTERNAL', {
      message: `The audit log is damaged: ${where} is not an audit entry. Run "deputy audit verify".`,
      detail: z.prettifyError(parsed.error),
    });
  }
  return parsed.data;
}

/**
 * Checks a log line by line, in order, and remembers the first break. Hashes are recomputed
 * from each line's own JSON (not from the schema's output), so a field added to a line is
 * noticed too.
 */
export class ChainVerifier {
  private head: ChainHead = GENESIS_HEAD;
  private failure: { brokenAt: number; reason: string } | undefined;

  /** `onEntry` sees each entry once it verified (the checkpoint check looks for one seq). */
  constructor(private readonly onEntry?: (entry: AuditEntry) => void) {}

  /** Returns false once the chain is broken (no point reading further). */
  accept(text: string, lineNumber: number, terminated = true): boolean {
    if (this.failure) return false;
    const expected = this.head.seq + 1;
    if (!terminated) return this.fail(expected, `line ${lineNumber} is incomplete (a write was cut off)`);
    let raw: unknown;
    try {
      raw = JSON.parse(text);
    } catch {
      return this.fail(expected, `line ${lineNumber} is not valid JSON`);
    }
    const parsed = AuditEntrySchema.safeParse(raw);
    if (!parsed.success) {
      const first = parsed.error.issues[0];
      return this.fail(expected, `line ${lineNumber} is not an audit entry (${first?.path.join('.') || 'entry'}: ${first?.message ?? 'invalid'})`);
    }
    const entry = parsed.data;
    if (entry.seq !== expected) {
      return this.fail(expected, `line ${lineNumber} holds entry ${entry.seq} where entry ${expected} belongs (a line was deleted, added or moved)`);
    }
    if (entry.prevHash !== this.head.hash) {
      const previous = expected === 1 ? 'the genesis value' : `the hash of entry ${expected - 1}`;
      return this.fail(expected, `entry ${expected} does not link to ${previous} (prevHash differs)`);
    }
    const { hash: _stored, ...withoutHash } = raw as Record<string, unknown>;
    if (hashOf(withoutHash) !== entry.hash) {
      return this.fail(expected, `entry ${expected} was changed after it was written (its hash does not match its content)`);
    }
    this.head = { seq: entry.seq, hash: entry.hash };
    this.onEntry?.(entry);
    return true;
  }

  result(): AuditVerification {
    const count = this.head.seq;
    return this.failure ? { ok: false, count, ...this.failure } : { ok: true, count };
  }

  private fail(brokenAt: number, reason: string): false {
    this.failure = { brokenAt, reason };
    return false;
  }
}

/**
 * What `read({ sinceSeq, limit })` returns, newest last: with `sinceSeq`, the first `limit`
 * entries after it (paging forward); without it, the last `limit` entries (a tail).
 */
export class EntrySelection {
  private readonly entries: AuditEntry[] = [];

  constructor(private readonly options: { sinceSeq?: number; limit?: number } = {}) {}

  /** Returns false when no later entry can be selected. */
  offer(entry: AuditEntry): boolean {
    const { sinceSeq, limit } = this.options;
    if (limit !== undefined && limit <= 0) return false;
    if (sinceSeq !== undefined) {
      if (entry.seq <= sinceSeq) return true;
      this.entries.push(entry);
      return limit === undefined || this.entries.length < limit;
    }
    this.entries.push(entry);
    // Trim in bulk now and then, so that keeping a tail of a long log stays linear.
    if (limit !== undefined && this.entries.length > 2 * limit) this.entries.splice(0, this.entries.length - limit);
    return true;
  }

  result(): AuditEntry[] {
    const { sinceSeq, limit } = this.options;
    if (limit !== undefined && limit <= 0) return [];
    return sinceSeq === undefined && limit !== undefined ? this.entries.slice(-limit) : this.entries;
  }
}
