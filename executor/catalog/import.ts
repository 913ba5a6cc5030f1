/**
 * Catalog as code: `catalog.yaml` and the scripts it names become a new CatalogSnapshot.
 * Pure and all-or-nothing: it reads files and asks pwsh for parameter schemas, but writes
 * nothing; any problem throws DEPUTY_E_CATALOG_INVALID listing all of them. The caller
 * replaces the store in one step and audits each change.
 */
import { basename, resolve } from 'node:path';
import type { Clock } from '../../lib/clock.ts';
import { DeputyError, type FormField } from '../contract/index.ts';
import { PrincipalSchema, TenantSchema, type Action, type CatalogBaseline, type Plan, type Query, type Script } from '../domain.ts';
import type { ParsedScript } from '../pwsh/parameters.ts';
import type { CatalogSnapshot } from '../store/port.ts';
import { buildAction } from './actions.ts';
import { buildQueries } from './queries.ts';
import { buildConnectorsAndPlans, buildCredentials } from './automation.ts';
import { catalogRoot, readConfined } from './confined.ts';
import { readEntries, type Located } from './file.ts';
import { conflict, decide, fingerprint, type CatalogConflict } from './merge.ts';
import { checkPrincipals, checkTenants, checkUniqueIds } from './references.ts';
import { buildTargets } from './targets.ts';
import { diffSnapshots, refreshChanges, type ImportResult } from './changes.ts';
import { mergeScript, newVersion, readScriptText, refreshVersions, schemasFor, sha256 } from './scripts.ts';
import { YamlSource, type KeyPath } from './yaml-source.ts';

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

/** One script text the folder names: its file, where in catalog.yaml, and (for an earlier version) whether it is the approved one. */
interface IncomingText {
  file: string;
  path: KeyPath;
  hash: string;
  text: string;
  approved?: boolean;
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

  // Three points of view per record (merge.ts): a store from before baselines were kept holds what was last imported.
  const legacy = previous.baseline === undefined;
  const base = previous.baseline ?? { scripts: {}, actions: {}, plans: {} };
  const baseline: CatalogBaseline = { scripts: { ...base.scripts }, actions: {}, plans: {} };
  const conflicts: CatalogConflict[] = [];

  // Script texts, then one pwsh call for every text not yet stored as a version.
  const previousScripts = new Map(previous.scripts.map((script) => [script.id, script]));
  const texts = new Map<string, string>();
  const incoming: { index: number; current: IncomingText; earlier: IncomingText[] }[] = [];
  /** Who a text belongs to; a clone may share texts (with its origin), no other script may. */
  const ownerOfHash = new Map<string, { id: string; clone: boolean }>();
  const ownerInStore = (hash: string) => {
    const id = previous.versions.find((version) => version.hash === hash)?.scriptId;
    return id === undefined ? undefined : { id, clone: previousScripts.get(id)?.clonedFrom !== undefined };
  };
  for (const { index, entry } of entries.scripts) {
    if (!tenantParents.has(entry.tenant)) problems.push(source.problem(['scripts', index, 'tenant'], `unknown tenant "${entry.tenant}"`));
    const wanted: { file: string; path: KeyPath; approved?: boolean }[] = [
      { file: entry.file, path: ['scripts', index, 'file'] },
      ...(entry.earlier ?? []).map((earlier, i) => ({ file: earlier.file, path: ['scripts', index, 'earlier', i, 'file'] as KeyPath, approved: earlier.approved === true })),
    ];
    const read: IncomingText[] = [];
    for (const { file, path, approved } of wanted) {
      const found = await readScriptText(real, file);
      if ('problem' in found) {
        problems.push(source.problem(path, found.problem));
        continue;
      }
      const hash = sha256(found.text);
      const owner = ownerOfHash.get(hash) ?? ownerInStore(hash);
      if (owner !== undefined && owner.id !== entry.id && !owner.clone && entry.clonedFrom === undefined) {
        problems.push(source.problem(path, `${file} has the same text as script "${owner.id}"; give each script its own file`));
        continue;
      }
      if (!ownerOfHash.has(hash)) ownerOfHash.set(hash, { id: entry.id, clone: entry.clonedFrom !== undefined });
      texts.set(hash, found.text);
      read.push({ file, path, hash, text: found.text, ...(approved ? { approved } : {}) });
    }
    const [current, ...earlier] = read;
    if (current && read.length === wanted.length) incoming.push({ index, current, earlier });
  }
  const schemas = await schemasFor(pwshPath, texts, previous);

