/**
 * Screen → Adaptive Card 1.5 JSON, for Teams (Universal Actions: Action.Execute with a verb)
 * and for the local web chat (Action.Submit with the verb inside `data`).
 */
import { DeputyError } from '../executor/contract/index.ts';
import type { AdaptiveCardJson, JsonObject, JsonValue } from './json.ts';
import { CARD_BUDGET_BYTES, type CardLimits, LIMIT_STEPS, MAX_REFRESH_USERS } from './limits.ts';
import { SUBMIT_VERBS, type Screen, type SubmitVerb } from './screens.ts';
import { expandTemplate } from './templates.ts';
import { viewFor } from './views.ts';

export type { AdaptiveCardJson } from './json.ts';

export interface RenderOptions {
  /** `execute`: Action.Execute `{ verb, data }` (Teams). `submit`: Action.Submit `{ data: { verb, ...data } }` (web chat). */
  actionStyle: 'execute' | 'submit';
  /**
   * Teams user ids (MRIs / AAD object ids) whose client refreshes this card on its own, so each
   * of them sees their own buttons. Only used with `execute`; Teams honours at most 60.
   */
  refreshUserIds?: string[];
}

/**
 * Renders a screen as a card that fits Teams' message size: text from scripts and users is
 * cut to standard limits, and to smaller ones if the card would still be too large.
 */
export function renderCard(screen: Screen, options: RenderOptions): AdaptiveCardJson {
  for (const limits of LIMIT_STEPS) {
    const card = renderWithLimits(screen, options, limits);
    if (Buffer.byteLength(JSON.stringify(card), 'utf8') <= CARD_BUDGET_BYTES) return card;
  }
  throw new DeputyError('DEPUTY_E_PAYLOAD_TOO_LARGE', {
    detail: `The ${screen.screen} card is larger than ${CARD_BUDGET_BYTES} bytes even at the smallest limits.`,
  });
}

function renderWithLimits(screen: Screen, options: RenderOptions, limits: CardLimits): AdaptiveCardJson {
  const view = viewFor(screen, limits, { dynamicChoices: options.actionStyle === 'execute' });
  const card = applyActionStyle(expandTemplate(view.template, view.data), options.actionStyle) as AdaptiveCardJson;
  // A card whose buttons all depend on conditions may end up with none; an empty list is noise.
  if (Array.isArray(card.actions) && card.actions.length === 0) delete card.actions;
  const userIds = (options.refreshUserIds ?? []).slice(0, MAX_REFRESH_USERS);
  // Refresh is a Universal Actions feature: a client without it would ignore it at best.
  if (options.actionStyle === 'execute' && view.refresh && userIds.length > 0) {
    card.refresh = { action: { type: 'Action.Execute', verb: view.refresh.verb, data: view.refresh.data }, userIds };
  }
  return card;
}

function isSubmitVerb(value: JsonValue | undefined): value is SubmitVerb {
  return typeof value === 'string' && (SUBMIT_VERBS as readonly string[]).includes(value);
}

/** Rewrites every Action.Execute in the card for the client's action style, checking its verb. */
function applyActionStyle(node: JsonValue, style: RenderOptions['actionStyle']): JsonValue {
  if (Array.isArray(node)) return node.map((item) => applyActionStyle(item, style));
  if (node === null || typeof node !== 'object') return node;
  const result: JsonObject = {};
  for (const [key, value] of Object.entries(node)) result[key] = applyActionStyle(value, style);
  if (result.type !== 'Action.Execute') return result;

  const { verb, data, ...rest } = result;
  if (!isSubmitVerb(verb)) throw new DeputyError('DEPUTY_E_INTERNAL', { detail: `A card template has an unknown verb: ${String(verb)}` });
  const payload = data !== undefined && data !== null && typeof data === 'object' && !Array.isArray(data) ? data : {};
  return style === 'execute'
    ? { ...rest, verb, data: payload }
    : { ...rest, type: 'Action.Submit', data: { ...payload, verb } };
}
