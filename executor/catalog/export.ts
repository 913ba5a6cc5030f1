/**
 * `deputy export <folder>`: the live catalog as code, `catalog.yaml` plus the scripts it names,
 * so what was authored in chat can be committed to git. Importing the folder again changes
 * nothing; importing it into a fresh store gives the same catalog (what runs: every script's
 * current and last approved text, versions actions are pinned to, queries, actions with their
 * choices, plans, tenants and principals). Superseded Drafts stay in the store and the audit only.
 *
 * Each script, action and plan names what it was exported from (`basedOn`), so an import can
 * tell an edit of the folder since the export (taken) from a folder behind the store (reported).
 */
import { mkdir } from 'node:fs/promises';
import { posix, resolve } from 'node:path';
import { stringify } from 'yaml';
import type { Action, ChoiceBinding, Connector, Plan, Principal, Query, RunAs, Script, Tenant } from '../domain.ts';
import type { CatalogSnapshot } from '../store/port.ts';
import { catalogRoot, writeConfined } from './confined.ts';
import { CATALOG_FILE } from './import.ts';
import { fingerprint } from './merge.ts';

export interface ExportResult {
  /** Files written, relative to the folder, `catalog.yaml` first. */
  files: string[];
  counts: { scripts: number; queries: number; actions: number; plans: number };
}

const HEADER = `# Deputy catalog, written by \`deputy export\`. Import it with \`deputy import <folder>\` (or DEPUTY_CATALOG).
# \`basedOn\` names what each entry was exported from: edit the entries and the files freely; an entry
# changed in the store since the export is kept there and reported, not overwritten.
`;

export async function exportCatalog(snapshot: CatalogSnapshot, folder: string): Promise<ExportResult> {
  const texts = new Map(snapshot.versions.map((version) => [version.hash, version.text]));
  const files = new Map<string, string>();
  const taken = new Set<string>([CATALOG_FILE]);
  const claim = (candidates: (string | undefined)[]): string => {
    const file = candidates.find((candidate): candidate is string => candidate !== undefined && !taken.has(candidate)) as string;
    taken.add(file);
    return file;
  };

  const pinned = new Set(snapshot.actions.map((action) => action.version).filter((version) => version !== 'latest-approved'));
  const scripts = snapshot.scripts.map((script) => {
    const file = claim([insideFolder(script.file), `scripts/${script.id}.ps1`, `scripts/${script.id}.${script.currentHash.slice(0, 12)}.ps1`]);
    files.set(file, textOf(texts, script.currentHash, script.id));
    // Earlier versions that something still runs: the last approved one, and versions actions are pinned to.
    const earlier = script.versions
      .filter((hash) => hash !== script.currentHash && (hash === script.approvedHash || pinned.has(hash)))
      .map((hash) => {
        const earlierFile = claim([posix.join(posix.dirname(file), `${script.id}.${hash.slice(0, 12)}.ps1`)]);
        files.set(earlierFile, textOf(texts, hash, script.id));
        return { file: earlierFile, ...(hash === script.approvedHash ? { approved: true } : {}) };
      });
    return scriptEntry(script, file, earlier);
  });

  const catalog = {
    tenants: snapshot.tenants.map(tenantEntry),
    principals: snapshot.principals.map(principalEntry),
    scripts,
    ...(snapshot.credentials && snapshot.credentials.length > 0 ? { credentials: snapshot.credentials.map((credential) => ({ ...credential })) } : {}),
    ...(snapshot.targets && snapshot.targets.length > 0 ? { targets: snapshot.targets.map((target) => ({ ...target })) } : {}),
    ...(snapshot.queries && snapshot.queries.length > 0 ? { queries: snapshot.queries.map(queryEntry) } : {}),
    actions: snapshot.actions.map(actionEntry),
    ...(snapshot.connectors && snapshot.connectors.length > 0 ? { connectors: snapshot.connectors.map(connectorEntry) } : {}),
    ...(snapshot.plans && snapshot.plans.length > 0 ? { plans: snapshot.plans.map(planEntry) } : {}),
  };

  // The folder named is the operator's choice (a link to it is fine); nothing below it is followed.
  await mkdir(resolve(folder), { recursive: true });
  const root = await catalogRoot(folder);
  await writeConfined(root, CATALOG_FILE, HEADER + stringify(catalog, { lineWidth: 0 }));
  for (const [file, text] of files) await writeConfined(root, file, text);
  return {
    files: [CATALOG_FILE, ...files.keys()],
    counts: { scripts: snapshot.scripts.length, queries: snapshot.queries?.length ?? 0, actions: snapshot.actions.length, plans: snapshot.plans?.length ?? 0 },
  };
}

function textOf(texts: ReadonlyMap<string, string>, hash: string, scriptId: string): string {
  const text = texts.get(hash);
  if (text === undefined) throw new Error(`the store has no text for version ${hash} of script ${scriptId}`);
  return text;
}

