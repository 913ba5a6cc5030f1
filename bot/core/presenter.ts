/**
 * What the core shows, as pure functions of what the executor answered: the screen for a run
 * (to a given viewer), the lists (runs, scripts, approvals), the welcome, the review card. No
 * I/O here: the core and the run follower fetch, these decide what it looks like.
 */
import {
  isFinalRunState,
  type ActionView,
  type ApprovalList,
  type PrincipalView,
  type RunView,
  type ScriptEvent,
  type ScriptStatus,
  type ScriptView,
} from '../../executor/contract/index.ts';
import type { ListItem, ScriptReview } from '../../cards/screens.ts';
import { formatDuration, formatTime, presentState } from '../../cards/present.ts';
import type { Screen } from './model.ts';

const STATUS_WORDS: Record<ScriptStatus, string> = { draft: 'Draft', testing: 'Testing', approved: 'Approved' };

/**
 * The screen that shows a run to `viewer`: its form of approval, progress or result. Used for
 * cards posted to someone: who may decide is taken from who was asked (the event's list).
 */
export function screenFor(run: RunView, viewer: string, labels?: Record<string, string>): Screen {
  if (run.state === 'awaiting-approval') {
    const viewerIsRequester = viewer === run.principalId;
    return { screen: 'approval-request', run, requester: run.principalId, viewerMayDecide: !viewerIsRequester, viewerIsRequester, ...(labels ? { labels } : {}) };
  }
  if (isFinalRunState(run.state)) return { screen: 'run-summary', run, canShowAll: hasMoreOutput(run), canRunAgain: viewer === run.principalId };
  return { screen: 'run-status', run, canCancel: viewer === run.principalId };
}

/** The status card asking "Cancel this run?" (only its requester is asked). */
export function confirmCancelScreen(run: RunView, viewer: string): Screen {
  return { screen: 'run-status', run, canCancel: run.principalId === viewer, confirmCancel: true };
}

/** Parameter name → the label its form shows. */
export function labelsOf(action: ActionView): Record<string, string> {
  return Object.fromEntries(action.form.fields.map((field) => [field.name, field.label]));
}

export function hasMoreOutput(run: RunView): boolean {
  const summary = run.summary;
  return summary !== undefined && (summary.outputLineCount > summary.lines.length || summary.truncated);
}

export function welcomeScreen(principal: PrincipalView, actions: ActionView[], approvals: ApprovalList): Screen {
  return { screen: 'welcome', principal, actionCount: actions.length, waitingCount: approvals.runs.length + approvals.scripts.length };
}

/** The person's own recent runs, unfinished first, each with a button that opens its card again. */
export function runListScreen(runs: RunView[]): Screen {
  const item = (run: RunView): ListItem => ({
    title: run.actionTitle,
    detail: `${presentState(run.state).text} · ${formatTime(run.endedAt ?? run.startedAt ?? run.createdAt)}${run.durationMs !== undefined ? ` · ${formatDuration(run.durationMs)}` : ''}`,
    open: { verb: 'show-run', data: { runId: run.id } },
  });
  return {
    screen: 'item-list',
    heading: 'Your recent runs',
    sections: [
      { title: 'Not finished', items: runs.filter((run) => !isFinalRunState(run.state)).map(item) },
      { title: 'Finished', items: runs.filter((run) => isFinalRunState(run.state)).map(item) },
    ],
    emptyText: 'You have not run anything yet. Type "help" to see what you can run.',
    refresh: { verb: 'show-runs', data: {} },
  };
}

export function scriptListScreen(scripts: ScriptView[], status: ScriptStatus | undefined): Screen {
  const statuses = status ? [status] : (['testing', 'draft', 'approved'] as const);
  return {
    screen: 'item-list',
    heading: status ? `${STATUS_WORDS[status]} scripts` : 'Scripts',
    sections: statuses.map((each) => ({ title: STATUS_WORDS[each], items: scripts.filter((script) => script.status === each).map(scriptItem) })),
    emptyText: status ? `No ${STATUS_WORDS[status]} scripts you may see.` : 'There are no scripts you may see.',
    refresh: { verb: 'show-scripts', data: status ? { status } : {} },
  };
}

