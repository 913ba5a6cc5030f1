/**
 * How run states, durations and times read on a card. The icons are plain Unicode symbols
 * (not emoji) so they render in every client font, next to words that carry the meaning.
 */
import type { RunState, RunSummary, TargetRef } from '../executor/contract/index.ts';

/** Adaptive Card text colours. */
export type TextColor = 'Default' | 'Accent' | 'Good' | 'Warning' | 'Attention';

interface StatePresentation {
  icon: string;
  label: string;
  color: TextColor;
}

const STATES: Record<RunState, StatePresentation> = {
  requested: { icon: '◷', label: 'Requested', color: 'Default' },
  'awaiting-approval': { icon: '◷', label: 'Waiting for approval', color: 'Warning' },
  queued: { icon: '◷', label: 'Queued', color: 'Accent' },
  running: { icon: '▶', label: 'Running', color: 'Accent' },
  succeeded: { icon: '✔', label: 'Succeeded', color: 'Good' },
  failed: { icon: '✖', label: 'Failed', color: 'Attention' },
  'timed-out': { icon: '✖', label: 'Timed out', color: 'Attention' },
  cancelled: { icon: '⊘', label: 'Cancelled', color: 'Warning' },
  rejected: { icon: '✖', label: 'Rejected', color: 'Attention' },
  interrupted: { icon: '⚠', label: 'Interrupted (the executor restarted)', color: 'Warning' },
};

export function presentState(state: RunState): { text: string; label: string; color: TextColor } {
  const { icon, label, color } = STATES[state];
  return { text: `${icon} ${label}`, label, color };
}

/** "0.4 s", "12 s", "3 min 05 s", "1 h 02 min". */
export function formatDuration(milliseconds: number): string {
  if (milliseconds < 10_000) return `${(Math.max(0, milliseconds) / 1000).toFixed(1)} s`;
  const totalSeconds = Math.round(milliseconds / 1000);
  if (totalSeconds < 60) return `${totalSeconds} s`;
  const totalMinutes = Math.floor(totalSeconds / 60);
  if (totalMinutes < 60) return `${totalMinutes} min ${String(totalSeconds % 60).padStart(2, '0')} s`;
  return `${Math.floor(totalMinutes / 60)} h ${String(totalMinutes % 60).padStart(2, '0')} min`;
}

/**
 * "2024-05-01 14:03 UTC". Cards are rendered once for everyone who sees them, so times are
 * shown in UTC and say so rather than guessing a viewer's zone.
 */
export function formatTime(iso: string): string {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return iso;
  return `${date.toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}

/** Enough of a SHA-256 to tell versions apart at a glance. */
export function shortHash(hash: string): string {
  return hash.slice(0, 12);
}

/** An input value as an approver reads it. Secrets arrive already masked by the executor. */
export function formatValue(value: unknown): string {
  if (value === undefined || value === null || value === '') return '(empty)';
  if (typeof value === 'boolean') return value ? 'Yes' : 'No';
  if (Array.isArray(value)) return value.map((item) => formatValue(item)).join(', ');
  if (typeof value === 'object') return JSON.stringify(value);
  return String(value);
}

/**
 * A property or parameter name as a person reads it: `SizeGB` → "Size GB",
 * `UserPrincipalName` → "User principal name", `last_logon` → "Last logon". Words can then
 * wrap at spaces instead of being broken in the middle.
 */
export function humanizeName(name: string): string {
  const words = name
    .replace(/[_-]+/g, ' ')
    .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
    .replace(/([A-Z]+)([A-Z][a-z])/g, '$1 $2')
    .split(/\s+/)
    .filter((word) => word !== '');
  if (words.length === 0) return name;
  return words
    .map((word, index) => {
      // Acronyms (GB, CPU, ID) keep their capitals; other words read as a sentence.
      const isAcronym = word.length > 1 && word === word.toUpperCase() && /[A-Z]/.test(word);
      if (isAcronym) return word;
      const lower = word.toLowerCase();
      return index === 0 ? lower.charAt(0).toUpperCase() + lower.slice(1) : lower;
    })
    .join(' ');
}

/** Where a run runs: `Web server 01 (web-01)`, or the ids of several targets; empty for a run on the executor. */
export function formatTargets(targets: readonly TargetRef[] | undefined): string {
  if (!targets || targets.length === 0) return '';
  const [only] = targets;
  if (targets.length === 1 && only) return only.name === only.id ? only.id : `${only.name} (${only.id})`;
  return targets.map((target) => target.id).join(', ');
}

/** The label of a targets fact: singular or plural. */
export function targetsLabel(targets: readonly TargetRef[]): string {
  return targets.length === 1 ? 'Target' : `Targets (${targets.length})`;
}

/** One line per target of a finished run on several targets: `✔ web-01: hello`, `✖ web-02: web-02: connection refused`. */
export function targetOutcomeLines(summary: RunSummary | undefined): Array<{ id: string; text: string; color: TextColor }> {
  return (summary?.targets ?? []).map((target) => {
    const { icon, color } = STATES[target.outcome];
    const detail = target.line ? `: ${target.line}` : '';
    return { id: target.id, text: `${icon} ${STATES[target.outcome].label}${detail}`, color };
  });
}
