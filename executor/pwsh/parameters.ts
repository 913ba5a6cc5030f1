/**
 * The parameter schema of PowerShell scripts, read by PowerShell's own parser
 * (parameters.ps1), never by regular expressions on PowerShell source. One pwsh process
 * parses every script of a call; the script texts travel as JSON on stdin.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { z } from 'zod';
import { DeputyError, type FieldValue, type FormField, type ParameterSet } from '../contract/index.ts';
import { defaultText, fieldHelp } from './help-text.ts';

export interface ParsedScript {
  parameters: FormField[];
  /** When the script declares more than one parameter set. */
  parameterSets?: ParameterSet[];
  synopsis?: string;
  description?: string;
  /** The script reads `$SRXEnv` (written for ScriptRunner): runs give it one. */
  usesSrxEnv?: boolean;
  /** `line N: message` for each syntax error; a script with any is not importable. */
  parseErrors: string[];
  /** What the form cannot express (`$Name: …`), and what the script needs (`#Requires -Modules`): for import reports. */
  unmapped?: string[];
}

/**
 * Bumped whenever the reading of a param() block changes: versions stored by an older parser
 * are read again on the next import (their text, and so their hash, stays the same).
 */
export const PARSER_VERSION = 2;

/** PowerShell's name for the parameters of no particular set, which belong to every set. */
export const ALL_PARAMETER_SETS = '__AllParameterSets';

const PARSER_SCRIPT = join(import.meta.dirname, 'parameters.ps1');
/** pwsh's start, then a share per script: a whole ActionPacks-sized tree (2,000 scripts) is one call. */
const PARSE_TIMEOUT_BASE_MS = 60_000;
const PARSE_TIMEOUT_PER_SCRIPT_MS = 250;

const nullable = <T extends z.ZodType>(schema: T) => schema.nullish().transform((value) => value ?? undefined);

/** What parameters.ps1 reports about one parameter: facts from the AST, not yet a form field. */
const ParameterFactsSchema = z.object({
  name: z.string().min(1),
  psType: z.string(),
  typeClass: z.enum(['toggle', 'integer', 'number', 'date', 'secret', 'text']),
  isArray: z.boolean(),
  enumValues: nullable(z.array(z.string())),
  /** One entry per `[Parameter()]` attribute (or one for all sets when there is none). */
  sets: z.array(z.object({ name: z.string(), mandatory: z.boolean(), helpMessage: nullable(z.string()) })),
  validateSet: nullable(z.array(z.string())),
  validateSetIgnoreCase: z.boolean(),
  pattern: nullable(z.string()),
  patternOptions: nullable(z.string()),
  rangeMin: nullable(z.number()),
  rangeMax: nullable(z.number()),
  rangeKind: nullable(z.string()),
  lengthMin: nullable(z.number().int()),
  lengthMax: nullable(z.number().int()),
  countMin: nullable(z.number().int()),
  countMax: nullable(z.number().int()),
  allowEmptyString: z.boolean(),
  allowNull: z.boolean(),
  hasDefault: z.boolean(),
  default: z.unknown(),
  help: nullable(z.string()),
  unmapped: z.array(z.string()).default([]),
});
export type ParameterFacts = z.infer<typeof ParameterFactsSchema>;

const ScriptFactsSchema = z.object({
  key: z.string(),
  synopsis: nullable(z.string()),
  description: nullable(z.string()),
  defaultParameterSet: nullable(z.string()),
  usesSrxEnv: z.boolean(),
  requiredModules: z.array(z.string()).default([]),
  dynamicParameters: z.boolean().default(false),
  parseErrors: z.array(z.string()),
  parameters: z.array(ParameterFactsSchema),
});
export type ScriptFacts = z.infer<typeof ScriptFactsSchema>;

export async function parseScriptParameters(
  pwshPath: string,
  scripts: { key: string; text: string }[],
): Promise<Map<string, ParsedScript>> {
  const parsed = new Map<string, ParsedScript>();
  for (const [key, facts] of await readScriptFacts(pwshPath, scripts)) parsed.set(key, toParsedScript(facts));
  return parsed;
}

/** The raw facts parameters.ps1 reports, by key (the corpus test compares them with Get-Command). */
export async function readScriptFacts(pwshPath: string, scripts: { key: string; text: string }[]): Promise<Map<string, ScriptFacts>> {
  const facts = new Map<string, ScriptFacts>();
  if (scripts.length === 0) return facts;
  const stdout = await runParser(pwshPath, JSON.stringify(scripts), PARSE_TIMEOUT_BASE_MS + scripts.length * PARSE_TIMEOUT_PER_SCRIPT_MS);
  let json: unknown;
  try {
    json = JSON.parse(stdout);
  } catch (cause) {
    throw new DeputyError('DEPUTY_E_INTERNAL', { detail: `parameter parser wrote no JSON: ${stdout.slice(0, 500)}`, cause });
  }
  for (const result of z.array(ScriptFactsSchema).parse(json)) facts.set(result.key, result);
  return facts;
}