  // Scripts: those in the file in its order, then earlier ones the file doesn't name (kept; see docs/catalog.md).
  const knownVersions = new Set(previous.versions.map((version) => version.hash));
  const scripts = new Map<string, Script>();
  const { versions, refreshed } = refreshVersions(previous.versions, schemas);
  /** Deleted through the API since the last import: the folder does not bring them back. */
  const keptDeleted = new Set<string>();
  for (const item of incoming) {
    const located = entries.scripts.find((candidate) => candidate.index === item.index);
    const all = [item.current, ...item.earlier];
    const parsed = all.map((incomingText) => ({ incomingText, schema: schemas.get(incomingText.hash) }));
    if (!located || parsed.some(({ schema }) => !schema)) continue;
    const unparsable = parsed.filter(({ schema }) => (schema?.parseErrors.length ?? 0) > 0);
    for (const { incomingText, schema } of unparsable) for (const error of schema?.parseErrors ?? []) problems.push(source.problem(incomingText.path, `${incomingText.file} ${error}`));
    if (unparsable.length > 0) continue;
    const { entry } = located;
    const stored = previousScripts.get(entry.id);
    const decision = decide({ store: stored?.currentHash, folder: item.current.hash, base: base.scripts[entry.id], basedOn: entry.basedOn, legacy });
    if (decision.take === 'store') {
      conflicts.push(conflict('script', entry.id, decision.kind, ` (store ${stored?.currentHash.slice(0, 12) ?? 'deleted'}, folder ${item.current.hash.slice(0, 12)})`));
      if (stored) scripts.set(entry.id, stored);
      else keptDeleted.add(entry.id);
      continue;
    }
    const schema = schemas.get(item.current.hash) as ParsedScript;
    const description = entry.description ?? schema.synopsis;
    scripts.set(
      entry.id,
      mergeScript(stored, {
        id: entry.id,
        name: entry.name ?? basename(entry.file).replace(/\.ps1$/i, ''),
        ...(description ? { description } : {}),
        tenant: entry.tenant,
        file: entry.file,
        hash: item.current.hash,
        ...(entry.status ? { statedStatus: entry.status } : {}),
        earlier: item.earlier.map((earlier) => ({ hash: earlier.hash, ...(earlier.approved ? { approved: true } : {}) })),
        ...(entry.clonedFrom ? { clonedFrom: entry.clonedFrom } : {}),
      }),
    );
    baseline.scripts[entry.id] = item.current.hash;
    for (const { incomingText, schema: parsedSchema } of parsed) {
      if (knownVersions.has(incomingText.hash) || !parsedSchema) continue;
      knownVersions.add(incomingText.hash);
      versions.push(newVersion(entry.id, incomingText.hash, incomingText.text, parsedSchema, clock));
    }
  }
  for (const script of previous.scripts) if (!scripts.has(script.id) && !keptDeleted.has(script.id)) scripts.set(script.id, script);

  const parameters = new Map<string, FormField[]>(versions.map((version) => [version.hash, version.parameters]));
  const parameterSets = new Map(versions.flatMap((version) => (version.parameterSets ? [[version.hash, version.parameterSets] as const] : [])));
  const queries = buildQueries(entries.queries, previous.queries ?? [], { source, scripts, parameters, problems });
  const principals = new Set(entries.principals.map(({ entry }) => entry.id));
  const credentials = buildCredentials(source, entries.credentials, new Set(tenantParents.keys()), problems);
  const credentialTenants = new Map(credentials.map((credential) => [credential.id, { tenant: credential.tenant }]));
  const principalTenants = new Map(entries.principals.map(({ entry }) => [entry.id, { tenant: entry.tenant }]));
  const targets = buildTargets(entries.targets, { source, tenantParents, principals: principalTenants, credentials, problems });
  const queriesById = new Map(queries.map((query) => [query.id, query]));
  const actions = mergeRecords('action', previous.actions, base.actions, baseline.actions, legacy, conflicts, entries.actions, (located) =>
    buildAction(located, { source, scripts, parameters, parameterSets, queries: queriesById, tenantParents, principals, credentials: credentialTenants, targets, problems }),
  );
  // Plans of the folder that were deleted through the API are not built (their action may be gone too).
  const previousPlans = previous.plans ?? [];
  const planEntries = entries.plans.filter(({ entry }) => !wasDeleted(previousPlans, base.plans, legacy, entry.id));
  const { connectors, plans: folderPlans } = buildConnectorsAndPlans(
    { ...entries, plans: planEntries },
    {
      source,
      root,
      tenants: new Set(tenantParents.keys()),
      principals: principalTenants,
      actions,
      targets,
      tenantParents,
      problems,
    },
  );
  const builtPlans = new Map(folderPlans.map((plan) => [plan.id, plan]));
  const plans = mergeRecords('plan', previousPlans, base.plans, baseline.plans, legacy, conflicts, entries.plans, ({ entry }) => builtPlans.get(entry.id));
  problems.push(...danglingReferences(conflicts, scripts, actions, plans, queriesById, principals, tenantParents));
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
    baseline,
  };
  return { snapshot, changes: [...diffSnapshots(previous, snapshot), ...refreshChanges(refreshed)], conflicts };
}

