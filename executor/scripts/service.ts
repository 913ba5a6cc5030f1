/**
 * The script lifecycle: Draft → Testing → Approved, and back to Draft. Only Cyber and Company
 * administrators of the script's tenant (or a tenant above it) change a status; the request
 * names the exact hash it acts on, so nobody approves a text they have not seen. Every
 * attempt is an audit entry, allowed or denied, and every change is an event for the bot.
 */
import type { Clock } from '../../lib/clock.ts';
import {
  DeputyError,
  type ApprovalList,
  type ScriptDiff,
  type ScriptReviewState,
  type ScriptStatus,
  type ScriptStatusRequest,
  type ScriptView,
} from '../contract/index.ts';
import type { CatalogEditor } from '../catalog/editor.ts';
import type { Principal, Script } from '../domain.ts';
import type { EventStream } from '../event-stream.ts';
import { STATUS_TRANSITIONS, throwIfDenied, type Policy } from '../policy/index.ts';
import { versionStatus } from '../policy/versions.ts';
import type { RequestContext } from '../runs/service.ts';
import { toRunView } from '../runs/views.ts';
import type { ExecutorStore } from '../store/state-port.ts';
import { unifiedDiff } from './diff.ts';
import type { ReviewStore } from './reviews.ts';

export interface ScriptServiceOptions {
  store: ExecutorStore;
  policy: Pick<Policy, 'mayOnScript' | 'mayChangeScriptStatus' | 'mayDecideRun' | 'approversFor'>;
  events: Pick<EventStream, 'publish'>;
  reviews: ReviewStore;
  clock: Clock;
  /** Status changes replace the whole catalog snapshot, so they take their turn with every other catalog change. */
  editor: CatalogEditor;
}

/** Who asked for a review when a script arrived in Testing straight from the catalog file. */
const CATALOG_REQUESTER = 'catalog';

export class ScriptService {
  constructor(private readonly options: ScriptServiceOptions) {}

  /** The scripts this principal may view, optionally of one status, sorted by name. */
  async list(principalId: string, status?: ScriptStatus): Promise<ScriptView[]> {
    this.principal(principalId);
    const scripts = this.options.store.catalog
      .snapshot()
      .scripts.filter((script) => (status === undefined || script.status === status) && this.options.policy.mayOnScript(principalId, script.id, 'view').allowed)
      .sort((a, b) => a.name.localeCompare(b.name) || a.id.localeCompare(b.id));
    return this.views(scripts, principalId);
  }

  /** One script with its versions, text and the diff against its last approved version. */
  get(principalId: string, scriptId: string): Promise<ScriptView> {
    this.principal(principalId);
    throwIfDenied(this.options.policy.mayOnScript(principalId, scriptId, 'view'));
    return this.view(this.script(scriptId), principalId, true);
  }

  /** What waits for this principal's decision: Testing scripts they may approve and four-eyes runs they may decide. */
  async approvals(principalId: string): Promise<ApprovalList> {
    this.principal(principalId);
    const { store, policy, clock } = this.options;
    const scripts = await this.views(
      store.catalog.snapshot().scripts.filter((script) => script.status === 'testing' && policy.mayChangeScriptStatus(principalId, script.id, 'approved').allowed),
      principalId,
    );
    const runs = (await store.runs.unfinished())
      .filter((run) => run.state === 'awaiting-approval')
      // An expired request is rejected by the next expiry sweep; it is no longer anyone's to decide.
      .filter((run) => run.approval?.expiresAt === undefined || Date.parse(run.approval.expiresAt) > clock.now())
      .filter((run) => policy.mayDecideRun(principalId, run).allowed)
      .map((run) => toRunView(run));
    return { scripts, runs };
  }

  /** Two approvers deciding at once are decided in order; the second finds the first's result. */
  async changeStatus(scriptId: string, request: ScriptStatusRequest, context: RequestContext): Promise<ScriptView> {
    return this.options.editor.exclusive(() => this.applyChange(scriptId, request, context));
  }

  // ------------------------------------------------------------------ internals