/**
 * A script's own path when it is one inside a catalog folder (as imported), else none; in one
 * spelling, so that two names of one file (`scripts/./a.ps1`, `x/../catalog.yaml`) are one claim.
 */
function insideFolder(file: string | undefined): string | undefined {
  if (file === undefined || posix.isAbsolute(file)) return undefined;
  const inside = posix.normalize(file);
  return inside === '.' || inside === '..' || inside.startsWith('../') ? undefined : inside;
}

function tenantEntry(tenant: Tenant): Record<string, unknown> {
  return { id: tenant.id, name: tenant.name, ...(tenant.parent ? { parent: tenant.parent } : {}) };
}

function principalEntry(principal: Principal): Record<string, unknown> {
  const identities = Object.fromEntries(Object.entries(principal.identities).filter(([, value]) => value !== undefined));
  return {
    id: principal.id,
    name: principal.name,
    tenant: principal.tenant,
    roles: principal.roles,
    ...(principal.email ? { email: principal.email } : {}),
    ...(Object.keys(identities).length > 0 ? { identities } : {}),
    ...(principal.workloads.length > 0 ? { workloads: principal.workloads } : {}),
  };
}

function scriptEntry(script: Script, file: string, earlier: { file: string; approved?: boolean }[]): Record<string, unknown> {
  return {
    id: script.id,
    file,
    tenant: script.tenant,
    status: script.status,
    name: script.name,
    ...(script.description ? { description: script.description } : {}),
    ...(script.clonedFrom ? { clonedFrom: { ...script.clonedFrom } } : {}),
    basedOn: script.currentHash,
    ...(earlier.length > 0 ? { earlier } : {}),
  };
}

export function formatRunAs(runAs: RunAs): string {
  if (runAs.kind === 'service') return 'service';
  return runAs.account === undefined ? runAs.kind : `${runAs.kind}:${runAs.account}`;
}

function nonEmpty<T extends object>(key: string, value: T | undefined): Record<string, T> {
  return value !== undefined && Object.keys(value).length > 0 ? { [key]: value } : {};
}

function actionEntry(action: Action): Record<string, unknown> {
  return {
    id: action.id,
    script: action.scriptId,
    title: action.title,
    ...(action.description ? { description: action.description } : {}),
    ...(action.version === 'latest-approved' ? {} : { version: action.version }),
    tenant: action.tenant,
    ...(action.target ? { target: action.target } : {}),
    runAs: formatRunAs(action.runAs),
    ...nonEmpty('fixed', action.fixed),
    ...nonEmpty('presets', action.presets),
    ...nonEmpty('hints', action.hints),
    ...(action.ask ? { ask: action.ask } : {}),
    allow: { roles: action.allow.roles, principals: action.allow.principals },
    approval: action.approval,
    timeoutSeconds: action.timeoutSeconds,
    ...nonEmpty('notify', action.notify),
    ...(action.ownWorkloadParameter ? { ownWorkloadParameter: action.ownWorkloadParameter } : {}),
    ...nonEmpty('credentials', action.credentials),
    ...(action.targets ? { targets: action.targets } : {}),
    ...nonEmpty('choices', action.choices && Object.fromEntries(Object.entries(action.choices).map(([field, binding]) => [field, choiceEntry(binding)]))),
    basedOn: fingerprint(action),
  };
}

function choiceEntry(binding: ChoiceBinding): Record<string, unknown> {
  return { query: binding.query, ...nonEmpty('inputs', binding.inputs) };
}

/** A query as catalog.yaml says it; one a script-tree import made stays marked so later imports keep treating it so. */
function queryEntry(query: Query): Record<string, unknown> {
  return {
    id: query.id,
    script: query.scriptId,
    runAs: formatRunAs(query.runAs),
    ...nonEmpty('inputs', query.inputs),
    cacheSeconds: query.cacheSeconds,
    timeoutSeconds: query.timeoutSeconds,
    ...(query.imported ? { imported: true } : {}),
  };
}

function connectorEntry(connector: Connector): Record<string, unknown> {
  const { allowSources, mapping, ...rest } = connector;
  return { ...rest, ...nonEmpty('allowSources', allowSources), ...nonEmpty('mapping', mapping) };
}

function planEntry(plan: Plan): Record<string, unknown> {
  return {
    id: plan.id,
    tenant: plan.tenant,
    principal: plan.principal,
    action: plan.action,
    ...nonEmpty('inputs', plan.inputs),
    ...(plan.schedule ? { schedule: plan.schedule } : {}),
    ...(plan.trigger ? { trigger: plan.trigger } : {}),
    enabled: plan.enabled,
    ...nonEmpty('workloads', plan.workloads),
    ...(plan.targets ? { targets: plan.targets } : {}),
    basedOn: fingerprint(plan),
  };
}