export function toParsedScript(facts: ScriptFacts): ParsedScript {
  const parameterSets = parameterSetsOf(facts);
  const required = new Map<string, boolean>();
  for (const parameter of facts.parameters) {
    required.set(parameter.name, parameterSets ? parameterSets.every((set) => set.fields.some((field) => field.name === parameter.name && field.required)) : parameter.sets.some((entry) => entry.mandatory));
  }
  const synopsis = defaultText(facts.synopsis);
  const description = defaultText(facts.description);
  const unmapped = unmappedOf(facts);
  return {
    parameters: facts.parameters.map((parameter) => toFormField(parameter, required.get(parameter.name) ?? false)),
    ...(parameterSets ? { parameterSets } : {}),
    ...(synopsis ? { synopsis } : {}),
    ...(description ? { description } : {}),
    ...(facts.usesSrxEnv ? { usesSrxEnv: true } : {}),
    parseErrors: facts.parseErrors,
    ...(unmapped.length > 0 ? { unmapped } : {}),
  };
}

/** ScriptRunner display hints a form has an equivalent for; the others are reported as unmapped. */
const KNOWN_DISPLAY_HINTS = new Set(['multiline', 'date', 'password']);

function unmappedOf(facts: ScriptFacts): string[] {
  const notes: string[] = [];
  if (facts.requiredModules.length > 0) notes.push(`needs the PowerShell module(s) ${facts.requiredModules.join(', ')} where it runs (#Requires)`);
  if (facts.dynamicParameters) notes.push('dynamicparam: parameters made when the script runs cannot be in its form');
  for (const parameter of facts.parameters) {
    const hints = [...displayHints(parameter).hints].filter((hint) => !KNOWN_DISPLAY_HINTS.has(hint));
    const own = [...new Set(parameter.unmapped)];
    if (hints.length > 0) own.push(`ScriptRunner display hint ASRDisplay(${hints.join(', ')}) has no form equivalent`);
    for (const note of own) notes.push(`$${parameter.name}: ${note}`);
  }
  return notes;
}

/**
 * The parameter sets as PowerShell forms them: every name a `[Parameter(ParameterSetName)]` or
 * `DefaultParameterSetName` gives; a parameter of no particular set belongs to each. With one
 * set or none, the form has no set chooser (undefined).
 */
export function parameterSetsOf(facts: Pick<ScriptFacts, 'parameters' | 'defaultParameterSet'>): ParameterSet[] | undefined {
  const names: string[] = [];
  const add = (name: string | undefined) => {
    if (name !== undefined && name !== ALL_PARAMETER_SETS && !names.includes(name)) names.push(name);
  };
  add(facts.defaultParameterSet);
  for (const parameter of facts.parameters) for (const entry of parameter.sets) add(entry.name);
  if (names.length < 2) return undefined;
  return names.map((name) => {
    const fields: ParameterSet['fields'] = [];
    for (const parameter of facts.parameters) {
      const entry = parameter.sets.find((candidate) => candidate.name === name) ?? parameter.sets.find((candidate) => candidate.name === ALL_PARAMETER_SETS);
      if (entry) fields.push({ name: parameter.name, required: entry.mandatory });
    }
    return { name, ...(name === facts.defaultParameterSet ? { default: true } : {}), fields };
  });
}

function runParser(pwshPath: string, input: string, timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(pwshPath, ['-NoLogo', '-NoProfile', '-NonInteractive', '-File', PARSER_SCRIPT], {
      shell: false,
      stdio: ['pipe', 'pipe', 'pipe'],
      env: { ...process.env, POWERSHELL_TELEMETRY_OPTOUT: '1', POWERSHELL_UPDATECHECK: 'Off' },
      timeout: timeoutMs,
      killSignal: 'SIGKILL',
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (chunk: Buffer) => out.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => err.push(chunk));
    child.on('error', (cause: NodeJS.ErrnoException) => {
      reject(cause.code === 'ENOENT' ? new DeputyError('DEPUTY_E_PWSH_MISSING', { detail: `${pwshPath}: ${cause.message}`, cause }) : cause);
    });
    child.on('close', (code, signal) => {
      if (code === 0) return resolve(Buffer.concat(out).toString('utf8'));
      const detail = `parameter parser ended with ${signal ?? `exit code ${code}`}: ${Buffer.concat(err).toString('utf8').slice(0, 2000)}`;
      reject(new DeputyError('DEPUTY_E_INTERNAL', { detail }));
    });
    // A closed pipe (pwsh died early) surfaces through 'close'; don't let it throw here too.
    child.stdin.on('error', () => undefined);
    child.stdin.end(input, 'utf8');
  });
}

