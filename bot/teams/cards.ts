/**
 * How screens become Teams messages: one Adaptive Card (Universal Actions, `Action.Execute`),
 * with a per-user refresh where different people should see different buttons.
 *
 * Teams refreshes a card automatically only for the users listed in `refresh.userIds`, at most
 * 60. Where the edge cannot list the audience (a bigger channel, or the member list failed)
 * the card gets a "Show my options" button instead: pressing it sends the same refresh verb,
 * answered for that one user.
 */
import { CardFactory, type Attachment } from 'botbuilder';
import type { AdaptiveCardJson, RenderOptions } from '../../cards/render.ts';
import { MAX_REFRESH_USERS } from '../../cards/limits.ts';
import type { Screen } from '../core/model.ts';

export const ADAPTIVE_CARD_CONTENT_TYPE = 'application/vnd.microsoft.card.adaptive';

export { MAX_REFRESH_USERS };

export type AdaptiveCard = AdaptiveCardJson;

/** cards/render.ts `renderCard`'s shape (injectable; the edge uses the real one by default). */
export type CardRenderer = (screen: Screen, options: RenderOptions) => AdaptiveCard;

/** Screens whose buttons differ per viewer, so the card refreshes for each user who sees it. */
export function isPerUserScreen(screen: Screen): boolean {
  return screen.screen === 'approval-request' || screen.screen === 'run-status' || screen.screen === 'script-review';
}

/**
 * Renders a screen for Teams. `audience` is the list of Teams user ids (MRIs) to refresh the
 * card for, or `undefined` when it could not be listed; then the card keeps only its
 * "Show my options" button, which sends the same refresh verb for the one user who presses it.
 */
export function teamsCard(render: CardRenderer, screen: Screen, audience: string[] | undefined): AdaptiveCard {
  if (isPerUserScreen(screen) && audience && audience.length > 0 && audience.length <= MAX_REFRESH_USERS) {
    return render(screen, { actionStyle: 'execute', refreshUserIds: audience });
  }
  return render(screen, { actionStyle: 'execute' });
}

export function cardAttachment(card: AdaptiveCard): Attachment {
  return CardFactory.adaptiveCard(card);
}

/** The body of an `adaptiveCard/action` invoke response that shows `card` in place. */
export function cardInvokeResponse(card: AdaptiveCard): { status: number; body: unknown } {
  return { status: 200, body: { statusCode: 200, type: ADAPTIVE_CARD_CONTENT_TYPE, value: card } };
}

/** The Universal Actions error response (the client shows its own error text). */
export function errorInvokeResponse(statusCode: 400 | 500, message: string): { status: number; body: unknown } {
  return {
    status: 200,
    body: { statusCode, type: 'application/vnd.microsoft.error', value: { code: statusCode === 400 ? 'BadRequest' : 'InternalError', message } },
  };
}
