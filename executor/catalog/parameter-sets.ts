/**
 * Which parameter set PowerShell binds a call to, decided before anything runs, so that a form
 * with several sets refuses an ambiguous or incomplete choice with a sentence instead of a
 * PowerShell binding error. The rules are PowerShell's (held against real pwsh in
 * test/executor/catalog/parameter-sets.test.ts):
 *
 * 1. A set is possible when it has every parameter given.
 * 2. One possible set: that one. None: the parameters cannot be used together.
 * 3. Several: the default set (`DefaultParameterSetName`) if it is one of them; else the one
 *    whose mandatory parameters are all given, if exactly one is; else, when a parameter is
 *    mandatory in all of them and missing, that one is missing; else PowerShell cannot tell.
 */
import type { ParameterSet } from '../contract/index.ts';

export type SetResolution =
  | { ok: true; set: ParameterSet; missing: string[] }
  | { ok: false; reason: 'incompatible' | 'ambiguous'; sets: string[] }
  /** Every set the values fit needs these, and none of them was given. */
  | { ok: false; reason: 'missing'; sets: string[]; missing: string[] };

export function resolveParameterSet(sets: readonly ParameterSet[], supplied: Iterable<string>): SetResolution {
  const given = new Set([...supplied].map((name) => name.toLowerCase()));
  const has = (set: ParameterSet, name: string) => set.fields.some((field) => field.name.toLowerCase() === name);
  const possible = sets.filter((set) => [...given].every((name) => has(set, name)));
  const missingIn = (set: ParameterSet) => set.fields.filter((field) => field.required && !given.has(field.name.toLowerCase())).map((field) => field.name);
  const chosen = (set: ParameterSet): SetResolution => ({ ok: true, set, missing: missingIn(set) });
  if (possible.length === 0) {
    // Name the sets each given parameter belongs to, so the message can say what does not mix.
    const involved = sets.filter((set) => [...given].some((name) => has(set, name))).map((set) => set.name);
    return { ok: false, reason: 'incompatible', sets: involved };
  }
  if (possible.length === 1) return chosen(possible[0] as ParameterSet);
  const fallback = possible.find((set) => set.default);
  if (fallback) return chosen(fallback);
  const complete = possible.filter((set) => missingIn(set).length === 0);
  if (complete.length === 1) return chosen(complete[0] as ParameterSet);
  const missingEverywhere = missingIn(possible[0] as ParameterSet).filter((name) => possible.every((set) => missingIn(set).includes(name)));
  if (complete.length === 0 && missingEverywhere.length > 0) return { ok: false, reason: 'missing', sets: possible.map((set) => set.name), missing: missingEverywhere };
  return { ok: false, reason: 'ambiguous', sets: (complete.length > 1 ? complete : possible).map((set) => set.name) };
}

/** The sentence a form shows for a set that cannot be resolved. */
export function describeUnresolved(resolution: Extract<SetResolution, { ok: false }>): string {
  const names = resolution.sets.map((name) => `"${name}"`).join(', ');
  return resolution.reason === 'incompatible'
    ? `These values belong to different ways of running this script (${names}) and cannot be used together. Choose one and fill in only its fields.`
    : `These values fit more than one way of running this script (${names}). Choose one and fill in its required fields.`;
}