/**
 * ScriptRunner's display hints, written as a `HelpMessage` (`"ASRDisplay(Multiline)"`). They
 * shape the input; they are not help. Hints a form has no use for (ReadOnly, Splatting, …) are dropped.
 */
const DISPLAY_DIRECTIVE = /^\s*ASRDisplay\(\s*([^)]*?)\s*\)\s*$/i;

function displayHints(facts: ParameterFacts): { hints: Set<string>; helpMessage?: string } {
  const hints = new Set<string>();
  let helpMessage: string | undefined;
  for (const entry of facts.sets) {
    if (!entry.helpMessage) continue;
    const directive = DISPLAY_DIRECTIVE.exec(entry.helpMessage);
    if (directive) hints.add((directive[1] as string).toLowerCase());
    else helpMessage ??= entry.helpMessage;
  }
  return helpMessage === undefined ? { hints } : { hints, helpMessage };
}

function toFormField(facts: ParameterFacts, required: boolean): FormField {
  const display = displayHints(facts);
  const kind = fieldKind(facts, display.hints);
  const help = fieldHelp(facts.name, facts.help, display.helpMessage);
  const field: FormField = { name: facts.name, label: help.label, kind, psType: facts.psType, required };
  if (help.hint) field.hint = help.hint;
  if (help.localized) field.localized = help.localized;
  const choices = facts.validateSet ?? facts.enumValues;
  if (choices) field.choices = choices;
  if (facts.validateSet && !facts.validateSetIgnoreCase) field.choicesCaseSensitive = true;
  if (facts.pattern !== undefined) field.pattern = facts.pattern;
  if (facts.pattern !== undefined && facts.patternOptions !== undefined && !/ignorecase/i.test(facts.patternOptions)) field.patternCaseSensitive = true;
  const numeric = facts.typeClass === 'integer' || facts.typeClass === 'number';
  if (numeric && (kind === 'number' || kind === 'multi')) {
    const integer = facts.typeClass === 'integer';
    if (integer) field.integer = true;
    Object.assign(field, rangeBounds(facts, integer));
  }
  if (facts.lengthMin !== undefined) field.minLength = facts.lengthMin;
  if (facts.lengthMax !== undefined) field.maxLength = facts.lengthMax;
  if (facts.countMin !== undefined) field.minCount = facts.countMin;
  if (facts.countMax !== undefined) field.maxCount = facts.countMax;
  if (facts.allowEmptyString && required) field.allowEmpty = true;
  if (display.hints.has('multiline') && kind === 'text') field.multiline = true;
  if (display.hints.has('password') && kind === 'text') field.masked = true;
  const prefill = kind === 'secret' || field.masked || !facts.hasDefault ? undefined : defaultValue(kind, facts.default);
  if (prefill !== undefined) field.default = prefill;
  return field;
}

function fieldKind(facts: ParameterFacts, hints: ReadonlySet<string>): FormField['kind'] {
  if (facts.typeClass === 'secret') return 'secret';
  if (facts.isArray) return 'multi';
  if (facts.validateSet || facts.enumValues) return 'choice';
  if (facts.typeClass === 'toggle') return 'toggle';
  if (facts.typeClass === 'integer' || facts.typeClass === 'number') return 'number';
  if (facts.typeClass === 'date' || hints.has('date')) return 'date';
  return 'text';
}

/** `[ValidateRange(min, max)]`, or the named kinds (`Positive`, …) as the nearest bounds a form can state. */
function rangeBounds(facts: ParameterFacts, integer: boolean): { min?: number; max?: number } {
  return boundsOfRange({ min: facts.rangeMin, max: facts.rangeMax, kind: facts.rangeKind }, integer);
}

export function boundsOfRange(range: { min?: number | undefined; max?: number | undefined; kind?: string | undefined }, integer: boolean): { min?: number; max?: number } {
  if (range.min !== undefined || range.max !== undefined) return { min: range.min, max: range.max };
  switch (range.kind?.toLowerCase()) {
    case 'positive':
      return { min: integer ? 1 : Number.MIN_VALUE };
    case 'nonnegative':
      return { min: 0 };
    case 'negative':
      return { max: integer ? -1 : -Number.MIN_VALUE };
    case 'nonpositive':
      return { max: 0 };
    default:
      return {};
  }
}

function defaultValue(kind: FormField['kind'], value: unknown): FieldValue | undefined {
  if (value === null || value === undefined) return undefined;
  switch (kind) {
    case 'toggle':
      return typeof value === 'boolean' ? value : undefined;
    case 'number':
      return typeof value === 'number' ? value : undefined;
    case 'multi': {
      const values = (Array.isArray(value) ? value : [value]).map(String);
      return values.length > 0 ? values : undefined;
    }
    default:
      return Array.isArray(value) ? undefined : String(value);
  }
}
