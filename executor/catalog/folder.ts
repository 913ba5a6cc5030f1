/**
 * `deputy import <folder>` without catalog.yaml: a folder of bare scripts, or a tree laid out
 * like ScriptRunner's ActionPacks (topic folders, `_QUERY_` folders of query scripts, `_LIB_`
 * folders of shared functions).
 *
 * - A flat folder is one unit: any problem stops the import, and nothing is imported.
 * - A tree is a library: a script that cannot be imported is listed in the report with the
 *   reason, and the others are imported. `_QUERY_` scripts become scripts and queries,
 *   `_LIB_` scripts are left out (Deputy runs each script on its own, so a library's functions
 *   must live in the scripts that use them), and the report lists what a form cannot express.
 *
 * Every script arrives as Draft (a changed text as a new Draft version); tenants, principals
 * and actions are left as they are.
 */
import { readdir } from 'node:fs/promises';
import { basename, dirname, join, relative, resolve, sep } from 'node:path';
import type { Clock } from '../../lib/clock.ts';
import { DeputyError } from '../contract/index.ts';
import { IdSchema, QuerySchema, type Query } from '../domain.ts';
import type { CatalogSnapshot } from '../store/port.ts';
import { catalogRoot } from './confined.ts';
import { mergeScript, newVersion, readScriptText, refreshVersions, schemasFor, scriptIdFromFileName, sha256 } from './scripts.ts';
import { diffSnapshots, refreshChanges, type ImportResult } from './changes.ts';

export interface ImportScriptFolderOptions {
  folder: string;
  /** The tenant new scripts belong to; it must exist already. */
  tenant: string;
  previous: CatalogSnapshot;
  pwshPath: string;
  clock: Clock;
}

/** What an import of scripts did and did not do, for the person who ran it. */
export interface ImportReport {
  /** Scripts added or given a new version. */
  imported: string[];
  /** Queries made from `_QUERY_` scripts. */
  queries: string[];
  /** Files left out on purpose (`_LIB_`), with why. */
  ignored: { file: string; reason: string }[];
  /** Files that could not be imported, with why (trees only: a flat folder stops instead). */
  skipped: { file: string; reason: string }[];
  /** Per script, what its form cannot express or what it needs where it runs. */
  unmapped: { script: string; notes: string[] }[];
}

const LIBRARY_FOLDER = /^_lib_$/i;
const QUERY_FOLDER = /^_query_$/i;

interface Candidate {
  /** Path relative to the imported folder, for messages. */
  file: string;
  path: string;
  query: boolean;
}

function invalid(problems: string[]): DeputyError {
  return new DeputyError('DEPUTY_E_CATALOG_INVALID', { message: problems.join('\n'), detail: problems.join('\n') });
}