export function approvalListScreen({ scripts, runs }: ApprovalList): Screen {
  return {
    screen: 'item-list',
    heading: 'Waiting for your decision',
    sections: [
      { title: 'Scripts to review', items: scripts.map(scriptItem) },
      {
        title: 'Runs to approve',
        items: runs.map((run): ListItem => ({
          title: run.actionTitle,
          detail: `Requested by ${run.principalId}${run.approval?.expiresAt ? ` · expires ${run.approval.expiresAt.slice(0, 16).replace('T', ' ')} UTC` : ''}`,
          open: { verb: 'refresh-run', data: { runId: run.id } },
        })),
      },
    ],
    emptyText: 'Nothing waits for your decision.',
    refresh: { verb: 'show-approvals', data: {} },
  };
}

/** The review card for the viewer the view was fetched for: buttons only where the executor says they may act. */
export function scriptScreen(view: ScriptView): Screen {
  const viewerMayDecide = view.status === 'testing' && view.allowedTransitions.includes('approved');
  return { screen: 'script-review', review: toScriptReview(view), viewerMayDecide };
}

function scriptItem(script: ScriptView): ListItem {
  const waiting = script.status === 'testing' && script.review && !script.review.decision ? ` · submitted by ${script.review.requestedByName ?? script.review.requestedBy}` : '';
  return {
    title: script.name,
    detail: `${STATUS_WORDS[script.status]} · version ${script.currentHash.slice(0, 12)} · tenant ${script.tenant}${waiting}`,
    open: { verb: 'show-script', data: { scriptId: script.id } },
  };
}

/** The executor's view of a script as the review card's neutral form. */
export function toScriptReview(view: ScriptView): ScriptReview {
  const review = view.review;
  // A decision belongs on the card while the script still has the status it decided.
  const decision = review?.decision && review.decision.to === view.status && view.status !== 'testing' ? review.decision : undefined;
  const moves = view.allowedTransitions.filter((to) => view.status !== 'testing' || (to !== 'approved' && to !== 'draft'));
  return {
    scriptId: view.id,
    name: view.name,
    ...(view.description ? { description: view.description } : {}),
    tenant: view.tenant,
    status: view.status,
    versionHash: view.currentHash,
    ...(review ? { submittedBy: review.requestedByName ?? review.requestedBy } : {}),
    ...(review?.comment ? { submitComment: review.comment } : {}),
    parameters: view.parameters,
    ...(view.diff && view.diff.lines.length > 0
      ? { diff: { lines: view.diff.lines, truncated: view.diff.truncated, against: view.diff.againstHash ? `approved ${view.diff.againstHash.slice(0, 12)}` : 'nothing (never approved)' } }
      : {}),
    ...(view.versions ? { versions: view.versions.map((version) => ({ hash: version.hash, status: version.status })) } : {}),
    ...(decision
      ? { decision: { decision: decision.to === 'approved' ? ('approve' as const) : ('reject' as const), decidedBy: decision.byName ?? decision.by, ...(decision.comment ? { comment: decision.comment } : {}) } }
      : {}),
    moves,
  };
}

/** "Cyra approved Set out-of-office (version 1a2b3c4d5e6f)." */
export function decisionSentence(script: ScriptView, change: ScriptEvent['change']): string {
  const who = change.byName ?? change.by;
  const what = change.to === 'approved' ? 'approved' : change.to === 'draft' ? 'sent back to Draft' : `moved to ${STATUS_WORDS[change.to]}`;
  const comment = change.comment ? ` Comment: “${change.comment}”` : '';
  return `${who} ${what} the script “${script.name}” (version ${change.hash.slice(0, 12)}).${comment}`;
}
