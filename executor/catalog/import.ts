/**
 * Catalog as code: `catalog.yaml` and the scripts it names become a new CatalogSnapshot.
 * Pure and all-or-nothing: it reads files and asks pwsh for parameter schemas, but writes
 * nothing; any problem throws DEPUTY_E_CATALOG_INVALID listing all of them. The caller
 * replaces the store in one step and audits each change.
 */
import { readdir } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import type { Clock } from '../../lib/clock.ts';
import { DeputyError, type FormField, type ScriptStatus } from '../contract/index.ts';
import { PrincipalSchema, TenantSchema, type Action, type Script, type ScriptVersion } from '../domain.ts';
import type { CatalogSnapshot } from '../store/port.ts';
import { buildAction } from './actions.ts';
import { buildConnectorsAndPlans, buildCredentials } from './automation.ts';
import { catalogRoot, readConfined } from './confined.ts';
import { readEntries } from './file.ts';
import { checkPrincipals, checkTenants, checkUniqueIds } from './references.ts';
import { buildTargets } from './targets.ts';
import { mergeScript, newVersion, readScriptText, schemasFor, scriptIdFromFileName, sha256 } from './scripts.ts';
import { YamlSource } from './yaml-source.ts';

export const CATALOG_FILE = 'catalog.yaml';

/** One change an import makes; the caller writes one audit entry per change. */
export interface CatalogChange {
  object: 'tenant' | 'principal' | 'script' | 'action' | 'credential' | 'connector' | 'plan' | 'target';
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
}

export interface ImportCatalogOptions {
  folder: string;
  previous: CatalogSnapshot;
  pwshPath: string;
  clock: Clock;
}

function invalid(problems: string[]): DeputyError {
  return new DeputyError('DEPUTY_E_CATALOG_INVALID', { message: problems.join('\n'), detail: problems.join('\n') });
}

