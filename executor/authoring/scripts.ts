/**
 * Scripts created, edited, cloned and deleted through the API (and so through chat), under the
 * rights table and the tenant tree like everything else:
 *
 * - a new script, a new version and a clone always start in Draft; an approved hash is never
 *   changed in place (a new text is a new hash, and the last approved one stays runnable);
 * - a text is parsed by PowerShell's own parser first, and refused with its message and line;
 * - a new version names the hash its editor started from, and a stale one is refused (409);
 * - a script an action or plan still uses is not deleted.
 *
 * Every request is an audit entry with the hashes involved.
 */
import type { Clock } from '../../lib/clock.ts';
import { newVersion, scriptIdFromFileName, sha256 } from '../catalog/scripts.ts';
import type { CatalogEditor } from '../catalog/editor.ts';
import {
  type CloneScriptRequest,
  type CreateScriptRequest,
  type NewScriptVersionRequest,
  type ScriptPreview,
  type ScriptPreviewRequest,
  type ScriptView,
} from '../contract/index.ts';
import type { Principal, Script } from '../domain.ts';
import type { Policy } from '../policy/index.ts';
import { TenantTree } from '../policy/tenants.ts';
import type { ParsedScript } from '../pwsh/parameters.ts';
import type { RequestContext } from '../runs/service.ts';
import { unifiedDiff } from '../scripts/diff.ts';
import type { CatalogSnapshot } from '../store/port.ts';
import type { ExecutorStore } from '../store/state-port.ts';
import { knownPrincipal, recordAttempt, refusal, type AttemptRecorder } from './audit.ts';
import type { UploadStore } from './uploads.ts';

export interface ScriptTextLimits {
  maxBytes: number;
  maxLines: number;
  /** Versions one script keeps at most. */
  maxVersions: number;
}

export type ScriptParser = (text: string) => Promise<ParsedScript>;

export interface ScriptAuthoringOptions {
  store: ExecutorStore;
  policy: Pick<Policy, 'mayCreateScript' | 'mayCloneScript' | 'mayOnScript'>;
  editor: CatalogEditor;
  parse: ScriptParser;
  uploads: UploadStore;
  clock: Clock;
  limits: ScriptTextLimits;
  /** The script as the viewer sees it (the lifecycle service's view). */
  viewOf: (viewer: string, script: Script) => Promise<ScriptView>;
}

/** Where an authored script's text goes when the catalog is exported (catalog-as-code). */
export function scriptFileFor(scriptId: string): string {
  return `scripts/${scriptId}.ps1`;
}

export class ScriptAuthoring {
  private readonly tenants: TenantTree;

  constructor(private readonly options: ScriptAuthoringOptions) {
    this.tenants = new TenantTree((id) => options.store.catalog.getTenant(id));
  }

  /** What an uploaded text would become; the text is staged for a create or version request that names it. */
  async preview(request: ScriptPreviewRequest, context: RequestContext): Promise<ScriptPreview> {
    const { store, uploads } = this.options;
    const attempt = this.attempt('script.upload', request.principalId, request.fileName, context);
    const principal = await knownPrincipal(this.options.store.catalog, attempt, request.principalId);
    const text = await this.checkedText(attempt, request.text);
    const hash = sha256(text);
    const parsed = await this.options.parse(text);
    uploads.put(principal.id, hash, { fileName: request.fileName, text });
    await attempt.allowed({ hash, lines: lineCount(text), parseErrors: parsed.parseErrors.length });

    const baseName = request.fileName.replace(/^.*[\\/]/, '').replace(/\.ps1$/i, '') || 'script';
    const snapshot = store.catalog.snapshot();
    const parseError = firstParseError(parsed);
    const existing = this.newVersionCandidate(principal, baseName, snapshot);
    const owner = snapshot.versions.find((version) => version.hash === hash)?.scriptId;
    const preview: ScriptPreview = {
      upload: hash,
      fileName: request.fileName,
      lineCount: lineCount(text),
      parameters: parsed.parameters,
      ...(parsed.synopsis ? { synopsis: parsed.synopsis } : {}),
      ...(parseError ? { parseError } : {}),
      newScript: this.newScriptOffer(principal, baseName, owner, snapshot),
    };
    if (existing) {
      const current = store.catalog.getVersion(existing.currentHash)?.text ?? '';
      const edit = this.options.policy.mayOnScript(principal.id, existing.id, 'edit');
      const refused = !edit.allowed
        ? (edit.message ?? 'You may not edit this script.')
        : hash === existing.currentHash
          ? 'This text is the script’s current version already.'
          : existing.versions.includes(hash)
            ? 'This text is an earlier version of the script.'
            : owner !== undefined && owner !== existing.id && !existing.clonedFrom
              ? 'This exact text is already another script in the catalog.'
              : undefined;
      preview.newVersionOf = {
        scriptId: existing.id,
        name: existing.name,
        tenant: existing.tenant,
        status: existing.status,
        currentHash: existing.currentHash,
        diff: {
          againstHash: existing.currentHash,
          ...unifiedDiff(current, text, { oldLabel: `${existing.status} ${existing.currentHash.slice(0, 12)}`, newLabel: request.fileName }),
        },
        ...(refused ? { refusal: refused } : {}),
      };
    }
    return preview;
  }

