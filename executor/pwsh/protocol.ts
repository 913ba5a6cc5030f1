/**
 * The wire between the executor and executor/pwsh/host.ps1 (docs/runner.md).
 *
 * The host prefixes every protocol frame with a random key it received on stdin. A line
 * without the key, or the text before the key, is plain console text: a script writing
 * with [Console]::WriteLine cannot forge a frame because it does not know the key.
 */
import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import { STREAMS } from '../contract/index.ts';
import { SrxResultSchema, type SrxContext } from './srx.ts';

export const ReadyFrameSchema = z.object({ t: z.literal('ready'), pid: z.number().int(), version: z.string() });
export const StartedFrameSchema = z.object({ t: z.literal('started'), id: z.string() });
export const RecordFrameSchema = z.object({ t: z.literal('rec'), s: z.enum(STREAMS), text: z.string(), data: z.unknown().optional() });
export const EndFrameSchema = z.object({
  t: z.literal('end'),
  id: z.string(),
  /** No error was written, nothing terminated, and the exit code is 0. */
  succeeded: z.boolean(),
  hadErrors: z.boolean(),
  /** A terminating error (throw, parameter binding failure, a script that does not parse). */
  terminated: z.boolean(),
  /** `exit <n>` when the script called it; else 1 when it failed, 0 when it succeeded. */
  exitCode: z.number().int(),
  /** The job left no open runspace and no child process behind: the worker may take another job. */
  clean: z.boolean(),
  /** What the script left in `$SRXEnv`, when the job had one. */
  srx: SrxResultSchema.optional(),
});

export const FrameSchema = z.discriminatedUnion('t', [ReadyFrameSchema, StartedFrameSchema, RecordFrameSchema, EndFrameSchema]);
export type Frame = z.infer<typeof FrameSchema>;
export type EndFrame = z.infer<typeof EndFrameSchema>;
export type RecordFrame = z.infer<typeof RecordFrameSchema>;

/** What the host reads on stdin, one JSON line per job. */
export interface HostJob {
  id: string;
  script: string;
  parameters: Record<string, unknown>;
  secrets: string[];
  /** Give the script `$SRXEnv` (it was written for ScriptRunner). */
  srx?: SrxContext;
}

export function newFrameKey(): string {
  return randomBytes(16).toString('hex');
}

export type ParsedLine = { plainText?: string; frame?: Frame };

/** Splits one stdout line into console text and a frame, if the line carries one. */
export function parseLine(line: string, frameKey: string): ParsedLine {
  const at = line.indexOf(frameKey);
  if (at < 0) return { plainText: line };
  const before = line.slice(0, at);
  const payload = line.slice(at + frameKey.length);
  let frame: Frame | undefined;
  try {
    const parsed = FrameSchema.safeParse(JSON.parse(payload));
    if (parsed.success) frame = parsed.data;
  } catch {
    frame = undefined;
  }
  if (frame) return before ? { plainText: before, frame } : { frame };
  // A damaged frame is shown as text, without the key.
  return { plainText: line.split(frameKey).join('') };
}

/**
 * Cuts a byte stream into lines. A line longer than `maxLineChars` is handed on in pieces,
 * so a script printing without newlines cannot make the executor buffer without bound.
 */
export class LineSplitter {
  private pending = '';

  constructor(
    private readonly onLine: (line: string) => void,
    private readonly maxLineChars = 1_048_576,
  ) {}

  push(chunk: string): void {
    this.pending += chunk;
    let newline = this.pending.indexOf('\n');
    while (newline >= 0) {
      const line = this.pending.slice(0, newline);
      this.pending = this.pending.slice(newline + 1);
      this.onLine(line.endsWith('\r') ? line.slice(0, -1) : line);
      newline = this.pending.indexOf('\n');
    }
    while (this.pending.length > this.maxLineChars) {
      this.onLine(this.pending.slice(0, this.maxLineChars));
      this.pending = this.pending.slice(this.maxLineChars);
    }
  }

  /** Hands on a last line that had no newline. */
  flush(): void {
    if (this.pending) this.onLine(this.pending);
    this.pending = '';
  }
}