export async function importScriptFolder({ folder, tenant, previous, pwshPath, clock }: ImportScriptFolderOptions): Promise<ImportResult & { report: ImportReport }> {
  const root = resolve(folder);
  const report: ImportReport = { imported: [], queries: [], ignored: [], skipped: [], unmapped: [] };
  const problems: string[] = [];
  if (!previous.tenants.some((candidate) => candidate.id === tenant)) problems.push(`${root}: unknown tenant "${tenant}"`);
  let listing: { candidates: Candidate[]; tree: boolean };
  let real: string;
  try {
    // Every file is read from inside the folder's real location (see confined.ts).
    real = await catalogRoot(root);
    listing = await listScripts(real, report);
  } catch (cause) {
    throw invalid([`${root}: cannot be read (${(cause as NodeJS.ErrnoException).code ?? 'error'})`]);
  }
  const { candidates, tree } = listing;
  if (candidates.length === 0) throw invalid([...problems, `${root}: no .ps1 files`]);
  // A flat folder stops at the first problem (all of them listed); a tree skips the file.
  const refuse = (file: string, reason: string) => (tree ? report.skipped.push({ file, reason }) : problems.push(`${file}: ${reason}`));

  const previousScripts = new Map(previous.scripts.map((script) => [script.id, script]));
  const files: (Candidate & { id: string; hash: string; text: string })[] = [];
  const texts = new Map<string, string>();
  for (const candidate of candidates) {
    const id = scriptIdFor(candidate, files, tree);
    const existing = previousScripts.get(id);
    if (!IdSchema.safeParse(id).success) {
      refuse(candidate.file, 'cannot make a script id from this file name');
      continue;
    }
    const clash = files.find((file) => file.id === id);
    if (clash) {
      refuse(candidate.file, `gives the same script id "${id}" as ${clash.file}`);
      continue;
    }
    if (existing && existing.tenant !== tenant) {
      refuse(candidate.file, `script "${id}" already exists in tenant "${existing.tenant}"`);
      continue;
    }
    const read = await readScriptText(real, candidate.file);
    if ('problem' in read) {
      // The reader's sentence names the file already.
      if (tree) report.skipped.push({ file: candidate.file, reason: read.problem.startsWith(`${candidate.file}: `) ? read.problem.slice(candidate.file.length + 2) : read.problem });
      else problems.push(read.problem);
      continue;
    }
    const hash = sha256(read.text);
    const owner = files.find((file) => file.hash === hash)?.id ?? previous.versions.find((version) => version.hash === hash)?.scriptId;
    if (owner !== undefined && owner !== id) {
      refuse(candidate.file, `has the same text as script "${owner}"; give each script its own text`);
      continue;
    }
    files.push({ ...candidate, id, hash, text: read.text });
    texts.set(hash, read.text);
  }
  const schemas = await schemasFor(pwshPath, texts, previous);

  const scripts = new Map(previousScripts);
  const { versions, refreshed } = refreshVersions(previous.versions, schemas);
  const knownVersions = new Set(versions.map((version) => version.hash));
  const queries: Query[] = [...(previous.queries ?? [])];
  for (const file of files) {
    const schema = schemas.get(file.hash);
    if (!schema) continue;
    if (schema.parseErrors.length > 0) {
      if (tree) report.skipped.push({ file: file.file, reason: schema.parseErrors.join('; ') });
      else problems.push(...schema.parseErrors.map((error) => `${file.file} ${error}`));
      continue;
    }
    const existing = previousScripts.get(file.id);
    const description = existing?.description ?? schema.synopsis;
    scripts.set(
      file.id,
      mergeScript(existing, {
        id: file.id,
        name: existing?.name ?? basename(file.file).replace(/\.ps1$/i, ''),
        ...(description ? { description } : {}),
        tenant,
        file: existing?.file ?? join(root, file.file),
        hash: file.hash,
        ...(existing?.clonedFrom ? { clonedFrom: existing.clonedFrom } : {}),
      }),
    );
    if (existing?.currentHash !== file.hash) report.imported.push(file.id);
    if (schema.unmapped) report.unmapped.push({ script: file.id, notes: schema.unmapped });
    if (file.query && !queries.some((query) => query.id === file.id)) {
      // Like ScriptRunner, a query runs in the warm pool by default; catalog.yaml can say otherwise.
      queries.push(QuerySchema.parse({ id: file.id, scriptId: file.id, runAs: { kind: 'pool' }, imported: true }));
      report.queries.push(file.id);
    }
    if (!knownVersions.has(file.hash)) {
      knownVersions.add(file.hash);
      versions.push(newVersion(file.id, file.hash, file.text, schema, clock));
    }
  }
  if (problems.length > 0) throw invalid(problems);
  report.skipped.sort((a, b) => (a.file < b.file ? -1 : a.file > b.file ? 1 : 0));
  const snapshot: CatalogSnapshot = { ...previous, scripts: [...scripts.values()], versions, ...(queries.length > 0 ? { queries } : {}) };
  return { snapshot, changes: [...diffSnapshots(previous, snapshot), ...refreshChanges(refreshed)], conflicts: [], report };
}

/**
 * The scripts of a flat folder, or of a whole tree (sorted), with `_LIB_` files noted as ignored.
 * Links are listed too, so that one leading out of the folder is refused by name; folders that
 * are links are not walked into.
 */
async function listScripts(root: string, report: ImportReport): Promise<{ candidates: Candidate[]; tree: boolean }> {
  const top = await readdir(root, { withFileTypes: true });
  const tree = top.some((entry) => entry.isDirectory() && !entry.name.startsWith('.'));
  const candidates: Candidate[] = [];
  const walk = async (dir: string, depth: number): Promise<void> => {
    const entries = (await readdir(dir, { withFileTypes: true })).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const entry of entries) {
      const path = join(dir, entry.name);
      const file = relative(root, path);
      if (entry.isDirectory() && tree && !entry.name.startsWith('.') && depth < 8) await walk(path, depth + 1);
      if (!(entry.isFile() || entry.isSymbolicLink()) || !/\.ps1$/i.test(entry.name)) continue;
      const folders = relative(root, dir).split(sep);
      if (folders.some((name) => LIBRARY_FOLDER.test(name))) {
        report.ignored.push({ file, reason: 'a library (_LIB_): Deputy runs each script on its own, so its functions belong in the scripts that use them' });
        continue;
      }
      candidates.push({ file, path, query: folders.some((name) => QUERY_FOLDER.test(name)) });
    }
  };
  await walk(root, 0);
  return { candidates, tree };
}

/**
 * The file name in kebab-case (`Set-OutOfOffice.ps1` → `set-out-of-office`); in a tree, a name
 * already taken by another folder's script is prefixed with its folder (`reports-get-disks`).
 */
function scriptIdFor(candidate: Candidate, taken: readonly { id: string }[], tree: boolean): string {
  const id = scriptIdFromFileName(basename(candidate.path));
  if (!tree || !taken.some((file) => file.id === id)) return id;
  const folder = scriptIdFromFileName(basename(dirname(candidate.path)).replace(/^_+|_+$/g, ''));
  return folder ? `${folder}-${id}` : id;
}