  private async applyChange(scriptId: string, request: ScriptStatusRequest, context: RequestContext): Promise<ScriptView> {
    const { store, policy, reviews, clock, events } = this.options;
    const script = store.catalog.getScript(scriptId);
    const audit = (outcome: 'allowed' | 'denied', detail: Record<string, unknown>) =>
      store.audit.append({
        type: 'script.status',
        outcome,
        correlationId: context.correlationId,
        actor: request.principalId,
        via: context.via,
        subject: scriptId,
        detail: { from: script?.status, to: request.to, hash: request.hash, ...detail },
      });
    const refuse = async (error: DeputyError): Promise<never> => {
      await audit('denied', { code: error.code, reason: error.detail ?? error.message });
      throw error;
    };

    const principal = store.catalog.getPrincipal(request.principalId);
    if (!principal) return refuse(new DeputyError('DEPUTY_E_NOT_ENROLLED', { detail: `unknown principal ${request.principalId}` }));
    const moved = script !== undefined && request.from !== undefined && request.from !== script.status;
    const decision = policy.mayChangeScriptStatus(request.principalId, scriptId, request.to);
    if (!decision.allowed && (decision.code !== 'DEPUTY_E_CONFLICT' || !script)) {
      return refuse(new DeputyError(decision.code, { detail: decision.reason }));
    }
    if (!script) return refuse(new DeputyError('DEPUTY_E_NOT_FOUND', { detail: `script ${scriptId} disappeared` }));
    if (!decision.allowed || moved) {
      const reason = decision.allowed ? `script is ${script.status}, the request saw ${request.from}` : decision.reason;
      return refuse(new DeputyError('DEPUTY_E_CONFLICT', { message: await this.conflictMessage(script, request.to), detail: reason }));
    }
    if (request.hash !== script.currentHash) {
      return refuse(
        new DeputyError('DEPUTY_E_CONFLICT', {
          message: `The script changed since this version was shown (version ${request.hash.slice(0, 12)} is no longer current; ${script.currentHash.slice(0, 12)} is). Please look at the current version.`,
          detail: `stale hash ${request.hash}, current ${script.currentHash}`,
        }),
      );
    }

    const from = script.status;
    const changed: Script = { ...script, status: request.to, ...(request.to === 'approved' ? { approvedHash: request.hash } : {}) };
    const snapshot = store.catalog.snapshot();
    await store.catalog.replace({ ...snapshot, scripts: snapshot.scripts.map((candidate) => (candidate.id === scriptId ? changed : candidate)) });
    await audit('allowed', { ...(request.comment ? { comment: request.comment } : {}) });

    const now = new Date(clock.now()).toISOString();
    const comment = request.comment ? { comment: request.comment } : {};
    let review: ScriptReviewState | undefined;
    if (request.to === 'testing') {
      review = { hash: request.hash, requestedBy: principal.id, requestedByName: principal.name, requestedAt: now, ...comment };
      await reviews.put(scriptId, review);
    } else if (from === 'testing') {
      const open = (await reviews.get(scriptId, request.hash)) ?? { hash: request.hash, requestedBy: CATALOG_REQUESTER, requestedAt: now };
      review = { ...open, decision: { to: request.to, by: principal.id, byName: principal.name, at: now, ...comment } };
      await reviews.put(scriptId, review);
    }

    const approvers = policy.approversFor({ scriptId });
    const change = { from, to: request.to, hash: request.hash, by: principal.id, byName: principal.name, ...comment };
    // Events go to many viewers: the view carries no one's rights, only the script and its diff.
    const eventView: ScriptView = { ...(await this.view(changed, undefined, false)), diff: this.diffOf(changed) };
    if (request.to === 'testing') {
      await events.publish({ type: 'script.review-requested', script: eventView, change, notify: approvers });
    } else {
      const requester = review && store.catalog.getPrincipal(review.requestedBy) ? [review.requestedBy] : [];
      await events.publish({ type: 'script.decided', script: eventView, change, notify: [...new Set([...approvers, ...requester])].sort() });
    }
    return this.view(changed, principal.id, true);
  }

  /** Why a status change is not possible now, in words: usually someone else decided first. */
  private async conflictMessage(script: Script, to: ScriptStatus): Promise<string> {
    const decided = (await this.options.reviews.get(script.id, script.currentHash))?.decision;
    if (decided) {
      const outcome = decided.to === 'approved' ? 'approved' : 'sent back to Draft';
      return `This review was already decided: ${decided.byName ?? decided.by} ${outcome} it.`;
    }
    return `The script is ${script.status} now and cannot move to ${to}.`;
  }

