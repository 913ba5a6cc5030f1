/**
 * What a mail asks for: the subject names the action (`Run set-ooo`, `[deputy] set-ooo`,
 * `[deputy] run set-ooo`), the plain-text body gives parameters as `Key: value` lines.
 * Parsing only splits text; the run service validates the values like any form input.
 */

const SUBJECT_PATTERNS = [/^run\s+(\S+)$/i, /^\[deputy\]\s+(?:run\s+)?(\S+)$/i];
const PARAMETER_LINE = /^([A-Za-z_][A-Za-z0-9_]{0,99})\s*:\s?(.*)$/;
/** The conventional signature delimiter: nothing after it is a parameter. */
const SIGNATURE_DELIMITER = /^--\s?$/;

/** The action id the subject names, or undefined when the subject is not a command. */
export function actionFromSubject(subject: string | undefined): string | undefined {
  const text = (subject ?? '').trim();
  for (const pattern of SUBJECT_PATTERNS) {
    const match = pattern.exec(text);
    if (match?.[1]) return match[1];
  }
  return undefined;
}

/**
 * `Key: value` lines whose key names one of `parameters` (case-insensitively, as PowerShell
 * binds them), keyed by the parameter's own spelling. Other lines (a greeting, quoted text)
 * are ignored; a key given twice becomes a list (for multi-value parameters).
 */
export function inputsFromBody(body: string | undefined, parameters: readonly string[]): Record<string, string | string[]> {
  const byLowerName = new Map(parameters.map((name) => [name.toLowerCase(), name]));
  const inputs: Record<string, string | string[]> = {};
  for (const rawLine of (body ?? '').split(/\r?\n/)) {
    if (SIGNATURE_DELIMITER.test(rawLine)) break;
    const match = PARAMETER_LINE.exec(rawLine.trim());
    const name = match?.[1] && byLowerName.get(match[1].toLowerCase());
    if (!match || !name) continue;
    const value = (match[2] ?? '').trim();
    const previous = inputs[name];
    inputs[name] = previous === undefined ? value : [...(Array.isArray(previous) ? previous : [previous]), value];
  }
  return inputs;
}
