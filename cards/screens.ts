/**
 * The screens the bot core shows, in neutral form. cards/ renders each as an Adaptive Card;
 * bot/slack renders the same as Block Kit.
 */
import type { ActionView, FormField, PrincipalView, RunView, ScriptStatus } from '../executor/contract/index.ts';

/**
 * Verbs a card button or form submit can carry (Action.Execute `verb`, or `data.verb` for
 * Action.Submit). Defined here so cards/ need not import bot/; bot/core/model.ts re-exports it.
 */
export const SUBMIT_VERBS = [
  'show-actions',
  'open-form',
  'submit-form',
  'cancel-run',
  'refresh-run',
  'show-output',
  'decide-run',
  'decide-script',
  'refresh-script',
  'show-scripts',
  'show-script',
  'change-script-status',
  'show-approvals',
  'show-runs',
  'show-run',
] as const;
export type SubmitVerb = (typeof SUBMIT_VERBS)[number];

/** A script version waiting for an administrator's decision (Testing → Approved, or back to Draft). */
export interface ScriptReview {
  scriptId: string;
  name: string;
  description?: string;
  tenant: string;
  status: ScriptStatus;
  versionHash: string;
  /** Who moved it to Testing (display name). */
  submittedBy?: string;
  /** The parameters its param() block declares, as the form will show them. */
  parameters: FormField[];
  /** The first lines of the script text, shown monospace. */
  excerpt?: string;
  /** Set once an administrator decided; the card then shows the outcome and no buttons. */
  decision?: { decision: 'approve' | 'reject'; decidedBy: string; comment?: string };
  /** The change against the last approved version (unified diff lines); shown instead of the excerpt. */
  diff?: { lines: string[]; truncated: boolean; /** e.g. "approved 1a2b3c4d5e6f" or "no approved version". */ against: string };
  /** The comment the submitter gave when asking for the review. */
  submitComment?: string;
  /** Every version, oldest first, with the status that exact hash has now. */
  versions?: { hash: string; status: ScriptStatus }[];
  /**
   * Status changes the viewer may make besides deciding a pending review (Draft → Testing,
   * Approved → Draft): buttons with `change-script-status` → `{ scriptId, versionHash, from, to }`.
   */
  moves?: ScriptStatus[];
}

/** One row of a list screen: a script, or a run waiting for approval; its button opens it. */
export interface ListItem {
  title: string;
  detail: string;
  open: { verb: SubmitVerb; data: Record<string, string> };
}

/** An action the core guessed from typed text, with the values the text gave for its fields. */
export interface Suggestion {
  action: ActionView;
  values: Record<string, string>;
}

/** What the core wants shown. */
export type Screen =
  | { screen: 'action-list'; principal: PrincipalView; actions: ActionView[] }
  | {
      screen: 'action-form';
      action: ActionView;
      /**
       * This form card's own id: its Run button sends it, and the core sends it to the executor
       * as the `Idempotency-Key`, so pressing Run twice starts one run.
       */
      formId: string;
      /** Values the user entered (kept when validation fails). */
      values?: Record<string, unknown>;
      /** Field name → message; `_form` for an error not tied to a field. */
      errors?: Record<string, string>;
    }
  | {
      screen: 'run-status';
      run: RunView;
      canCancel: boolean;
      /** The viewer pressed Cancel once: the card asks "really?" before anything is cancelled. */
      confirmCancel?: boolean;
      /** Display name; else the principal id. */
      requester?: string;
    }
  | {
      screen: 'run-summary';
      run: RunView;
      canShowAll: boolean;
      /** Only the person who ran it is offered "Run again" (it opens their own form). */
      canRunAgain?: boolean;
      /** Display name; else the principal id. */
      requester?: string;
    }
  | {
      screen: 'approval-request';
      run: RunView;
      requester: string;
      viewerMayDecide: boolean;
      /** The viewer asked for this run: they cannot decide it, but may withdraw it. */
      viewerIsRequester?: boolean;
      /** Parameter name → the form's label, so approvers read what the requester filled in. */
      labels?: Record<string, string>;
      /** Rendered for this viewer alone (the answer to their own press): no "Show my options". */
      personal?: boolean;
    }
  | {
      /** What a new conversation shows first. */
      screen: 'welcome';
      principal: PrincipalView;
      actionCount: number;
      /** Requests and scripts waiting for this person's decision. */
      waitingCount: number;
    }
  | {
      /** Typed text that is no command: what was not understood, and the closest actions. */
      screen: 'suggestions';
      text: string;
      suggestions: Suggestion[];
    }
  | { screen: 'script-review'; review: ScriptReview; viewerMayDecide: boolean }
  | {
      /** Scripts by status (`scripts`), or what waits for the viewer's decision (`approvals`). */
      screen: 'item-list';
      heading: string;
      sections: { title: string; items: ListItem[] }[];
      emptyText: string;
      /** The button that shows the list again, current. */
      refresh: { verb: SubmitVerb; data: Record<string, string> };
    }
  | { screen: 'error'; message: string; correlationId: string; /** What the person can do about it. */ hint?: string }
  | { screen: 'notice'; text: string };

export type ScreenName = Screen['screen'];