  async create(request: CreateScriptRequest, context: RequestContext): Promise<ScriptView> {
    const attempt = this.attempt('script.create', request.principalId, request.id, context);
    const principal = await knownPrincipal(this.options.store.catalog, attempt, request.principalId);
    const early = this.options.policy.mayCreateScript(principal.id, request.tenant);
    if (!early.allowed) return attempt.deny(early, { tenant: request.tenant });
    const text = await this.textOf(attempt, principal, request);
    const hash = sha256(text);
    const parsed = await this.parsedOr(attempt, text, hash);
    return this.options.editor.exclusive(async () => {
      const decision = this.options.policy.mayCreateScript(principal.id, request.tenant);
      if (!decision.allowed) return attempt.deny(decision, { tenant: request.tenant, hash });
      const snapshot = this.options.editor.snapshot();
      await this.refuseTakenId(attempt, snapshot, request.id, hash);
      const owner = snapshot.versions.find((version) => version.hash === hash)?.scriptId;
      if (owner !== undefined) {
        return attempt.refuse(
          refusal('DEPUTY_E_CONFLICT', `This exact text is already ${this.nameFor(principal.id, owner)}: clone that script instead.`, `text ${hash} belongs to script ${owner}`),
          { hash },
        );
      }
      const script = draftScript({ id: request.id, name: request.name, description: request.description ?? parsed.synopsis, tenant: request.tenant, hash });
      await this.options.editor.replace({
        ...snapshot,
        scripts: [...snapshot.scripts, script],
        versions: [...snapshot.versions, newVersion(request.id, hash, text, parsed, this.options.clock)],
      });
      await attempt.allowed({ tenant: request.tenant, hash, status: 'draft', lines: lineCount(text) });
      return this.options.viewOf(principal.id, script);
    });
  }

