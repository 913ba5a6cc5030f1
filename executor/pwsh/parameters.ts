/**
 * The parameter schema of PowerShell scripts, read by PowerShell's own parser
 * (parameters.ps1), never by regular expressions on PowerShell source. One pwsh process
 * parses every script of a call; the script texts travel as JSON on stdin.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { z } from 'zod';
import { DeputyError, type FieldValue, type FormField } from '../contract/index.ts';

export interface ParsedScript {
  parameters: FormField[];
  synopsis?: string;
  description?: string;
  /** `line N: message` for each syntax error; a script with any is not importable. */
  parseErrors: string[];
}

const PARSER_SCRIPT = join(import.meta.dirname, 'parameters.ps1');
const PARSE_TIMEOUT_MS = 60_000;

const nullable = <T extends z.ZodType>(schema: T) => schema.nullish().transform((value) => value ?? undefined);

/** What parameters.ps1 reports about one parameter: facts from the AST, not yet a form field. */
const ParameterFactsSchema = z.object({
  name: z.string().min(1),
  psType: z.string(),
  typeClass: z.enum(['toggle', 'integer', 'number', 'date', 'secret', 'text']),
  isArray: z.boolean(),
  mandatory: z.boolean(),
  validateSet: nullable(z.array(z.string())),
  pattern: nullable(z.string()),
  rangeMin: nullable(z.number()),
  rangeMax: nullable(z.number()),
  rangeKind: nullable(z.string()),
  lengthMin: nullable(z.number().int()),
  lengthMax: nullable(z.number().int()),
  hasDefault: z.boolean(),
  default: z.unknown(),
  help: nullable(z.string()),
});
type ParameterFacts = z.infer<typeof ParameterFactsSchema>;

const ParserOutputSchema = z.array(
  z.object({
    key: z.string(),
    synopsis: nullable(z.string()),
    description: nullable(z.string()),
    parseErrors: z.array(z.string()),
    parameters: z.array(ParameterFactsSchema),
  }),
);

export async function parseScriptParameters(
  pwshPath: string,
  scripts: { key: string; text: string }[],
): Promise<Map<string, ParsedScript>> {
  const parsed = new Map<string, ParsedScript>();
  if (scripts.length === 0) return parsed;
  const stdout = await runParser(pwshPath, JSON.stringify(scripts));
  let json: unknown;
  try {
    json = JSON.parse(stdout);
  } catch (cause) {
    throw new DeputyError('DEPUTY_E_INTERNAL', { detail: `parameter parser wrote no JSON: ${stdout.slice(0, 500)}`, cause });
  }
  for (const result of ParserOutputSchema.parse(json)) {
    parsed.set(result.key, {
      parameters: result.parameters.map(toFormField),
      ...(result.synopsis?.trim() ? { synopsis: result.synopsis.trim() } : {}),
      ...(result.description?.trim() ? { description: result.description.trim() } : {}),
      parseErrors: result.parseErrors,
    });
  }
  return parsed;
}

function runParser(pwshPath: string, input: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(pwshPath, ['-NoLogo', '-NoProfile', '-NonInteractive', '-File', PARSER_SCRIPT], {
      shell: false,
      stdio: ['pipe', 'pipe', 'pipe'],
      env: { ...process.env, POWERSHELL_TELEMETRY_OPTOUT: '1', POWERSHELL_UPDATECHECK: 'Off' },
      timeout: PARSE_TIMEOUT_MS,
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

function toFormField(facts: ParameterFacts): FormField {
  const kind = fieldKind(facts);
  const { label, hint } = labelAndHint(facts.name, facts.help);
  const field: FormField = { name: facts.name, label, kind, psType: facts.psType, required: facts.mandatory };
  if (hint) field.hint = hint;
  if (facts.validateSet) field.choices = facts.validateSet;
  if (facts.pattern !== undefined) field.pattern = facts.pattern;
  if (kind === 'number') {
    const integer = facts.typeClass === 'integer';
    if (integer) field.integer = true;
    Object.assign(field, rangeBounds(facts, integer));
  }
  if (facts.lengthMin !== undefined) field.minLength = facts.lengthMin;
  if (facts.lengthMax !== undefined) field.maxLength = facts.lengthMax;
  const prefill = kind === 'secret' || !facts.hasDefault ? undefined : defaultValue(kind, facts.default);
  if (prefill !== undefined) field.default = prefill;
  return field;
}

function fieldKind(facts: ParameterFacts): FormField['kind'] {
  if (facts.typeClass === 'secret') return 'secret';
  if (facts.isArray) return 'multi';
  if (facts.validateSet) return 'choice';
  if (facts.typeClass === 'toggle') return 'toggle';
  if (facts.typeClass === 'integer' || facts.typeClass === 'number') return 'number';
  if (facts.typeClass === 'date') return 'date';
  return 'text';
}

/** `[ValidateRange(min, max)]`, or the named kinds (`Positive`, …) as the nearest bounds a form can state. */
function rangeBounds(facts: ParameterFacts, integer: boolean): { min?: number; max?: number } {
  if (facts.rangeMin !== undefined || facts.rangeMax !== undefined) return { min: facts.rangeMin, max: facts.rangeMax };
  switch (facts.rangeKind?.toLowerCase()) {
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

/** Help text: the first sentence is the label, the rest the hint; without help, the name split into words. */
export function labelAndHint(name: string, help: string | undefined): { label: string; hint?: string } {
  const text = help?.replace(/\s+/g, ' ').trim();
  if (!text) return { label: labelFromName(name) };
  const end = /[.!?](\s|$)/.exec(text);
  const first = end ? text.slice(0, end.index + 1) : text;
  const rest = end ? text.slice(end.index + 1).trim() : '';
  const label = first.replace(/\.$/, '').trim();
  return rest ? { label, hint: rest } : { label };
}

/** `UserPrincipalName` → "User principal name", `MaxCPUCount` → "Max CPU count". */
export function labelFromName(name: string): string {
  const words = name
    .replace(/[_-]+/g, ' ')
    .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
    .replace(/([A-Z]+)([A-Z][a-z])/g, '$1 $2')
    .trim()
    .split(/\s+/);
  return words
    .map((word, index) => {
      if (/^[A-Z0-9]{2,}$/.test(word)) return word;
      const lower = word.toLowerCase();
      return index === 0 ? lower.charAt(0).toUpperCase() + lower.slice(1) : lower;
    })
    .join(' ');
}
