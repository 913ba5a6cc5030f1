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

/**
 * All visible text of the card (TextBlock text, TextRun text), with each fact (a two-column row:
 * our title, then the value as a text run) read as "title: value".
 */
export function textOf(card: unknown): string {
  const lines: string[] = [];
  const walk = (node: unknown): void => {
    if (Array.isArray(node)) return node.forEach(walk);
    if (node === null || typeof node !== 'object') return;
    const item = node as Record<string, unknown>;
    const fact = factOf(item);
    if (fact) return void lines.push(fact);
    if (typeof item.text === 'string') lines.push(item.text);
    Object.values(item).forEach(walk);
  };
  walk(card);
  return lines.join('\n');
}

function factOf(item: Record<string, unknown>): string | undefined {
  const columns = item.type === 'ColumnSet' && Array.isArray(item.columns) ? (item.columns as Record<string, unknown>[]) : [];
  if (columns.length !== 2 || columns[0]?.width !== 1 || columns[1]?.width !== 3) return undefined;
  const text = (column: Record<string, unknown> | undefined) => findAll(column, (child) => typeof child.text === 'string').map((child) => String(child.text)).join(' ');
  return `${text(columns[0])}: ${text(columns[1])}`;
}