export async function importCatalog({ folder, previous, pwshPath, clock }: ImportCatalogOptions): Promise<ImportResult> {
  // `root` as named (connector key files resolve against it); `real` where its files must really be.
  const root = resolve(folder);
  const cannotRead = (code: string | undefined) => invalid([`${CATALOG_FILE}:1: cannot be read (${code ?? 'error'}) in ${root}`]);
  let real: string;
  try {
    real = await catalogRoot(root);
  } catch (cause) {
    throw cannotRead((cause as NodeJS.ErrnoException).code);
  }
  const read = await readConfined(real, CATALOG_FILE);
  if ('problem' in read) throw read.code ? cannotRead(read.code) : invalid([`${CATALOG_FILE}:1: ${read.problem}`]);
  const text = read.bytes.toString('utf8');
  const source = new YamlSource(CATALOG_FILE, text);
  if (source.syntaxErrors.length > 0) throw invalid(source.syntaxErrors);

  const problems: string[] = [];
  const entries = readEntries(source, problems);
  checkTenants(source, entries, problems);
  const tenantParents = new Map(entries.tenants.map(({ entry }) => [entry.id, entry.parent]));
  checkPrincipals(source, entries, new Set(tenantParents.keys()), problems);
  checkUniqueIds(source, 'scripts', entries.scripts, problems);
  checkUniqueIds(source, 'actions', entries.actions, problems);

  // Script texts, then one pwsh call for every text not yet stored as a version.
  const texts = new Map<string, string>();
  const incoming: { index: number; id: string; hash: string; text: string; file: string }[] = [];
  const ownerOfHash = new Map<string, string>();
  for (const { index, entry } of entries.scripts) {
    if (!tenantParents.has(entry.tenant)) problems.push(source.problem(['scripts', index, 'tenant'], `unknown tenant "${entry.tenant}"`));
    const read = await readScriptText(real, entry.file);
    if ('problem' in read) {
      problems.push(source.problem(['scripts', index, 'file'], read.problem));
      continue;
    }
    const hash = sha256(read.text);
    const owner = ownerOfHash.get(hash) ?? previous.versions.find((version) => version.hash === hash)?.scriptId;
    if (owner !== undefined && owner !== entry.id) {
      problems.push(source.problem(['scripts', index, 'file'], `${entry.file} has the same text as script "${owner}"; give each script its own file`));
      continue;
    }
    ownerOfHash.set(hash, entry.id);
    texts.set(hash, read.text);
    incoming.push({ index, id: entry.id, hash, text: read.text, file: entry.file });
  }
  const schemas = await schemasFor(pwshPath, texts, previous);

  // Scripts: those in the file in its order, then earlier ones the file doesn't name (kept; see docs/catalog.md).
  const previousScripts = new Map(previous.scripts.map((script) => [script.id, script]));
  const knownVersions = new Set(previous.versions.map((version) => version.hash));
  const scripts = new Map<string, Script>();
  const versions: ScriptVersion[] = [...previous.versions];
  for (const item of incoming) {
    const located = entries.scripts.find((candidate) => candidate.index === item.index);
    const schema = schemas.get(item.hash);
    if (!located || !schema) continue;
    if (schema.parseErrors.length > 0) {
      for (const error of schema.parseErrors) problems.push(source.problem(['scripts', item.index, 'file'], `${item.file} ${error}`));
      continue;
    }
    const { entry } = located;
    const description = entry.description ?? schema.synopsis;
    scripts.set(
      entry.id,
      mergeScript(previousScripts.get(entry.id), {
        id: entry.id,
        name: entry.name ?? basename(entry.file).replace(/\.ps1$/i, ''),
        ...(description ? { description } : {}),
        tenant: entry.tenant,
        file: entry.file,
        hash: item.hash,
        ...(entry.status ? { statedStatus: entry.status } : {}),
      }),
    );
    if (!knownVersions.has(item.hash)) {
      knownVersions.add(item.hash);
      versions.push(newVersion(entry.id, item.hash, item.text, schema, clock));
    }
  }
  for (const script of previous.scripts) if (!scripts.has(script.id)) scripts.set(script.id, script);

  const parameters = new Map<string, FormField[]>(versions.map((version) => [version.hash, version.parameters]));
  const principals = new Set(entries.principals.map(({ entry }) => entry.id));
  const credentials = buildCredentials(source, entries.credentials, new Set(tenantParents.keys()), problems);
  const credentialTenants = new Map(credentials.map((credential) => [credential.id, { tenant: credential.tenant }]));
  const principalTenants = new Map(entries.principals.map(({ entry }) => [entry.id, { tenant: entry.tenant }]));
  const targets = buildTargets(entries.targets, { source, tenantParents, principals: principalTenants, credentials, problems });
  const actions: Action[] = [];
  for (const located of entries.actions) {
    const action = buildAction(located, { source, scripts, parameters, tenantParents, principals, credentials: credentialTenants, targets, problems });
    if (action) actions.push(action);
  }
  const { connectors, plans } = buildConnectorsAndPlans(entries, {
    source,
    root,
    tenants: new Set(tenantParents.keys()),
    principals: principalTenants,
    actions,
    targets,
    tenantParents,
    problems,
  });
  if (problems.length > 0) throw invalid(problems);

  const snapshot: CatalogSnapshot = {
    tenants: entries.tenants.map(({ entry }) => TenantSchema.parse(entry)),
    principals: entries.principals.map(({ entry }) => PrincipalSchema.parse(entry)),
    scripts: [...scripts.values()],
    versions,
    actions,
    ...(credentials.length > 0 ? { credentials } : {}),
    ...(connectors.length > 0 ? { connectors } : {}),
    ...(plans.length > 0 ? { plans } : {}),
    ...(targets.length > 0 ? { targets } : {}),
  };
  return { snapshot, changes: diffSnapshots(previous, snapshot) };
}

export interface ImportScriptFolderOptions {
  folder: string;
  /** The tenant new scripts belong to; it must exist already. */
  tenant: string;
  previous: CatalogSnapshot;
  pwshPath: string;
  clock: Clock;
}

