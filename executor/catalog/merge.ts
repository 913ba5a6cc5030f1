/**
 * Catalog as code both ways: the folder and the store may both have changed since the last
 * import (an edit in git, an edit in chat). Each authorable record (a script's text, an action,
 * a plan) is decided from three points of view:
 *
 * - the store's record now,
 * - the folder's record now,
 * - the baseline: what the folder said at the last import (kept in the store), or what the
 *   folder says it was exported from (`basedOn`, written by `deputy export`).
 *
 * When the store has not moved since the baseline, the folder wins (as imports always did).
 * When it has, the store's record is kept and the import reports it: never a silent overwrite
 * of a newer version by an older folder.
 */
import { createHash } from 'node:crypto';
import { z } from 'zod';

/** A short fingerprint of a record as stored (keys sorted), what `basedOn` names for actions and plans. */
export function fingerprint(record: unknown): string {
  return createHash('sha256').update(canonicalJson(record), 'utf8').digest('hex').slice(0, 16);
}

export const FingerprintSchema = z.string().regex(/^[0-9a-f]{16}$/, 'a record fingerprint (16 lower-case hex digits), as deputy export writes it');

function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value).filter(([, item]) => item !== undefined).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([key, item]) => `${JSON.stringify(key)}:${canonicalJson(item)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

export type ConflictKind =
  /** The store changed since the last import; the folder did not: the folder is just behind. */
  | 'kept-newer'
  /** Both changed since the last import, differently. */
  | 'both-changed'
  /** Deleted through the API since the last import; the folder still has it. */
  | 'kept-deleted'
  /** Created through the API; the folder never had it. */
  | 'kept-added';

export interface CatalogConflict {
  object: 'script' | 'action' | 'plan';
  id: string;
  kind: ConflictKind;
  /** One readable sentence with what to do. */
  summary: string;
}

/** One record's three points of view; `undefined` is "no such record". */
export interface ThreeWay {
  store: string | undefined;
  folder: string | undefined;
  /** What the folder said at the last import. */
  base: string | undefined;
  /** What the folder says it was exported from. */
  basedOn?: string | undefined;
  /** A store from before baselines were kept: it is taken to hold exactly what was last imported. */
  legacy: boolean;
}

export type Decision = { take: 'folder' } | { take: 'store'; kind: ConflictKind };

export function decide({ store, folder, base, basedOn, legacy }: ThreeWay): Decision {
  if (store === folder) return { take: 'folder' };
  const storeUnchanged = legacy || store === base || (basedOn !== undefined && store === basedOn);
  if (storeUnchanged) return { take: 'folder' };
  if (store === undefined) return { take: 'store', kind: 'kept-deleted' };
  if (folder === undefined && base === undefined) return { take: 'store', kind: 'kept-added' };
  // The folder still says what it last gave, or what it was exported from: only the store moved.
  const folderUnchanged = folder === base || (basedOn !== undefined && folder === basedOn);
  return { take: 'store', kind: folderUnchanged ? 'kept-newer' : 'both-changed' };
}

const WHAT_TO_DO: Record<ConflictKind, string> = {
  'kept-newer': 'changed through the API since the last import and newer than the folder; kept. Run deputy export to bring the folder up to date.',
  'both-changed': 'changed both through the API and in the folder since the last import; kept the store’s. Merge the two (deputy export writes the store’s) and import again.',
  'kept-deleted': 'deleted through the API since the last import; not re-created from the folder. Remove it from the folder, or create it again.',
  'kept-added': 'created through the API and not in the folder; kept. Run deputy export to add it to the folder.',
};

export function conflict(object: CatalogConflict['object'], id: string, kind: ConflictKind, versions = ''): CatalogConflict {
  return { object, id, kind, summary: `${object} ${id}${versions}: ${WHAT_TO_DO[kind]}` };
}
