/**
 * A tiny, safe JSON path subset for connector mappings: `$`, `.name` and `[index]`, e.g.
 * `$.incident.hosts[0].name`. Only own properties of plain JSON objects are read, so a path
 * can never reach `__proto__` or anything that is not in the payload.
 */
export type PathStep = { key: string } | { index: number };

export function parseJsonPath(path: string): PathStep[] {
  if (!path.startsWith('$')) throw new Error(`JSON path "${path}" must start with $`);
  // Sticky: each step must start exactly where the previous one ended.
  const STEP = /\.([A-Za-z_][A-Za-z0-9_-]*)|\[(\d{1,6})\]/y;
  const steps: PathStep[] = [];
  let position = 1;
  while (position < path.length) {
    STEP.lastIndex = position;
    const match = STEP.exec(path);
    if (!match) throw new Error(`JSON path "${path}" is not of the form $.a.b[0].c (at character ${position + 1})`);
    steps.push(match[1] !== undefined ? { key: match[1] } : { index: Number(match[2]) });
    position = STEP.lastIndex;
  }
  return steps;
}

/** The value at `path`, or undefined when any step is missing. */
export function readJsonPath(document: unknown, path: string): unknown {
  let current: unknown = document;
  for (const step of parseJsonPath(path)) {
    if ('index' in step) {
      if (!Array.isArray(current) || step.index >= current.length) return undefined;
      current = current[step.index];
    } else {
      if (current === null || typeof current !== 'object' || Array.isArray(current) || !Object.hasOwn(current, step.key)) return undefined;
      current = (current as Record<string, unknown>)[step.key];
    }
  }
  return current;
}
