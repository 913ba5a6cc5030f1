/**
 * Script texts, their versions and their status rules, shared by the catalog import and the
 * import of a bare folder of scripts.
 */
import { createHash } from 'node:crypto';
import type { ScriptStatus } from '../contract/index.ts';
import type { Script, ScriptVersion } from '../domain.ts';
import { parseScriptParameters, type ParsedScript } from '../pwsh/parameters.ts';
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
 * with (a version never changes), new texts go to pwsh, all in one call.
 */
export async function schemasFor(
  pwshPath: string,
  texts: ReadonlyMap<string, string>,
  previous: CatalogSnapshot,
): Promise<Map<string, ParsedScript>> {
  const known = new Map(previous.versions.map((version) => [version.hash, version]));
  const schemas = new Map<string, ParsedScript>();
  const unknown: { key: string; text: string }[] = [];
  for (const [hash, text] of texts) {
    const stored = known.get(hash);
    if (stored) schemas.set(hash, { parameters: stored.parameters, ...(stored.synopsis ? { synopsis: stored.synopsis } : {}), parseErrors: [] });
    else unknown.push({ key: hash, text });
  }
  for (const [hash, parsed] of await parseScriptParameters(pwshPath, unknown)) schemas.set(hash, parsed);
  return schemas;
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
}

/**
 * The status rules (docs/catalog.md):
 * - a new script takes the stated status, else Draft;
 * - a changed text is a new version, with the stated status, else Draft;
 * - an unchanged text keeps the stored status (an administrator may have changed it in chat);
 * - `approvedHash` is the last approved hash and survives a change of text.
 */
export function mergeScript(previous: Script | undefined, incoming: IncomingScript): Script {
  const changedText = previous?.currentHash !== incoming.hash;
  const status: ScriptStatus = !changedText && previous ? previous.status : (incoming.statedStatus ?? 'draft');
  const versions = previous ? (previous.versions.includes(incoming.hash) ? previous.versions : [...previous.versions, incoming.hash]) : [incoming.hash];
  const approvedHash = status === 'approved' ? incoming.hash : previous?.approvedHash;
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
  };
}

export function newVersion(scriptId: string, hash: string, text: string, schema: ParsedScript, clock: Clock): ScriptVersion {
  return {
    hash,
    scriptId,
    text,
    parameters: schema.parameters,
    ...(schema.synopsis ? { synopsis: schema.synopsis } : {}),
    createdAt: new Date(clock.now()).toISOString(),
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
