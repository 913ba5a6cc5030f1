/**
 * A unified line diff (longest common subsequence), small enough to read in full: what an
 * approver sees between the last approved version of a script and the one under review.
 */

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

type Edit = { op: ' ' | '-' | '+'; text: string; oldLine: number; newLine: number };

/**
 * Above this many cells the LCS table would cost too much memory; the changed middle of the
 * texts is then shown as removed and added as a whole, which is still a correct diff.
 */
const MAX_LCS_CELLS = 4_000_000;

function splitLines(text: string): string[] {
  if (text === '') return [];
  const lines = text.split(/\r?\n/);
  // A final newline ends the last line; it does not start another one.
  if (lines.at(-1) === '') lines.pop();
  return lines;
}

/** The edit script turning `a` into `b`, keeping as many lines as possible. */
function editScript(a: readonly string[], b: readonly string[]): Edit[] {
  let start = 0;
  while (start < a.length && start < b.length && a[start] === b[start]) start++;
  let endA = a.length;
  let endB = b.length;
  while (endA > start && endB > start && a[endA - 1] === b[endB - 1]) {
    endA--;
    endB--;
  }
  const edits: Edit[] = [];
  for (let i = 0; i < start; i++) edits.push({ op: ' ', text: a[i] ?? '', oldLine: i, newLine: i });

  const midA = a.slice(start, endA);
  const midB = b.slice(start, endB);
  if ((midA.length + 1) * (midB.length + 1) > MAX_LCS_CELLS) {
    midA.forEach((text, i) => edits.push({ op: '-', text, oldLine: start + i, newLine: start }));
    midB.forEach((text, j) => edits.push({ op: '+', text, oldLine: endA, newLine: start + j }));
  } else {
    // lengths[i][j]: LCS length of midA[i..] and midB[j..], in one flat array.
    const width = midB.length + 1;
    const lengths = new Uint32Array((midA.length + 1) * width);
    for (let i = midA.length - 1; i >= 0; i--) {
      for (let j = midB.length - 1; j >= 0; j--) {
        lengths[i * width + j] =
          midA[i] === midB[j] ? (lengths[(i + 1) * width + j + 1] ?? 0) + 1 : Math.max(lengths[(i + 1) * width + j] ?? 0, lengths[i * width + j + 1] ?? 0);
      }
    }
    let i = 0;
    let j = 0;
    while (i < midA.length || j < midB.length) {
      if (i < midA.length && j < midB.length && midA[i] === midB[j]) {
        edits.push({ op: ' ', text: midA[i] ?? '', oldLine: start + i, newLine: start + j });
        i++;
        j++;
      } else if (i < midA.length && (j === midB.length || (lengths[(i + 1) * width + j] ?? 0) >= (lengths[i * width + j + 1] ?? 0))) {
        // Removals before additions, as `diff -u` shows a changed line.
        edits.push({ op: '-', text: midA[i] ?? '', oldLine: start + i, newLine: start + j });
        i++;
      } else {
        edits.push({ op: '+', text: midB[j] ?? '', oldLine: start + i, newLine: start + j });
        j++;
      }
    }
  }
  for (let k = 0; k < a.length - endA; k++) edits.push({ op: ' ', text: a[endA + k] ?? '', oldLine: endA + k, newLine: endB + k });
  return edits;
}

/** `-l,s` / `+l,s` of a hunk header, in the form `diff -u` writes it (an empty side starts before its first line). */
function range(first: number, count: number): string {
  const start = count === 0 ? first : first + 1;
  return count === 1 ? `${start}` : `${start},${count}`;
}

/**
 * The unified diff of two texts, with `context` unchanged lines around each change (3, like
 * `diff -u`). Equal texts give no lines at all.
 */
export function unifiedDiff(oldText: string, newText: string, options: DiffOptions = {}): UnifiedDiff {
  const context = options.context ?? 3;
  const maxLines = options.maxLines ?? 400;
  const edits = editScript(splitLines(oldText), splitLines(newText));
  const changed = edits.map((edit, index) => (edit.op === ' ' ? -1 : index)).filter((index) => index >= 0);
  if (changed.length === 0) return { lines: [], truncated: false };

  // Group changes whose context would touch into one hunk.
  const hunks: { from: number; to: number }[] = [];
  for (const index of changed) {
    const from = Math.max(0, index - context);
    const to = Math.min(edits.length - 1, index + context);
    const last = hunks.at(-1);
    if (last && from <= last.to + 1) last.to = Math.max(last.to, to);
    else hunks.push({ from, to });
  }

  const lines = [`--- ${options.oldLabel ?? 'a'}`, `+++ ${options.newLabel ?? 'b'}`];
  for (const hunk of hunks) {
    const slice = edits.slice(hunk.from, hunk.to + 1);
    const first = slice[0] as Edit;
    const oldCount = slice.filter((edit) => edit.op !== '+').length;
    const newCount = slice.filter((edit) => edit.op !== '-').length;
    lines.push(`@@ -${range(first.oldLine, oldCount)} +${range(first.newLine, newCount)} @@`);
    for (const edit of slice) lines.push(`${edit.op}${edit.text}`);
  }
  if (lines.length <= maxLines) return { lines, truncated: false };
  return { lines: lines.slice(0, maxLines), truncated: true };
}