  async newVersion(scriptId: string, request: NewScriptVersionRequest, context: RequestContext): Promise<ScriptView> {
    const attempt = this.attempt('script.version', request.principalId, scriptId, context);
    const principal = await knownPrincipal(this.options.store.catalog, attempt, request.principalId);
    const early = this.options.policy.mayOnScript(principal.id, scriptId, 'edit');
    if (!early.allowed) return attempt.deny(early, { basedOn: request.basedOn });
    const text = await this.textOf(attempt, principal, request);
    const hash = sha256(text);
    const parsed = await this.parsedOr(attempt, text, hash);
    return this.options.editor.exclusive(async () => {
      const decision = this.options.policy.mayOnScript(principal.id, scriptId, 'edit');
      if (!decision.allowed) return attempt.deny(decision, { basedOn: request.basedOn, hash });
      const snapshot = this.options.editor.snapshot();
      const script = snapshot.scripts.find((candidate) => candidate.id === scriptId) as Script;
      const detail = { hash, basedOn: request.basedOn, previousHash: script.currentHash, from: script.status };
      if (request.basedOn !== script.currentHash) {
        return attempt.refuse(
          refusal(
            'DEPUTY_E_CONFLICT',
            `The script changed since you started from version ${request.basedOn.slice(0, 12)}: its current version is ${script.currentHash}. Look at the current version and make your change on it.`,
            `stale basedOn ${request.basedOn}, current ${script.currentHash}`,
            { basedOn: `not current; the current version is ${script.currentHash}` },
          ),
          detail,
        );
      }
      if (hash === script.currentHash) return attempt.refuse(refusal('DEPUTY_E_CONFLICT', 'This text is the script’s current version already: nothing to save.'), detail);
      if (script.versions.includes(hash)) {
        return attempt.refuse(refusal('DEPUTY_E_CONFLICT', `This text is an earlier version of the script (${hash.slice(0, 12)}); a version is never made current again.`), detail);
      }
      const { maxVersions } = this.options.limits;
      if (script.versions.length >= maxVersions) {
        return attempt.refuse(
          refusal('DEPUTY_E_CONFLICT', `This script has ${script.versions.length} versions, the most one script keeps (${maxVersions}). Clone it to go on: the clone starts from its current version.`, `script ${scriptId} has ${script.versions.length} versions`),
          detail,
        );
      }
      const owner = snapshot.versions.find((version) => version.hash === hash)?.scriptId;
      // A clone may take its origin's (or a sibling's) text: that is how it follows a newer approved version.
      if (owner !== undefined && owner !== scriptId && !script.clonedFrom) {
        return attempt.refuse(refusal('DEPUTY_E_CONFLICT', `This exact text is already ${this.nameFor(principal.id, owner)}.`, `text ${hash} belongs to script ${owner}`), detail);
      }
      const changed: Script = { ...script, status: 'draft', currentHash: hash, versions: [...script.versions, hash] };
      await this.options.editor.replace({
        ...snapshot,
        scripts: snapshot.scripts.map((candidate) => (candidate.id === scriptId ? changed : candidate)),
        versions: owner === undefined ? [...snapshot.versions, newVersion(scriptId, hash, text, parsed, this.options.clock)] : snapshot.versions,
      });
      await attempt.allowed({ ...detail, status: 'draft', approvedHash: script.approvedHash, lines: lineCount(text) });
      return this.options.viewOf(principal.id, changed);
    });
  }

  async clone(sourceId: string, request: CloneScriptRequest, context: RequestContext): Promise<ScriptView> {
    const attempt = this.attempt('script.clone', request.principalId, request.id, context);
    const principal = await knownPrincipal(this.options.store.catalog, attempt, request.principalId);
    return this.options.editor.exclusive(async () => {
      const snapshot = this.options.editor.snapshot();
      const found = snapshot.scripts.find((candidate) => candidate.id === sourceId);
      const hash = request.hash ?? found?.currentHash ?? '';
      const detail = { from: sourceId, hash, tenant: request.tenant };
      // Refuses an unknown or unreachable script too: a clone needs `clone` on the very version.
      const decision = this.options.policy.mayCloneScript(principal.id, sourceId, hash, request.tenant);
      if (!decision.allowed) return attempt.deny(decision, detail);
      const source = found as Script;
      await this.refuseTakenId(attempt, snapshot, request.id, hash);
      const clone: Script = {
        ...draftScript({ id: request.id, name: request.name ?? source.name, description: source.description, tenant: request.tenant, hash }),
        clonedFrom: { id: source.id, hash },
      };
      await this.options.editor.replace({ ...snapshot, scripts: [...snapshot.scripts, clone] });
      await attempt.allowed({ ...detail, status: 'draft', sourceStatus: source.status });
      return this.options.viewOf(principal.id, clone);
    });
  }

