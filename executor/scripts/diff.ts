/**
 * A unified line diff, small enough to read in full: what an approver sees between the last
 * approved version of a script and the one under review. The edit script is jsdiff's (Myers);
 * this module only frames it as `diff -u` writes it and bounds its cost and length.
 */
import { structuredPatch, type StructuredPatchHunk } from 'diff';

export interface DiffOptions {
  /** Unchanged lines shown around each change. */
  context?: number;
  /** The most diff lines returned (headers included); the rest is cut and `truncated` is set. */
  maxLines?: number;
  /** Labels of the `---` and `+++` header lines. */
  oldLabel?: string;
  newLabel?: string;
}

export interface UnifiedDiff {
  lines: string[];
  truncated: boolean;
}

/**
 * Past this many removed and added lines the search for the shortest edit costs seconds; such a
 * change is a rewrite, shown as the old text removed and the new one added, still a correct diff.
 */
const MAX_EDIT_LENGTH = 1000;

function splitLines(text: string): string[] {
  if (text === '') return [];
  const lines = text.split(/\r?\n/);
  // A final newline ends the last line; it does not start another one.
  if (lines.at(-1) === '') lines.pop();
  return lines;
}

/** `-l,s` / `+l,s` of a hunk header as `diff -u` writes it: an empty side names the line before it. */
function range(start: number, count: number): string {
  if (count === 1) return `${start}`;
  return `${count === 0 ? start - 1 : start},${count}`;
}

/**
 * The unified diff of two texts, with `context` unchanged lines around each change (3, like
 * `diff -u`). Equal texts give no lines at all; line endings and a missing final newline do not count.
 */
export function unifiedDiff(oldText: string, newText: string, options: DiffOptions = {}): UnifiedDiff {
  const maxLines = options.maxLines ?? 400;
  const [oldLines, newLines] = [splitLines(oldText), splitLines(newText)];
  const normalized = (lines: string[]) => lines.map((line) => `${line}\n`).join('');
  const patch = structuredPatch('a', 'b', normalized(oldLines), normalized(newLines), undefined, undefined, {
    context: options.context ?? 3,
    maxEditLength: MAX_EDIT_LENGTH,
  });
  const rewrite: StructuredPatchHunk = {
    oldStart: 1, oldLines: oldLines.length, newStart: 1, newLines: newLines.length,
    lines: [...oldLines.map((line) => `-${line}`), ...newLines.map((line) => `+${line}`)],
  };
  const hunks = patch ? patch.hunks : [rewrite];
  if (hunks.length === 0) return { lines: [], truncated: false };
  const lines = [`--- ${options.oldLabel ?? 'a'}`, `+++ ${options.newLabel ?? 'b'}`];
  for (const hunk of hunks) {
    lines.push(`@@ -${range(hunk.oldStart, hunk.oldLines)} +${range(hunk.newStart, hunk.newLines)} @@`, ...hunk.lines);
  }
  if (lines.length <= maxLines) return { lines, truncated: false };
  return { lines: lines.slice(0, maxLines), truncated: true };
}
