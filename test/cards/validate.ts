/**
 * Checks a card the way Microsoft's own `adaptivecards` library sees it: parse events,
 * `validateProperties()` failures, and properties the parser did not recognise (it drops
 * them silently on a round trip, which is how a misspelt property would show up).
 */
import * as AC from 'adaptivecards';

/** Properties the library drops on a round trip for a reason other than not knowing them. */
const DROPPED_ON_PURPOSE: ReadonlyArray<{ path: RegExp; value?: unknown }> = [
  // Teams' documented host extension (full-width cards); not part of the core schema.
  { path: /^msteams$/ },
  // The default style of Input.ChoiceSet; kept in our cards to say it explicitly.
  { path: /\.style$/, value: 'compact' },
  // Teams' documented dynamic typeahead search (Input.ChoiceSet `choices.data`, a Data.Query with
  // `associatedInputs` for dependent inputs) and `valueChangedAction` (Action.ResetInputs) for
  // dependent drop-downs: Teams reads them in 1.5 cards; this library knows them from 1.6 on, or not at all.
  { path: /\.choices\.data$/ },
  { path: /\.choices\.data\.associatedInputs$/, value: 'auto' },
  { path: /\.valueChangedAction$/ },
];

export interface CardProblems {
  parseEvents: string[];
  validationEvents: string[];
  droppedProperties: string[];
}

export function checkCard(card: object): CardProblems {
  const context = new AC.SerializationContext();
  const parsed = new AC.AdaptiveCard();
  parsed.parse(card, context);
  const parseEvents: string[] = [];
  for (let index = 0; index < context.eventCount; index++) {
    const event = context.getEventAt(index);
    parseEvents.push(`${AC.ValidationEvent[event.event]}: ${event.message}`);
  }
  const validationEvents = parsed
    .validateProperties()
    .validationEvents.map((event) => `${AC.ValidationEvent[event.event]}: ${event.message}`);
  const droppedProperties = droppedPaths(card, parsed.toJSON() ?? {}, '').filter(
    (path) => !DROPPED_ON_PURPOSE.some((rule) => rule.path.test(path.split('=')[0] ?? '') && (rule.value === undefined || path.endsWith(`=${JSON.stringify(rule.value)}`))),
  );
  return { parseEvents, validationEvents, droppedProperties };
}

/** Every `path=value` in `source` that is missing from the library's own serialisation of it. */
function droppedPaths(source: unknown, roundTrip: unknown, path: string): string[] {
  if (Array.isArray(source)) {
    const other = Array.isArray(roundTrip) ? roundTrip : [];
    return source.flatMap((item, index) => droppedPaths(item, other[index], `${path}[${index}]`));
  }
  if (source === null || typeof source !== 'object') return [];
  const other = roundTrip !== null && typeof roundTrip === 'object' ? (roundTrip as Record<string, unknown>) : {};
  return Object.entries(source).flatMap(([key, value]) => {
    const childPath = path === '' ? key : `${path}.${key}`;
    if (!(key in other)) return [`${childPath}=${JSON.stringify(value)}`];
    return droppedPaths(value, other[key], childPath);
  });
}