/** The store lost a record the folder still has, since the last import: deleted through the API. */
function wasDeleted(stored: readonly { id: string }[], base: Record<string, string>, legacy: boolean, id: string): boolean {
  return !legacy && base[id] !== undefined && !stored.some((record) => record.id === id);
}

/**
 * Actions or plans from the folder, decided record by record against the store (merge.ts): the
 * folder's in its order, then those only the store has and keeps. `nextBaseline` learns what the
 * folder said for every record the folder won (or the previous baseline for those the store kept).
 */
function mergeRecords<T extends { id: string }, E extends { id: string; basedOn?: string | undefined }>(
  object: 'action' | 'plan',
  stored: readonly T[],
  base: Record<string, string>,
  nextBaseline: Record<string, string>,
  legacy: boolean,
  conflicts: CatalogConflict[],
  folderEntries: readonly Located<E>[],
  build: (located: Located<E>) => T | undefined,
): T[] {
  const storedById = new Map(stored.map((record) => [record.id, record]));
  const merged: T[] = [];
  const keep = (id: string) => {
    const previousBase = base[id];
    if (previousBase !== undefined) nextBaseline[id] = previousBase;
  };
  for (const located of folderEntries) {
    const { id } = located.entry;
    const record = storedById.get(id);
    if (wasDeleted(stored, base, legacy, id)) {
      conflicts.push(conflict(object, id, 'kept-deleted'));
      keep(id);
      continue;
    }
    const built = build(located);
    if (!built) continue;
    const decision = decide({ store: record && fingerprint(record), folder: fingerprint(built), base: base[id], basedOn: located.entry.basedOn, legacy });
    if (decision.take === 'folder' || !record) {
      merged.push(built);
      nextBaseline[id] = fingerprint(built);
    } else {
      conflicts.push(conflict(object, id, decision.kind));
      merged.push(record);
      keep(id);
    }
  }
  const inFolder = new Set(folderEntries.map(({ entry }) => entry.id));
  for (const record of stored) {
    if (inFolder.has(record.id)) continue;
    const decision = decide({ store: fingerprint(record), folder: undefined, base: base[record.id], legacy });
    if (decision.take === 'folder') continue;
    conflicts.push(conflict(object, record.id, decision.kind));
    merged.push(record);
    keep(record.id);
  }
  return merged;
}

/** Records kept from the store must still fit the folder's catalog around them. */
function danglingReferences(
  conflicts: readonly CatalogConflict[],
  scripts: ReadonlyMap<string, Script>,
  actions: readonly Action[],
  plans: readonly Plan[],
  queries: ReadonlyMap<string, Query>,
  principals: ReadonlySet<string>,
  tenants: ReadonlyMap<string, string | undefined>,
): string[] {
  const kept = new Set(conflicts.map((item) => `${item.object}:${item.id}`));
  const actionIds = new Set(actions.map((action) => action.id));
  const problems: string[] = [];
  for (const action of actions) {
    if (!kept.has(`action:${action.id}`)) continue;
    if (!scripts.has(action.scriptId)) problems.push(`${CATALOG_FILE}: action "${action.id}", kept from the store, uses script "${action.scriptId}", which is gone`);
    if (!tenants.has(action.tenant)) problems.push(`${CATALOG_FILE}: action "${action.id}", kept from the store, belongs to tenant "${action.tenant}", which the folder removes`);
    for (const [field, binding] of Object.entries(action.choices ?? {})) {
      if (!queries.has(binding.query)) problems.push(`${CATALOG_FILE}: action "${action.id}", kept from the store, fills ${field} from query "${binding.query}", which the folder removes`);
    }
  }
  for (const plan of plans) {
    if (!kept.has(`plan:${plan.id}`)) continue;
    if (!actionIds.has(plan.action)) problems.push(`${CATALOG_FILE}: plan "${plan.id}", kept from the store, runs action "${plan.action}", which the folder removes`);
    if (!principals.has(plan.principal)) problems.push(`${CATALOG_FILE}: plan "${plan.id}", kept from the store, runs as principal "${plan.principal}", whom the folder removes`);
  }
  return problems;
}
