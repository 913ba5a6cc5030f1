/** Finds the objects in a card's JSON that match a predicate, depth first, in document order. */
export function findAll(node: unknown, predicate: (item: Record<string, unknown>) => boolean): Record<string, unknown>[] {
  if (Array.isArray(node)) return node.flatMap((item) => findAll(item, predicate));
  if (node === null || typeof node !== 'object') return [];
  const object = node as Record<string, unknown>;
  const own = predicate(object) ? [object] : [];
  return [...own, ...Object.values(object).flatMap((value) => findAll(value, predicate))];
}

export function ofType(node: unknown, type: string): Record<string, unknown>[] {
  return findAll(node, (item) => item.type === type);
}

/** Every button of the card: Action.Execute / Action.Submit anywhere except the refresh action. */
export function buttons(card: Record<string, unknown>): Record<string, unknown>[] {
  const { refresh: _refresh, ...rest } = card;
  return findAll(rest, (item) => item.type === 'Action.Execute' || item.type === 'Action.Submit');
}

/** What a person can press: the buttons, and the ones that show or hide parts of the card in place. */
export function pressable(card: Record<string, unknown>): Record<string, unknown>[] {
  const { refresh: _refresh, ...rest } = card;
  return findAll(rest, (item) => item.type === 'Action.Execute' || item.type === 'Action.Submit' || item.type === 'Action.ToggleVisibility');
}

/** All visible text of the card (TextBlock text, TextRun text, fact titles and values). */
export function textOf(card: unknown): string {
  return findAll(card, (item) => typeof item.text === 'string' || (typeof item.title === 'string' && typeof item.value === 'string'))
    .map((item) => (typeof item.text === 'string' ? item.text : `${String(item.title)}: ${String(item.value)}`))
    .join('\n');
}
