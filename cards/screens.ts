/**
 * The screens the bot core shows, in neutral form. cards/ renders each as an Adaptive Card;
 * bot/slack renders the same as Block Kit.
 */
import type { ActionView, PrincipalView, RunView } from '../executor/contract/index.ts';

/** What the core wants shown. */
export type Screen =
  | { screen: 'action-list'; principal: PrincipalView; actions: ActionView[] }
  | {
      screen: 'action-form';
      action: ActionView;
      /** Values the user entered (kept when validation fails). */
      values?: Record<string, unknown>;
      /** Field name → message; `_form` for an error not tied to a field. */
      errors?: Record<string, string>;
    }
  | { screen: 'run-status'; run: RunView; canCancel: boolean }
  | { screen: 'run-summary'; run: RunView; canShowAll: boolean }
  | { screen: 'approval-request'; run: RunView; requester: string; viewerMayDecide: boolean }
  | { screen: 'error'; message: string; correlationId: string }
  | { screen: 'notice'; text: string };

