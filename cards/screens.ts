/**
 * The screens the bot core shows, in neutral form. cards/ renders each as an Adaptive Card;
 * bot/slack renders the same as Block Kit.
 */
import type { ActionView, Choice, FormField, PrincipalView, RunView, ScriptPreview, ScriptStatus } from '../executor/contract/index.ts';

/**
 * Verbs a card button or form submit can carry (Action.Execute `verb`, or `data.verb` for
 * Action.Submit). Defined here so cards/ need not import bot/; bot/core/model.ts re-exports it.
 */
export const SUBMIT_VERBS = [
  'show-actions',
  'open-form',
  'submit-form',
  'update-form',
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
  // Authoring (bot/core/authoring.ts): an uploaded script, plans.
  'create-script',
  'save-script-version',
  'new-plan',
  'save-plan',
  'plan-command',
  'show-plans',
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
  /** For a clone: where it came from, and the origin's newer approved version the clone does not have. */
  origin?: { scriptId: string; name?: string; hash: string; newerApprovedHash?: string };
}

/** A form that is not an action's: a plan's definition, in one or two steps. */
export interface AuthoringForm {
  title: string;
  intro?: string;
  /** Lines shown above the fields (what the form will do, in words). */
  notes?: string[];
  fields: FormField[];
  /** The submit button: its verb and the data it carries besides the inputs. */
  submit: { verb: SubmitVerb; title: string; data: Record<string, string> };
  /** The button that shows this form again (Slack opens a form in a modal, from a button on a message). */
  reopen: { verb: SubmitVerb; data: Record<string, string> };
}

/** A button on a list row. */
export interface RowButton {
  title: string;
  verb: SubmitVerb;
  data: Record<string, string>;
  style?: 'positive' | 'destructive';
}

/** One scripting plan as a row of the plan list: what it does in words, and what the viewer may do with it. */
export interface PlanItem {
  id: string;
  title: string;
  lines: string[];
  buttons: RowButton[];
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
      /** Query-bound fields: the choices known now (at most 100 each). */
      choices?: Record<string, Choice[]>;
      /** Query-bound fields that wait for other fields before they have choices. */
      waitingFor?: Record<string, string[]>;
      /** The parameter set whose part of the form is open. */
      parameterSet?: string;
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
  /** A `.ps1` file sent to the bot: its parameters, and what it may become (a new script, a new version of one). */
  | { screen: 'script-upload'; preview: ScriptPreview }
  | {
      screen: 'authoring-form';
      form: AuthoringForm;
      values?: Record<string, unknown>;
      /** Field name → message; `_form` for an error not tied to a field. */
      errors?: Record<string, string>;
    }
  | { screen: 'plan-list'; heading: string; plans: PlanItem[]; notice?: string; emptyText: string; mayCreate: boolean }
  | { screen: 'error'; message: string; correlationId: string; /** What the person can do about it. */ hint?: string }
  | { screen: 'notice'; text: string };

export type ScreenName = Screen['screen'];