/**
 * `deputy import <folder>` on bare `.ps1` files: each becomes a Draft script (its id the file
 * name in kebab-case), or a new Draft version when its text changed. Tenants, principals and
 * actions are left as they are.
 */
export async function importScriptFolder({ folder, tenant, previous, pwshPath, clock }: ImportScriptFolderOptions): Promise<ImportResult> {
  const root = resolve(folder);
  const problems: string[] = [];
  if (!previous.tenants.some((candidate) => candidate.id === tenant)) problems.push(`${root}: unknown tenant "${tenant}"`);
  let real: string;
  let names: string[];
  try {
    real = await catalogRoot(root);
    // Links are listed too, so that one leading out of the folder is refused by name, not skipped in silence.
    names = (await readdir(real, { withFileTypes: true }))
      .filter((item) => (item.isFile() || item.isSymbolicLink()) && /\.ps1$/i.test(item.name))
      .map((item) => item.name)
      .sort();
  } catch (cause) {
    throw invalid([`${root}: cannot be read (${(cause as NodeJS.ErrnoException).code ?? 'error'})`]);
  }
  if (names.length === 0) problems.push(`${root}: no .ps1 files`);

  const previousScripts = new Map(previous.scripts.map((script) => [script.id, script]));
  const files: { name: string; id: string; hash: string; text: string }[] = [];
  const texts = new Map<string, string>();
  for (const name of names) {
    const id = scriptIdFromFileName(name);
    const clash = files.find((file) => file.id === id);
    const existing = previousScripts.get(id);
    if (!/^[a-z0-9][a-z0-9._-]{0,79}$/.test(id)) problems.push(`${name}: cannot make a script id from this file name`);
    else if (clash) problems.push(`${name}: gives the same script id "${id}" as ${clash.name}`);
    else if (existing && existing.tenant !== tenant) problems.push(`${name}: script "${id}" already exists in tenant "${existing.tenant}"`);
    const read = await readScriptText(real, name);
    if ('problem' in read) {
      problems.push(read.problem);
      continue;
    }
    const hash = sha256(read.text);
    const owner = files.find((file) => file.hash === hash)?.id ?? previous.versions.find((version) => version.hash === hash)?.scriptId;
    if (owner !== undefined && owner !== id) {
      problems.push(`${name}: has the same text as script "${owner}"; give each script its own text`);
      continue;
    }
    files.push({ name, id, hash, text: read.text });
    texts.set(hash, read.text);
  }
  const schemas = await schemasFor(pwshPath, texts, previous);

  const scripts = new Map(previousScripts);
  const versions = [...previous.versions];
  const knownVersions = new Set(versions.map((version) => version.hash));
  for (const file of files) {
    const schema = schemas.get(file.hash);
    if (!schema) continue;
    if (schema.parseErrors.length > 0) {
      for (const error of schema.parseErrors) problems.push(`${file.name} ${error}`);
      continue;
    }
    const existing = previousScripts.get(file.id);
    const description = existing?.description ?? schema.synopsis;
    scripts.set(
      file.id,
      mergeScript(existing, {
        id: file.id,
        name: existing?.name ?? file.name.replace(/\.ps1$/i, ''),
        ...(description ? { description } : {}),
        tenant,
        file: existing?.file ?? join(root, file.name),
        hash: file.hash,
      }),
    );
    if (!knownVersions.has(file.hash)) {
      knownVersions.add(file.hash);
      versions.push(newVersion(file.id, file.hash, file.text, schema, clock));
    }
  }
  if (problems.length > 0) throw invalid(problems);
  const snapshot: CatalogSnapshot = { ...previous, scripts: [...scripts.values()], versions };
  return { snapshot, changes: diffSnapshots(previous, snapshot) };
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
  records('credential', before.credentials ?? [], after.credentials ?? []);
  records('connector', before.connectors ?? [], after.connectors ?? []);
  records('plan', before.plans ?? [], after.plans ?? []);
  records('target', before.targets ?? [], after.targets ?? []);
  return changes;
}
