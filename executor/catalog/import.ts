/**
 * Catalog as code: `catalog.yaml` and the scripts it names become a new CatalogSnapshot.
 * Pure and all-or-nothing: it reads files and asks pwsh for parameter schemas, but writes
 * nothing; any problem throws DEPUTY_E_CATALOG_INVALID listing all of them. The caller
 * replaces the store in one step and audits each change.
 */
import { basename, resolve } from 'node:path';
import type { Clock } from '../../lib/clock.ts';
import { DeputyError, type FormField } from '../contract/index.ts';
import { PrincipalSchema, TenantSchema, type Action, type Script } from '../domain.ts';
import type { CatalogSnapshot } from '../store/port.ts';
import { buildAction } from './actions.ts';
import { buildQueries } from './queries.ts';
import { buildConnectorsAndPlans, buildCredentials } from './automation.ts';
import { catalogRoot, readConfined } from './confined.ts';
import { readEntries } from './file.ts';
import { checkPrincipals, checkTenants, checkUniqueIds } from './references.ts';
import { buildTargets } from './targets.ts';
import { diffSnapshots, refreshChanges, type ImportResult } from './changes.ts';
import { mergeScript, newVersion, readScriptText, refreshVersions, schemasFor, sha256 } from './scripts.ts';
import { YamlSource } from './yaml-source.ts';

export const CATALOG_FILE = 'catalog.yaml';

export { diffSnapshots, type CatalogChange, type ImportResult } from './changes.ts';
export { importScriptFolder, type ImportReport, type ImportScriptFolderOptions } from './folder.ts';

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
  const { versions, refreshed } = refreshVersions(previous.versions, schemas);
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
  const parameterSets = new Map(versions.flatMap((version) => (version.parameterSets ? [[version.hash, version.parameterSets] as const] : [])));
  const queries = buildQueries(entries.queries, previous.queries ?? [], { source, scripts, parameters, problems });
  const principals = new Set(entries.principals.map(({ entry }) => entry.id));
  const credentials = buildCredentials(source, entries.credentials, new Set(tenantParents.keys()), problems);
  const credentialTenants = new Map(credentials.map((credential) => [credential.id, { tenant: credential.tenant }]));
  const principalTenants = new Map(entries.principals.map(({ entry }) => [entry.id, { tenant: entry.tenant }]));
  const targets = buildTargets(entries.targets, { source, tenantParents, principals: principalTenants, credentials, problems });
  const actions: Action[] = [];
  for (const located of entries.actions) {
    const action = buildAction(located, {
      source,
      scripts,
      parameters,
      parameterSets,
      queries: new Map(queries.map((query) => [query.id, query])),
      tenantParents,
      principals,
      credentials: credentialTenants,
      targets,
      problems,
    });
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
    ...(queries.length > 0 ? { queries } : {}),
    ...(targets.length > 0 ? { targets } : {}),
  };
  return { snapshot, changes: [...diffSnapshots(previous, snapshot), ...refreshChanges(refreshed)] };
}