  async delete(scriptId: string, principalId: string, context: RequestContext): Promise<string> {
    const attempt = this.attempt('script.delete', principalId, scriptId, context);
    const principal = await knownPrincipal(this.options.store.catalog, attempt, principalId);
    return this.options.editor.exclusive(async () => {
      const decision = this.options.policy.mayOnScript(principal.id, scriptId, 'delete');
      if (!decision.allowed) return attempt.deny(decision);
      const snapshot = this.options.editor.snapshot();
      const script = snapshot.scripts.find((candidate) => candidate.id === scriptId) as Script;
      const detail = { hash: script.currentHash, status: script.status, versions: script.versions };
      const actions = snapshot.actions.filter((action) => action.scriptId === scriptId).map((action) => action.id);
      const plans = (snapshot.plans ?? []).filter((plan) => actions.includes(plan.action)).map((plan) => plan.id);
      // A query of catalog.yaml, or one a form's choices come from, needs its script; an unused one a script-tree import made goes with it.
      const bound = new Set(snapshot.actions.flatMap((action) => Object.values(action.choices ?? {}).map((binding) => binding.query)));
      const ownQueries = (snapshot.queries ?? []).filter((query) => query.scriptId === scriptId);
      const queries = ownQueries.filter((query) => !query.imported || bound.has(query.id)).map((query) => query.id);
      if (actions.length + queries.length > 0) {
        const uses = [
          ...(actions.length > 0 ? [`action${actions.length === 1 ? '' : 's'} ${actions.join(', ')}`] : []),
          ...(plans.length > 0 ? [`plan${plans.length === 1 ? '' : 's'} ${plans.join(', ')}`] : []),
          ...(queries.length > 0 ? [`quer${queries.length === 1 ? 'y' : 'ies'} ${queries.join(', ')}`] : []),
        ];
        return attempt.refuse(
          refusal('DEPUTY_E_CONFLICT', `Script ${scriptId} is still used by ${uses.join(' and ')}; change or delete ${actions.length + plans.length + queries.length === 1 ? 'it' : 'them'} first.`, undefined, {
            ...(actions.length > 0 ? { actions: actions.join(', ') } : {}),
            ...(plans.length > 0 ? { plans: plans.join(', ') } : {}),
            ...(queries.length > 0 ? { queries: queries.join(', ') } : {}),
          }),
          { ...detail, actions, plans, queries },
        );
      }
      const runs = (await this.options.store.runs.unfinished()).filter((run) => run.scriptId === scriptId).map((run) => run.id);
      if (runs.length > 0) {
        return attempt.refuse(refusal('DEPUTY_E_CONFLICT', `Script ${scriptId} has runs still waiting or running (${runs.join(', ')}); delete it once they end.`), { ...detail, runs });
      }
      const scripts = snapshot.scripts.filter((candidate) => candidate.id !== scriptId);
      // A version record stays while another script (a clone) still lists its hash.
      const kept = new Set(scripts.flatMap((candidate) => candidate.versions));
      const remainingQueries = (snapshot.queries ?? []).filter((query) => query.scriptId !== scriptId);
      await this.options.editor.replace({
        ...snapshot,
        scripts,
        versions: snapshot.versions.filter((version) => kept.has(version.hash)),
        ...(snapshot.queries ? { queries: remainingQueries } : {}),
      });
      await attempt.allowed({ ...detail, ...(ownQueries.length > 0 ? { queries: ownQueries.map((query) => query.id) } : {}) });
      return scriptId;
    });
  }

  // ------------------------------------------------------------------ internals

  private attempt(type: string, actor: string, subject: string, context: RequestContext): AttemptRecorder {
    return recordAttempt(this.options.store.audit, { type, actor, subject, context });
  }


  /** The request's text, or the staged upload it names (only the uploader's own). */
  private async textOf(attempt: AttemptRecorder, principal: Principal, request: { text?: string | undefined; upload?: string | undefined }): Promise<string> {
    if (request.text !== undefined) return this.checkedText(attempt, request.text);
    const upload = this.options.uploads.get(principal.id, request.upload ?? '');
    if (!upload) {
      return attempt.refuse(refusal('DEPUTY_E_EXPIRED', 'That upload is no longer held (uploads are kept for an hour). Please send the file again.', `upload ${request.upload}`), {
        upload: request.upload,
      });
    }
    return upload.text;
  }

  /** Bounded, plain text; a byte order mark is not part of the script (as when a file is imported). */
  private async checkedText(attempt: AttemptRecorder, given: string): Promise<string> {
    const text = given.startsWith('\uFEFF') ? given.slice(1) : given;
    const { maxBytes, maxLines } = this.options.limits;
    const problem =
      text.trim() === ''
        ? 'The script is empty.'
        : text.includes('\u0000')
          ? 'This is not a text file: it contains NUL characters.'
          : Buffer.byteLength(text, 'utf8') > maxBytes
            ? `The script is larger than ${Math.floor(maxBytes / 1024)} KiB.`
            : lineCount(text) > maxLines
              ? `The script has more than ${maxLines} lines.`
              : undefined;
    if (problem) return attempt.refuse(refusal('DEPUTY_E_VALIDATION', problem, undefined, { text: problem }), { bytes: Buffer.byteLength(text, 'utf8'), lines: lineCount(text) });
    return text;
  }

  private async parsedOr(attempt: AttemptRecorder, text: string, hash: string): Promise<ParsedScript> {
    const parsed = await this.options.parse(text);
    const error = firstParseError(parsed);
    if (error) {
      const message = `PowerShell cannot parse the script: line ${error.line}: ${error.message}`;
      return attempt.refuse(refusal('DEPUTY_E_VALIDATION', message, parsed.parseErrors.join('; '), { text: message }), { hash, parseErrors: parsed.parseErrors });
    }
    return parsed;
  }

