/**
 * Holds Deputy's reading of scripts (executor/pwsh/parameters.ts) against what PowerShell itself
 * says of the same files: Get-Command's parameter metadata and Get-Help's help, asked of a real
 * pwsh by powershell-says.ps1. No expected value is typed by hand: each comes from PowerShell,
 * put through the mapping DESIGN.md fixes (type → kind, attribute → bound, help → label).
 *
 * Used by the fidelity test (the committed corpus) and by `npm run bench` (any folder of scripts,
 * such as a checkout of ScriptRunner's ActionPacks, named by DEPUTY_PS_CORPUS).
 */
import { readdirSync, statSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { z } from 'zod';
import type { FormField, ParameterSet } from '../../../../executor/contract/index.ts';
import { catalogRoot } from '../../../../executor/catalog/confined.ts';
import { readScriptText } from '../../../../executor/catalog/scripts.ts';
import { defaultText, fieldHelp } from '../../../../executor/pwsh/help-text.ts';
import { ALL_PARAMETER_SETS, boundsOfRange, readScriptFacts, toParsedScript, type ParsedScript, type ScriptFacts } from '../../../../executor/pwsh/parameters.ts';
import { pwshJson } from '../helpers.ts';

const ORACLE = join(import.meta.dirname, 'powershell-says.ps1');

const SetSchema = z.object({ name: z.string(), mandatory: z.boolean(), helpMessage: z.string().nullish() });
const OracleParameterSchema = z.object({
  name: z.string(),
  psType: z.string(),
  isArray: z.boolean(),
  elementType: z.string(),
  enumValues: z.array(z.string()).nullish(),
  sets: z.array(SetSchema),
  attributes: z.object({
    validateSet: z.array(z.string()).nullish(),
    validateSetIgnoreCase: z.boolean().nullish(),
    pattern: z.string().nullish(),
    patternOptions: z.string().nullish(),
    rangeKind: z.string().nullish(),
    rangeMin: z.number().nullish(),
    rangeMax: z.number().nullish(),
    lengthMin: z.number().nullish(),
    lengthMax: z.number().nullish(),
    countMin: z.number().nullish(),
    countMax: z.number().nullish(),
    allowEmptyString: z.boolean().nullish(),
  }),
  help: z.string().nullish(),
  helpDefault: z.string().nullish(),
  declaredDefault: z.object({ extent: z.string(), safeValue: z.unknown(), safe: z.boolean() }).nullish(),
});
type OracleParameter = z.infer<typeof OracleParameterSchema>;
const OracleScriptSchema = z.object({
  path: z.string(),
  skipped: z.string().optional(),
  error: z.string().optional(),
  command: z
    .object({
      synopsis: z.string().nullish(),
      description: z.string().nullish(),
      parameterSets: z.array(z.object({ name: z.string(), isDefault: z.boolean(), parameters: z.array(z.object({ name: z.string(), mandatory: z.boolean() })) })),
      parameters: z.array(OracleParameterSchema),
    })
    .optional(),
});
type OracleScript = z.infer<typeof OracleScriptSchema>;

export interface ParameterVerdict {
  name: string;
  /** What differs from PowerShell's reading; empty: the parameter came through intact. */
  problems: string[];
}

export interface ScriptVerdict {
  path: string;
  /** Why PowerShell could not be asked (its own reader refused, or asking would run code). */
  skipped?: string;
  /** Problems of the script as a whole (its sets, its synopsis). */
  problems: string[];
  parameters: ParameterVerdict[];
}

export interface FidelityReport {
  scripts: ScriptVerdict[];
  parameters: number;
  intact: number;
  skipped: number;
}

/** Every `.ps1` below a folder (sorted), or the first `limit` of them. */
export function scriptFiles(folder: string, limit = Number.POSITIVE_INFINITY): string[] {
  const found: string[] = [];
  const walk = (dir: string) => {
    for (const name of readdirSync(dir).sort()) {
      if (found.length >= limit) return;
      const path = join(dir, name);
      if (statSync(path).isDirectory()) walk(path);
      else if (/\.ps1$/i.test(name)) found.push(path);
    }
  };
  walk(folder);
  return found;
}

export async function checkFidelity(pwshPath: string, paths: readonly string[], batchSize = 200): Promise<FidelityReport> {
  const scripts: ScriptVerdict[] = [];
  for (let start = 0; start < paths.length; start += batchSize) scripts.push(...(await checkBatch(pwshPath, paths.slice(start, start + batchSize))));
  const verified = scripts.filter((script) => !script.skipped);
  const parameters = verified.flatMap((script) => script.parameters);
  return {
    scripts,
    parameters: parameters.length,
    intact: parameters.filter((parameter) => parameter.problems.length === 0).length,
    skipped: scripts.length - verified.length,
  };
}

async function checkBatch(pwshPath: string, paths: readonly string[]): Promise<ScriptVerdict[]> {
  const texts: { key: string; text: string }[] = [];
  const unreadable = new Map<string, string>();
  for (const path of paths) {
    // Read as an import reads it (UTF-8, inside its folder).
    const read = await readScriptText(await catalogRoot(dirname(path)), basename(path));
    if ('problem' in read) unreadable.set(path, read.problem);
    else texts.push({ key: path, text: read.text });
  }
  const [ours, oracle] = await Promise.all([readScriptFacts(pwshPath, texts), askPowerShell(pwshPath, texts.map((text) => text.key))]);
  return paths.map((path): ScriptVerdict => {
    const problem = unreadable.get(path);
    if (problem) return { path, skipped: problem, problems: [], parameters: [] };
    const said = oracle.get(path);
    const facts = ours.get(path);
    if (!said || !facts) return { path, skipped: 'no answer', problems: [], parameters: [] };
    if (said.skipped || said.error || !said.command) return { path, skipped: said.skipped ?? said.error ?? 'no answer', problems: [], parameters: [] };
    if (facts.parseErrors.length > 0) return { path, problems: [`Deputy reports parse errors PowerShell does not: ${facts.parseErrors.join('; ')}`], parameters: [] };
    return compareScript(path, facts, said.command);
  });
}

async function askPowerShell(pwshPath: string, paths: readonly string[]): Promise<Map<string, OracleScript>> {
  const parsed = z.array(OracleScriptSchema).parse(await pwshJson(pwshPath, ['-File', ORACLE], paths));
  return new Map(parsed.map((script) => [script.path, script]));
}

type Command = NonNullable<OracleScript['command']>;

function compareScript(path: string, facts: ScriptFacts, command: Command): ScriptVerdict {
  const parsed = toParsedScript(facts);
  const problems: string[] = [];
  const namedSets = command.parameterSets.filter((set) => set.name !== ALL_PARAMETER_SETS);
  const expectedSets: ParameterSet[] | undefined =
    command.parameterSets.length > 1
      ? command.parameterSets.map((set) => ({ name: set.name, ...(set.isDefault && namedSets.length > 1 ? { default: true } : {}), fields: set.parameters.map(({ name, mandatory }) => ({ name, required: mandatory })) }))
      : undefined;
  if (!sameSets(parsed.parameterSets, expectedSets)) {
    problems.push(`parameter sets: Deputy ${describeSets(parsed.parameterSets)}, PowerShell ${describeSets(expectedSets)}`);
  }
  if (parsed.synopsis !== undefined && normalize(parsed.synopsis) !== normalize(defaultText(command.synopsis ?? undefined))) {
    problems.push(`synopsis: Deputy "${parsed.synopsis}", PowerShell "${command.synopsis ?? ''}"`);
  }
  const said = new Map(command.parameters.map((parameter) => [parameter.name.toLowerCase(), parameter]));
  const parameters = facts.parameters.map((parameterFacts, index): ParameterVerdict => {
    const field = parsed.parameters[index] as FormField;
    const oracle = said.get(parameterFacts.name.toLowerCase());
    if (!oracle) return { name: parameterFacts.name, problems: ['PowerShell does not list this parameter'] };
    return { name: parameterFacts.name, problems: compareParameter(field, parameterFacts, oracle, parsed, expectedSets) };
  });
  return { path, problems, parameters };
}

function compareParameter(
  field: FormField,
  facts: ScriptFacts['parameters'][number],
  oracle: OracleParameter,
  parsed: ParsedScript,
  expectedSets: ParameterSet[] | undefined,
): string[] {
  const problems: string[] = [];
  const expect = (what: string, ours: unknown, theirs: unknown) => {
    if (!isDeepStrictEqual(ours, theirs)) problems.push(`${what}: Deputy ${JSON.stringify(ours)}, PowerShell ${JSON.stringify(theirs)}`);
  };
  const attributes = oracle.attributes;
  const helpMessages = oracle.sets.map((set) => set.helpMessage ?? undefined);
  const directives = helpMessages.flatMap((message) => (message ? [/^\s*ASRDisplay\(\s*([^)]*?)\s*\)\s*$/i.exec(message)?.[1]?.toLowerCase()] : [])).filter((value) => value !== undefined);
  const kind = expectedKind(oracle, directives);

  // `object` and `System.Object` name one type; PowerShell spells it either way.
  expect('type', field.psType.replace(/^system\./, ''), oracle.psType.replace(/^system\./, ''));
  expect('kind', field.kind, kind);
  expect('HelpMessage per set', sortedBy(facts.sets.map((set) => ({ name: set.name, helpMessage: set.helpMessage ?? null }))), sortedBy(oracle.sets.map((set) => ({ name: set.name, helpMessage: set.helpMessage ?? null }))));

  // Mandatory, per set: what the field says when there is one set, what each set says when there are several.
  if (expectedSets) {
    for (const set of expectedSets) {
      const theirs = set.fields.find((entry) => entry.name.toLowerCase() === field.name.toLowerCase());
      const ours = parsed.parameterSets?.find((candidate) => candidate.name === set.name)?.fields.find((entry) => entry.name === field.name);
      expect(`in set "${set.name}"`, ours ? { required: ours.required } : undefined, theirs ? { required: theirs.required } : undefined);
    }
    expect('required in every set', field.required, expectedSets.every((set) => set.fields.some((entry) => entry.name.toLowerCase() === field.name.toLowerCase() && entry.required)));
  } else {
    expect('required', field.required, oracle.sets.some((set) => set.mandatory));
  }

  expect('choices', field.choices, attributes.validateSet ?? oracle.enumValues ?? undefined);
  expect('choices case-sensitive', field.choicesCaseSensitive ?? false, attributes.validateSet ? attributes.validateSetIgnoreCase === false : false);
  expect('pattern', field.pattern, attributes.pattern ?? undefined);
  expect('pattern case-sensitive', field.patternCaseSensitive ?? false, attributes.pattern != null && attributes.patternOptions != null && !/IgnoreCase/i.test(attributes.patternOptions));
  const integer = /^System\.(U?Int(16|32|64)|S?Byte)$/.test(oracle.elementType);
  const numeric = integer || /^System\.(Double|Single|Decimal)$/.test(oracle.elementType);
  if (numeric && (field.kind === 'number' || field.kind === 'multi')) {
    expect('integer', field.integer ?? false, integer);
    const bounds = expectedBounds(attributes, integer);
    expect('minimum', field.min, bounds.min);
    expect('maximum', field.max, bounds.max);
  }
  expect('length', [field.minLength, field.maxLength], [attributes.lengthMin ?? undefined, attributes.lengthMax ?? undefined]);
  expect('count', [field.minCount, field.maxCount], [attributes.countMin ?? undefined, attributes.countMax ?? undefined]);
  expect('empty text allowed', field.allowEmpty ?? false, attributes.allowEmptyString === true && field.required);

  const help = fieldHelp(oracle.name, oracle.help ?? undefined, helpMessages.find((message) => message && !/^\s*ASRDisplay\(/i.test(message)));
  expect('label', field.label, help.label);
  expect('hint', field.hint, help.hint);
  expect('localized help', field.localized, help.localized);
  const defaultProblem = compareDefault(field, oracle);
  if (defaultProblem) problems.push(defaultProblem);
  return problems;
}

/** DESIGN.md's mapping of a PowerShell type to a form kind, applied to Get-Command's type. */
function expectedKind(oracle: OracleParameter, directives: readonly string[]): FormField['kind'] {
  const element = oracle.elementType;
  if (element === 'System.Security.SecureString' || element === 'System.Management.Automation.PSCredential') return 'secret';
  if (oracle.isArray) return 'multi';
  if (oracle.attributes.validateSet || oracle.enumValues) return 'choice';
  if (element === 'System.Management.Automation.SwitchParameter' || element === 'System.Boolean') return 'toggle';
  if (/^System\.(U?Int(16|32|64)|S?Byte|Double|Single|Decimal)$/.test(element)) return 'number';
  if (element === 'System.DateTime' || element === 'System.DateTimeOffset' || directives.includes('date')) return 'date';
  return 'text';
}

/** `[ValidateRange]` as bounds: PowerShell's minimum and maximum, or its named kind (`Positive`, …) as Deputy states it. */
function expectedBounds(attributes: OracleParameter['attributes'], integer: boolean): { min?: number; max?: number } {
  return boundsOfRange({ min: attributes.rangeMin ?? undefined, max: attributes.rangeMax ?? undefined, kind: attributes.rangeKind ?? undefined }, integer);
}

/**
 * A constant default is a prefill. PowerShell folds constant defaults to their value (Get-Help
 * shows it), shows others as written; literal arrays it reads with SafeGetValue. Secrets and
 * masked texts are never prefilled.
 */
function compareDefault(field: FormField, oracle: OracleParameter): string | undefined {
  const declared = oracle.declaredDefault;
  if (!declared || field.kind === 'secret' || field.masked) {
    return field.default === undefined ? undefined : `default: Deputy ${JSON.stringify(field.default)}, PowerShell declares none`;
  }
  const folded = oracle.helpDefault != null && oracle.helpDefault !== declared.extent;
  if (folded) {
    const theirs = oracle.helpDefault as string;
    if (theirs === '' && field.default === undefined) return undefined;
    if (sameScalar(field.default, theirs)) return undefined;
    return `default: Deputy ${JSON.stringify(field.default)}, PowerShell ${JSON.stringify(theirs)}`;
  }
  if (declared.safe && declared.safeValue !== null) {
    const theirs = Array.isArray(declared.safeValue) ? declared.safeValue.map(String) : declared.safeValue;
    const ours = field.default;
    const same = Array.isArray(theirs) ? isDeepStrictEqual(ours, field.kind === 'multi' ? theirs : undefined) : sameScalar(ours, String(theirs));
    return same ? undefined : `default: Deputy ${JSON.stringify(ours)}, PowerShell ${JSON.stringify(theirs)}`;
  }
  // Computed at run time (Get-Date, $env:…): no prefill, PowerShell computes it.
  return field.default === undefined ? undefined : `default: Deputy ${JSON.stringify(field.default)}, PowerShell computes "${declared.extent}" at run time`;
}

/** A prefill against PowerShell's text of the same value (`True`, `1.79769313486232E+308`, `SubTree`). */
function sameScalar(ours: unknown, theirs: string): boolean {
  if (typeof ours === 'boolean') return theirs.toLowerCase() === String(ours);
  if (typeof ours === 'number') {
    const number = Number(theirs);
    return Number.isFinite(number) && Math.abs(number - ours) <= Math.abs(ours) * 1e-14;
  }
  if (Array.isArray(ours)) return ours.length === 1 && ours[0] === theirs;
  return ours === theirs;
}

function sameSets(ours: ParameterSet[] | undefined, theirs: ParameterSet[] | undefined): boolean {
  const canonical = (sets: ParameterSet[] | undefined) =>
    sets === undefined ? undefined : sortedBy(sets.map((set) => ({ name: set.name, default: set.default ?? false, fields: sortedBy(set.fields.map((field) => ({ name: field.name.toLowerCase(), required: field.required }))) })));
  return isDeepStrictEqual(canonical(ours), canonical(theirs));
}

function describeSets(sets: ParameterSet[] | undefined): string {
  return sets === undefined ? 'one set' : sets.map((set) => `${set.name}${set.default ? ' (default)' : ''}`).sort().join(', ');
}

function sortedBy<T extends { name: string }>(items: T[]): T[] {
  return [...items].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

function normalize(text: string | undefined): string {
  return (text ?? '').replace(/\s+/g, ' ').trim();
}
