/**
 * `$SRXEnv`, the variable scripts written for ScriptRunner use to learn who started them and to
 * hand back a result message, a list of choices (queries) or an HTML report. host.ps1 sets it
 * before the script and reads it after; this is what travels each way.
 */
import { z } from 'zod';
import type { Masker } from './mask.ts';

/** What a script reads: set before it runs. */
export interface SrxContext {
  /** The principal the run is for (`$SRXEnv.SRXStartedBy`). */
  startedBy: string;
  /** Why it runs: chat, a schedule, a connector, a form's drop-down (`$SRXEnv.SRXStartedReason`). */
  startedReason: string;
  displayName?: string;
  actionId?: string;
  scriptName?: string;
}

/** What a script leaves: read after it ran (host.ps1 caps each part). */
export const SrxResultSchema = z.object({
  message: z.string().nullish(),
  list: z.array(z.string()).default([]),
  list2: z.array(z.string()).default([]),
  /** More list entries than the host carries back. */
  listCut: z.boolean().default(false),
  html: z.string().nullish(),
});
export type SrxResult = z.infer<typeof SrxResultSchema>;

/** Secrets are masked in what `$SRXEnv` carries back, as in every stream. */
export function maskSrxResult(result: SrxResult, mask: Masker): SrxResult {
  const text = (value: string) => mask({ stream: 'output', text: value }).text;
  return {
    ...(result.message != null ? { message: text(result.message) } : {}),
    list: result.list.map(text),
    list2: result.list2.map(text),
    listCut: result.listCut,
    ...(result.html != null ? { html: text(result.html) } : {}),
  };
}
