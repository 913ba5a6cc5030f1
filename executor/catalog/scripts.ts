/**
 * Script texts, their versions and their status rules, shared by the catalog import and the
 * import of a bare folder of scripts.
 */
import { createHash } from 'node:crypto';
import type { ClonedFrom, ScriptStatus } from '../contract/index.ts';
import type { Script, ScriptVersion } from '../domain.ts';
import { PARSER_VERSION, parseScriptParameters, type ParsedScript } from '../pwsh/parameters.ts';
import type { CatalogSnapshot } from '../store/port.ts';
import type { Clock } from '../../lib/clock.ts';
import { readConfined } from './confined.ts';

export function sha256(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

/**
 * UTF-8 text as PowerShell would read it (a byte order mark is not part of the script), read
 * only from inside the catalog folder `root` (see confined.ts).
 */
export async function readScriptText(root: string, name: string): Promise<{ text: string } | { problem: string }> {
  const read = await readConfined(root, name);
  if ('problem' in read) return read;
  try {
    return { text: new TextDecoder('utf-8', { fatal: true }).decode(read.bytes) };
  } catch {
    return { problem: `${name}: file is not valid UTF-8` };
  }
}

/**
 * The parsed schema of every hash: versions already stored keep the schema they were imported
 * with (a version never changes), new texts go to pwsh, all in one call. Stored versions read
 * by an older parser (see PARSER_VERSION) are read again in the same call, whether or not this
 * import names them: their text is stored with them. Their new schemas are in the answer too.
 */
export async function schemasFor(
  pwshPath: string,
  texts: ReadonlyMap<string, string>,
  previous: CatalogSnapshot,
): Promise<Map<string, ParsedScript>> {
  const known = new Map(previous.versions.map((version) => [version.hash, version]));
  const schemas = new Map<string, ParsedScript>();
  const unknown = new Map<string, string>();
  for (const [hash, text] of texts) {
    const stored = known.get(hash);
    if (stored && isCurrent(stored)) schemas.set(hash, storedSchema(stored));
    else unknown.set(hash, text);
  }
  for (const version of previous.versions) if (!isCurrent(version)) unknown.set(version.hash, version.text);
  const request = [...unknown].map(([key, text]) => ({ key, text }));
  for (const [hash, parsed] of await parseScriptParameters(pwshPath, request)) schemas.set(hash, parsed);
  return schemas;
}

/**
 * Reads again, in one pwsh call, every stored version an older parser read (for a data folder
 * that no catalog import touches at start-up). Nothing to do answers at once, without pwsh.
 */
export async function rereadStaleVersions(pwshPath: string, previous: CatalogSnapshot): Promise<{ snapshot: CatalogSnapshot; refreshed: ScriptVersion[] }> {
  if (previous.versions.every(isCurrent)) return { snapshot: previous, refreshed: [] };
  const { versions, refreshed } = refreshVersions(previous.versions, await schemasFor(pwshPath, new Map(), previous));
  return { snapshot: { ...previous, versions }, refreshed };
}

function isCurrent(version: ScriptVersion): boolean {
  return (version.parserVersion ?? 1) >= PARSER_VERSION;
}

function storedSchema(version: ScriptVersion): ParsedScript {
  return {
    parameters: version.parameters,
    ...(version.parameterSets ? { parameterSets: version.parameterSets } : {}),
    ...(version.synopsis ? { synopsis: version.synopsis } : {}),
    ...(version.usesSrxEnv ? { usesSrxEnv: true } : {}),
    parseErrors: [],
  };
}

/**
 * The stored versions with every schema read again by the current parser replaced (the text and
 * the hash stay); `refreshed` names the versions that changed, for the import's change list.
 */
export function refreshVersions(versions: readonly ScriptVersion[], schemas: ReadonlyMap<string, ParsedScript>): { versions: ScriptVersion[]; refreshed: ScriptVersion[] } {
  const refreshed: ScriptVersion[] = [];
  const next = versions.map((version) => {
    const schema = schemas.get(version.hash);
    if (isCurrent(version) || !schema || schema.parseErrors.length > 0) return version;
    const updated = withSchema(version, schema);
    refreshed.push(updated);
    return updated;
  });
  return { versions: next, refreshed };
}

export interface IncomingScript {
  id: string;
  name: string;
  description?: string;
  tenant: string;
  file: string;
  hash: string;
  /** The status the source states, if it states one. */
  statedStatus?: ScriptStatus;
  /** Earlier versions the source keeps (oldest first); one may be stated as the last approved. */
  earlier?: { hash: string; approved?: boolean }[];
  clonedFrom?: ClonedFrom;
}

/**
 * The status rules (docs/catalog.md):
 * - a new script takes the stated status, else Draft;
 * - a changed text is a new version, with the stated status, else Draft;
 * - an unchanged text keeps the stored status (an administrator may have changed it in chat);
 * - `approvedHash` is the last approved hash and survives a change of text; a source may
 *   state it among its earlier versions (what `deputy export` writes for a Draft whose last
 *   approved version still runs).
 */
export function mergeScript(previous: Script | undefined, incoming: IncomingScript): Script {
  const changedText = previous?.currentHash !== incoming.hash;
  const status: ScriptStatus = !changedText && previous ? previous.status : (incoming.statedStatus ?? 'draft');
  const versions = [...(previous?.versions ?? [])];
  for (const hash of [...(incoming.earlier ?? []).map((version) => version.hash), incoming.hash]) if (!versions.includes(hash)) versions.push(hash);
  const statedApproved = incoming.earlier?.find((version) => version.approved)?.hash;
  const approvedHash = status === 'approved' ? incoming.hash : (statedApproved ?? previous?.approvedHash);
  return {
    id: incoming.id,
    name: incoming.name,
    ...(incoming.description ? { description: incoming.description } : {}),
    tenant: incoming.tenant,
    status,
    currentHash: incoming.hash,
    ...(approvedHash ? { approvedHash } : {}),
    file: incoming.file,
    versions,
    ...(incoming.clonedFrom ? { clonedFrom: incoming.clonedFrom } : {}),
  };
}

export function newVersion(scriptId: string, hash: string, text: string, schema: ParsedScript, clock: Clock): ScriptVersion {
  return withSchema({ hash, scriptId, text, createdAt: new Date(clock.now()).toISOString() }, schema);
}

function withSchema(base: Pick<ScriptVersion, 'hash' | 'scriptId' | 'text' | 'createdAt'>, schema: ParsedScript): ScriptVersion {
  return {
    hash: base.hash,
    scriptId: base.scriptId,
    text: base.text,
    parameters: schema.parameters,
    ...(schema.parameterSets ? { parameterSets: schema.parameterSets } : {}),
    ...(schema.synopsis ? { synopsis: schema.synopsis } : {}),
    ...(schema.usesSrxEnv ? { usesSrxEnv: true } : {}),
    parserVersion: PARSER_VERSION,
    createdAt: base.createdAt,
  };
}

/** `Set-OutOfOffice.ps1` → `set-out-of-office`, `Get-ADUser.ps1` → `get-ad-user`. */
export function scriptIdFromFileName(fileName: string): string {
  return fileName
    .replace(/\.ps1$/i, '')
    .replace(/([a-z0-9])([A-Z])/g, '$1-$2')
    .replace(/([A-Z]+)([A-Z][a-z])/g, '$1-$2')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '');
}