  /** The script as `viewer` sees it, with everything `GET /v1/scripts/<id>` shows (for answers to authoring requests). */
  detailFor(viewer: string, script: Script): Promise<ScriptView> {
    return this.view(script, viewer, true);
  }

  /** Without detail, for lists: the reviews are read together. */
  private views(scripts: Script[], viewer: string): Promise<ScriptView[]> {
    return Promise.all(scripts.map((script) => this.view(script, viewer, false)));
  }

  private async view(script: Script, viewer: string | undefined, detail: boolean): Promise<ScriptView> {
    const { store, policy, reviews } = this.options;
    const current = store.catalog.getVersion(script.currentHash);
    const review = await reviews.get(script.id, script.currentHash);
    const allowedTransitions =
      viewer === undefined ? [] : STATUS_TRANSITIONS[script.status].filter((to) => policy.mayChangeScriptStatus(viewer, script.id, to).allowed);
    const view: ScriptView = {
      id: script.id,
      name: script.name,
      ...(script.description ? { description: script.description } : {}),
      tenant: script.tenant,
      status: script.status,
      currentHash: script.currentHash,
      ...(script.approvedHash ? { approvedHash: script.approvedHash } : {}),
      parameters: current?.parameters ?? [],
      ...(current?.synopsis ? { synopsis: current.synopsis } : {}),
      allowedTransitions,
      ...(review ? { review } : {}),
      ...(script.clonedFrom ? { clonedFrom: this.originOf(script, viewer) } : {}),
      ...(viewer === undefined ? {} : { may: this.mayOnText(script.id, viewer) }),
    };
    if (!detail) return view;
    const versions = script.versions.flatMap((hash) => {
      const version = store.catalog.getVersion(hash);
      const status = versionStatus(script, hash);
      if (!version || !status) return [];
      return [{ hash, status, createdAt: version.createdAt, ...(version.synopsis ? { synopsis: version.synopsis } : {}) }];
    });
    return { ...view, versions, ...(current ? { text: current.text } : {}), diff: this.diffOf(script) };
  }

  private mayOnText(scriptId: string, viewer: string): NonNullable<ScriptView['may']> {
    const may = (verb: 'edit' | 'clone' | 'delete') => this.options.policy.mayOnScript(viewer, scriptId, verb).allowed;
    return { edit: may('edit'), clone: may('clone'), delete: may('delete') };
  }

  /**
   * Where a clone came from, and whether the origin has since got an approved version the clone
   * does not have (its name and versions only for a viewer who may see the origin).
   */
  private originOf(script: Script, viewer: string | undefined): NonNullable<ScriptView['clonedFrom']> {
    const from = script.clonedFrom as NonNullable<Script['clonedFrom']>;
    const origin = this.options.store.catalog.getScript(from.id);
    if (!origin || viewer === undefined || !this.options.policy.mayOnScript(viewer, origin.id, 'view').allowed) return { ...from };
    const latestApproved = origin.status === 'approved' ? origin.currentHash : origin.approvedHash;
    const newer = latestApproved !== undefined && latestApproved !== from.hash && !script.versions.includes(latestApproved);
    return { ...from, name: origin.name, ...(newer ? { newerApprovedHash: latestApproved } : {}) };
  }

  /** The current text against the last approved one (against nothing for a script never approved). */
  private diffOf(script: Script): ScriptDiff {
    const { catalog } = this.options.store;
    const current = catalog.getVersion(script.currentHash)?.text ?? '';
    const approvedHash = script.approvedHash;
    const approved = approvedHash === undefined ? '' : (catalog.getVersion(approvedHash)?.text ?? '');
    const diff = unifiedDiff(approved, current, {
      oldLabel: approvedHash === undefined ? 'no approved version' : `approved ${approvedHash.slice(0, 12)}`,
      newLabel: `${script.status} ${script.currentHash.slice(0, 12)}`,
    });
    return { ...(approvedHash ? { againstHash: approvedHash } : {}), ...diff };
  }

  private principal(principalId: string): Principal {
    const principal = this.options.store.catalog.getPrincipal(principalId);
    if (!principal) throw new DeputyError('DEPUTY_E_NOT_ENROLLED', { detail: `unknown principal ${principalId}` });
    return principal;
  }

  private script(scriptId: string): Script {
    const script = this.options.store.catalog.getScript(scriptId);
    if (!script) throw new DeputyError('DEPUTY_E_NOT_FOUND', { detail: `script ${scriptId}` });
    return script;
  }
}