  private async refuseTakenId(attempt: AttemptRecorder, snapshot: CatalogSnapshot, id: string, hash: string): Promise<void> {
    if (snapshot.scripts.some((candidate) => candidate.id === id)) {
      await attempt.refuse(refusal('DEPUTY_E_CONFLICT', `A script with the id ${id} exists already; choose another id.`, undefined, { id: 'taken' }), { hash });
    }
  }


  /** "script Set out-of-office (set-ooo)" for someone who may see it, else no name at all. */
  private nameFor(viewer: string, scriptId: string): string {
    const script = this.options.store.catalog.getScript(scriptId);
    if (!script || !this.options.policy.mayOnScript(viewer, scriptId, 'view').allowed) return 'another script in the catalog';
    return `the script ${script.name} (${script.id})`;
  }

  /** The script a file looks like a new version of: same id as its name in kebab-case, or the same name; one the uploader may see. */
  private newVersionCandidate(principal: Principal, baseName: string, snapshot: CatalogSnapshot): Script | undefined {
    const id = scriptIdFromFileName(baseName);
    const visible = snapshot.scripts.filter((script) => this.options.policy.mayOnScript(principal.id, script.id, 'view').allowed);
    const byId = visible.find((script) => script.id === id);
    if (byId) return byId;
    const sameName = visible.filter((script) => script.name.toLowerCase() === baseName.toLowerCase());
    return sameName.find((script) => script.tenant === principal.tenant) ?? sameName[0];
  }

  /** A free id from the file name, and the tenants the uploader may create scripts in (their own first). */
  private newScriptOffer(principal: Principal, baseName: string, owner: string | undefined, snapshot: CatalogSnapshot): ScriptPreview['newScript'] {
    const taken = new Set(snapshot.scripts.map((script) => script.id));
    const base = scriptIdFromFileName(baseName).slice(0, 60) || 'script';
    const candidates = [base, `${base}-${principal.tenant}`.slice(0, 80), ...Array.from({ length: 50 }, (_, i) => `${base}-${i + 2}`)];
    const id = candidates.find((candidate) => !taken.has(candidate) && /^[a-z0-9][a-z0-9._-]{0,79}$/.test(candidate)) ?? `${base}-${Date.now()}`;
    const tenants = snapshot.tenants
      .map((tenant) => tenant.id)
      .filter((tenant) => this.tenants.isSelfOrDescendant(tenant, principal.tenant) && this.options.policy.mayCreateScript(principal.id, tenant).allowed)
      .sort((a, b) => (a === principal.tenant ? -1 : b === principal.tenant ? 1 : a.localeCompare(b)));
    const denied = this.options.policy.mayCreateScript(principal.id, principal.tenant);
    const refused =
      owner !== undefined
        ? `This exact text is already ${this.nameFor(principal.id, owner)}.`
        : tenants.length === 0
          ? ((!denied.allowed ? denied.message : undefined) ?? 'You may not create scripts.')
          : undefined;
    return { id, name: baseName, tenants: refused ? [] : tenants, ...(refused ? { refusal: refused } : {}) };
  }
}

/** A script whose one version is `hash`, in Draft: how every authored script begins. */
function draftScript(given: { id: string; name: string; description: string | undefined; tenant: string; hash: string }): Script {
  return {
    id: given.id,
    name: given.name,
    ...(given.description ? { description: given.description } : {}),
    tenant: given.tenant,
    status: 'draft',
    currentHash: given.hash,
    file: scriptFileFor(given.id),
    versions: [given.hash],
  };
}

function lineCount(text: string): number {
  if (text === '') return 0;
  const lines = text.split(/\r?\n/).length;
  return text.endsWith('\n') ? lines - 1 : lines;
}

/** `line 3: Missing closing '}'…` as parameters.ps1 reports it → its line and message. */
function firstParseError(parsed: ParsedScript): { line: number; message: string } | undefined {
  const first = parsed.parseErrors[0];
  if (first === undefined) return undefined;
  const match = /^line (\d+): ([\s\S]*)$/.exec(first);
  return match ? { line: Number(match[1]), message: (match[2] ?? '').trim() } : { line: 1, message: first };
}
