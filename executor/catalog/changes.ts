/** What an import changes, one entry per record, for the audit and the person who ran it. */
import { isDeepStrictEqual } from 'node:util';
import type { ScriptStatus } from '../contract/index.ts';
import type { ScriptVersion } from '../domain.ts';
import { PARSER_VERSION } from '../pwsh/parameters.ts';
import type { CatalogSnapshot } from '../store/port.ts';
import type { CatalogConflict } from './merge.ts';

/** One change an import makes; the caller writes one audit entry per change. */
export interface CatalogChange {
  object: 'tenant' | 'principal' | 'script' | 'action' | 'query' | 'credential' | 'connector' | 'plan' | 'target';
  id: string;
  change: 'added' | 'updated' | 'removed' | 'new-version';
  /** Scripts: the current version's hash and status after the import. */
  hash?: string;
  status?: ScriptStatus;
  previousHash?: string;
  /** One readable line, e.g. `script set-ooo: new version 3f2a9c1b (draft)`. */
  summary: string;
}

export interface ImportResult {
  snapshot: CatalogSnapshot;
  changes: CatalogChange[];
  /** Records where the store was kept against the folder, because it changed since the last import (merge.ts). */
  conflicts: CatalogConflict[];
}

/** Versions whose form was read again by a newer parser: the text and hash are the same, the schema is not. */
export function refreshChanges(refreshed: readonly ScriptVersion[]): CatalogChange[] {
  return refreshed.map((version) => ({
    object: 'script',
    id: version.scriptId,
    change: 'updated',
    hash: version.hash,
    summary: `script ${version.scriptId}: the parameters of version ${version.hash.slice(0, 12)} were read again (parser ${PARSER_VERSION})`,
  }));
}

/** Records compare as stored (JSON): a key holding undefined is the same as no key. */
function sameRecord(a: unknown, b: unknown): boolean {
  return isDeepStrictEqual(JSON.parse(JSON.stringify(a)), JSON.parse(JSON.stringify(b)));
}

/** What differs between two snapshots, one change per added, updated or removed record. */
export function diffSnapshots(before: CatalogSnapshot, after: CatalogSnapshot): CatalogChange[] {
  const changes: CatalogChange[] = [];
  const records = <T extends { id: string }>(object: CatalogChange['object'], old: T[], next: T[]) => {
    const oldById = new Map(old.map((record) => [record.id, record]));
    const nextIds = new Set(next.map((record) => record.id));
    for (const record of next) {
      const previous = oldById.get(record.id);
      if (!previous) changes.push({ object, id: record.id, change: 'added', summary: `${object} ${record.id}: added` });
      else if (!sameRecord(previous, record)) changes.push({ object, id: record.id, change: 'updated', summary: `${object} ${record.id}: updated` });
    }
    for (const record of old) {
      if (!nextIds.has(record.id)) changes.push({ object, id: record.id, change: 'removed', summary: `${object} ${record.id}: removed` });
    }
  };
  records('tenant', before.tenants, after.tenants);
  records('principal', before.principals, after.principals);

  const oldScripts = new Map(before.scripts.map((script) => [script.id, script]));
  for (const script of after.scripts) {
    const previous = oldScripts.get(script.id);
    const short = script.currentHash.slice(0, 12);
    const state = { hash: script.currentHash, status: script.status };
    if (!previous) {
      changes.push({ object: 'script', id: script.id, change: 'added', ...state, summary: `script ${script.id}: added, version ${short} (${script.status})` });
    } else if (previous.currentHash !== script.currentHash) {
      changes.push({
        object: 'script',
        id: script.id,
        change: 'new-version',
        ...state,
        previousHash: previous.currentHash,
        summary: `script ${script.id}: new version ${short} (${script.status}), was ${previous.currentHash.slice(0, 12)} (${previous.status})`,
      });
    } else if (!sameRecord(previous, script)) {
      changes.push({ object: 'script', id: script.id, change: 'updated', ...state, summary: `script ${script.id}: updated` });
    }
  }
  records('action', before.actions, after.actions);
  records('query', before.queries ?? [], after.queries ?? []);
  records('credential', before.credentials ?? [], after.credentials ?? []);
  records('connector', before.connectors ?? [], after.connectors ?? []);
  records('plan', before.plans ?? [], after.plans ?? []);
  records('target', before.targets ?? [], after.targets ?? []);
  return changes;
}
