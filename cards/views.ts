/**
 * Screen → the data its template binds. Everything a template shows is computed here as
 * plain strings and flags (templates only place it), with every piece of outside text cut to
 * the given limits.
 */
import type { ActionView, PrincipalView, RunView, ScriptStatus } from '../executor/contract/index.ts';
import { buildFormFields } from './form.ts';
import type { JsonObject } from './json.ts';
import { type CardLimits, takeFirst, takeLast, truncate } from './limits.ts';
import { formatDuration, formatTargets, formatTime, formatValue, humanizeName, presentState, shortHash, targetOutcomeLines, targetsLabel, type TextColor } from './present.ts';
import type { Screen, ScriptReview, SubmitVerb, Suggestion } from './screens.ts';
import type { TemplateName } from './templates.ts';

export interface CardView {
  template: TemplateName;
  data: JsonObject;
  /** What a Teams client invokes to refresh this card per user, when the card has per-user content. */
  refresh?: { verb: SubmitVerb; data: JsonObject };
}

interface Fact extends JsonObject {
  title: string;
  value: string;
}
interface Line extends JsonObject {
  text: string;
}
interface TableRow extends JsonObject {
  cells: { text: string; weight: 'Bolder' | 'Default' }[];
}

export function viewFor(screen: Screen, limits: CardLimits): CardView {
  switch (screen.screen) {
    case 'action-list':
      return { template: 'action-list', data: actionListData(screen.principal, screen.actions, limits) };
    case 'action-form':
      return { template: 'action-form', data: actionFormData(screen.action, screen.formId, screen.values, screen.errors) };
    case 'run-status':
      return {
        template: 'run-status',
        data: runStatusData(screen.run, screen.canCancel, screen.confirmCancel ?? false, screen.requester ?? screen.run.principalId),
        refresh: { verb: 'refresh-run', data: { runId: screen.run.id } },
      };
    case 'run-summary':
      return {
        template: 'run-summary',
        data: runSummaryData(screen.run, { canShowAll: screen.canShowAll, canRunAgain: screen.canRunAgain ?? false }, screen.requester ?? screen.run.principalId, limits),
      };
    case 'approval-request': {
      const data = approvalData(screen, limits);
      return data.isPending
        ? { template: 'approval-request', data, refresh: { verb: 'refresh-run', data: { runId: screen.run.id } } }
        : { template: 'approval-request', data };
    }
    case 'script-review': {
      const { review } = screen;
      const data = scriptReviewData(review, screen.viewerMayDecide, limits);
      return data.isPending
        ? { template: 'script-review', data, refresh: { verb: 'refresh-script', data: { scriptId: review.scriptId, versionHash: review.versionHash } } }
        : { template: 'script-review', data };
    }
    case 'item-list':
      return { template: 'item-list', data: itemListData(screen, limits) };
    case 'welcome':
      return { template: 'welcome', data: welcomeData(screen) };
    case 'suggestions':
      return { template: 'suggestions', data: suggestionsData(screen.text, screen.suggestions, limits) };
    case 'error': {
      const hint = truncate(screen.hint ?? '', 1000);
      return {
        template: 'error',
        data: { message: truncate(screen.message, 500), hint, hasHint: hint !== '', correlationText: `Correlation id: ${screen.correlationId}` },
      };
    }
    case 'notice':
      return { template: 'notice', data: { text: truncate(screen.text, 4000) } };
  }
}

// ---------------------------------------------------------------- action list

/** Groups in the order a user scans them: what runs now, what needs a second person, what is still tested. */
const ACTION_GROUPS = [
  { key: 'ready', title: 'Ready to run', note: '' },
  { key: 'four-eyes', title: 'Needs a second person’s approval', note: 'Someone else approves each run before it starts.' },
  { key: 'testing', title: 'In testing', note: 'These scripts are not approved yet; run them only to test.' },
] as const;

function groupOf(action: ActionView): (typeof ACTION_GROUPS)[number]['key'] {
  if (action.scriptStatus !== 'approved') return 'testing';
  return action.approval === 'four-eyes' ? 'four-eyes' : 'ready';
}

/** Why the list is empty, in the words of the person's role: a read-only admin is not waiting for assignments. */
function emptyActionsText(principal: PrincipalView): string {
  if (principal.roles.every((role) => role === 'read-only')) {
    return 'As a read-only administrator you run no actions. You can look at scripts (type "scripts") and at runs you are told about.';
  }
  return 'No actions are assigned to you yet. Ask your administrator if you expected some.';
}

function actionListData(principal: PrincipalView, actions: readonly ActionView[], limits: CardLimits): JsonObject {
  const sorted = [...actions].sort(
    (a, b) =>
      ACTION_GROUPS.findIndex((group) => group.key === groupOf(a)) - ACTION_GROUPS.findIndex((group) => group.key === groupOf(b)) ||
      a.title.localeCompare(b.title),
  );
  const { shown, hidden } = takeFirst(sorted, limits.actions);
  const groups = ACTION_GROUPS.map((group) => ({
    title: group.title,
    note: group.note,
    hasNote: group.note !== '',
    actions: shown
      .filter((action) => groupOf(action) === group.key)
      .map((action) => {
        const title = truncate(action.title, 100);
        const description = truncate(action.description ?? '', limits.descriptionChars);
        return { id: action.id, title, description, hasDescription: description !== '', tooltip: `Open the form for “${title}”` };
      }),
  })).filter((group) => group.actions.length > 0);
  return {
    heading: `Actions for ${truncate(principal.name, 100)}`,
    isEmpty: groups.length === 0,
    emptyText: emptyActionsText(principal),
    groups,
    hasHidden: hidden > 0,
    hiddenText: `${hidden} more ${hidden === 1 ? 'action is' : 'actions are'} not listed here.`,
  };
}

// ---------------------------------------------------------------- action form

function actionFormData(action: ActionView, formId: string, values: Record<string, unknown> = {}, errors: Record<string, string> = {}): JsonObject {
  const fieldNames = new Set(action.form.fields.map((field) => field.name));
  // Errors for parameters the form does not show (fixed by the action) still have to reach the user.
  const formErrors = Object.entries(errors)
    .filter(([name]) => name === '_form' || !fieldNames.has(name))
    .map(([, message]) => message);
  const notes: Line[] = [];
  if (action.scriptStatus !== 'approved') notes.push({ text: 'This script is still being tested.' });
  if (action.approval === 'four-eyes') notes.push({ text: 'Another person must approve each run before it starts.' });
  const fields = buildFormFields(action.form.fields, values, errors);
  const description = truncate(action.description ?? '', 1000);
  return {
    title: truncate(action.title, 200),
    description,
    hasDescription: description !== '',
    notes,
    formError: truncate(formErrors.join(' '), 1000),
    hasFormError: formErrors.length > 0,
    fields,
    hasFields: fields.length > 0,
    submitTitle: action.approval === 'four-eyes' ? 'Request approval' : 'Run',
    actionId: action.id,
    formId,
  };
}

// ---------------------------------------------------------------- runs

const STATUS_DETAIL: Partial<Record<RunView['state'], string>> = {
  'awaiting-approval': 'The run starts once another person approves it.',
  queued: 'Waiting for a free worker.',
  requested: 'Checking the request.',
};

/** Facts as the templates show them: our own words as titles, outside text as plain text runs. */
function factsData(facts: Fact[]): JsonObject {
  return { facts, hasFacts: facts.length > 0 };
}

function runStatusData(run: RunView, canCancel: boolean, confirmCancel: boolean, requester: string): JsonObject {
  const state = presentState(run.state);
  const facts: Fact[] = [
    { title: 'Requested by', value: truncate(requester, 100) },
    ...targetFacts(run),
    run.startedAt ? { title: 'Started', value: formatTime(run.startedAt) } : { title: 'Requested', value: formatTime(run.createdAt) },
    { title: 'Correlation id', value: run.correlationId },
  ];
  const detail = STATUS_DETAIL[run.state] ?? '';
  return {
    actionTitle: truncate(run.actionTitle, 200),
    statusText: state.text,
    statusColor: state.color,
    detail,
    hasDetail: detail !== '',
    ...factsData(facts),
    // Cancel is never the first button (a second press on Run lands there), and it asks once.
    offerCancel: canCancel && !confirmCancel,
    confirmCancel: canCancel && confirmCancel,
    runId: run.id,
  };
}

function runSummaryData(run: RunView, buttons: { canShowAll: boolean; canRunAgain: boolean }, requester: string, limits: CardLimits): JsonObject {
  const state = presentState(run.state);
  const summary = run.summary;
  const facts: Fact[] = [];
  if (run.durationMs !== undefined) facts.push({ title: 'Duration', value: formatDuration(run.durationMs) });
  facts.push({ title: 'Requested by', value: truncate(requester, 100) });
  facts.push(...targetFacts(run));
  // A run on several targets: one line per target, saying how it went there.
  if ((run.targets?.length ?? 0) > 1) {
    for (const line of takeFirst(targetOutcomeLines(run.summary), limits.messages).shown) facts.push({ title: line.id, value: truncate(line.text, limits.messageChars) });
  }
  if (run.endedAt) facts.push({ title: 'Finished', value: formatTime(run.endedAt) });
  if (run.approval?.decidedBy && run.approval.decision === 'approve') facts.push({ title: 'Approved by', value: truncate(run.approval.decidedBy, 100) });
  if (summary?.exitCode !== undefined && summary.exitCode !== null && summary.exitCode !== 0) facts.push({ title: 'Exit code', value: String(summary.exitCode) });

  const messages = (items: readonly string[]): Line[] =>
    takeFirst(items, limits.messages).shown.map((text) => ({ text: monospaceLine(text, limits.messageChars) }));
  const table = summary?.table ? tableData(summary.table, summary.rowCount ?? summary.table.rows.length, limits) : undefined;
  // The summary holds the end of the output (where a log tail or a script's result is); the card shows its last lines.
  const lines = table ? { shown: [], hidden: 0 } : takeLast(summary?.lines ?? [], limits.outputLines);
  const outputNotes: string[] = [];
  if (table?.note) outputNotes.push(table.note);
  const totalLines = Math.max(summary?.outputLineCount ?? 0, summary?.lines.length ?? 0);
  if (!table && lines.shown.length > 0 && totalLines > lines.shown.length) outputNotes.push(`Showing the last ${lines.shown.length} of ${totalLines} lines.`);
  if (summary?.truncated) outputNotes.push('The stored output was cut at the size limit.');
  const errors = messages(summary?.errors ?? []);
  const warnings = messages(summary?.warnings ?? []);
  const runError = run.error ? truncate(run.error.message, limits.messageChars) : '';

  return {
    actionTitle: truncate(run.actionTitle, 200),
    statusText: state.text,
    statusColor: state.color,
    ...factsData(facts),
    runError,
    hasRunError: runError !== '',
    errors,
    hasErrors: errors.length > 0,
    warnings,
    hasWarnings: warnings.length > 0,
    hasTable: table !== undefined,
    tableColumns: table?.columns ?? [],
    tableRows: table?.rows ?? [],
    lines: lines.shown.map((line) => ({ text: monospaceLine(line, limits.lineChars) })),
    hasLines: lines.shown.length > 0,
    outputNote: outputNotes.join(' '),
    hasOutputNote: outputNotes.length > 0,
    correlationText: `Correlation id: ${run.correlationId}`,
    ...buttons,
    runId: run.id,
    actionId: run.actionId,
  };
}

/** Where the run runs, as a fact; none for a run on the executor. */
function targetFacts(run: RunView): Fact[] {
  const text = formatTargets(run.targets);
  return text && run.targets ? [{ title: targetsLabel(run.targets), value: truncate(text, 300) }] : [];
}

/**
 * A table with readable headers and columns as wide as what they hold, so a header or a value
 * wraps between words instead of being broken in the middle. The summary keeps the last rows;
 * `rowCount` is how many the output had.
 */
function tableData(
  table: { columns: string[]; rows: string[][] },
  rowCount: number,
  limits: CardLimits,
): { columns: { width: number }[]; rows: TableRow[]; note: string } {
  const columns = takeFirst(table.columns, limits.tableColumns);
  const rows = takeLast(table.rows, limits.tableRows);
  const cell = (text: string | undefined, weight: 'Bolder' | 'Default') => ({ text: truncate(text || '\u00a0', limits.cellChars), weight });
  const headers = columns.shown.map(humanizeName);
  const notes: string[] = [];
  const total = Math.max(rowCount, table.rows.length);
  if (total > rows.shown.length) notes.push(`Showing the last ${rows.shown.length} of ${total} rows.`);
  if (columns.hidden > 0) notes.push(`${columns.hidden} more ${columns.hidden === 1 ? 'column' : 'columns'} not shown.`);
  return {
    columns: columns.shown.map((_, index) => ({ width: columnWeight(headers[index] ?? '', rows.shown.map((row) => row[index] ?? ''), limits.cellChars) })),
    rows: [
      { cells: headers.map((name) => cell(name, 'Bolder')) },
      ...rows.shown.map((row) => ({ cells: columns.shown.map((_, index) => cell(row[index], 'Default')) })),
    ],
    note: notes.join(' '),
  };
}

/**
 * A column's share of the width: at least its longest unbreakable word (header or value, so an
 * address or a path is not broken in the middle), else half its longest value, within bounds.
 */
function columnWeight(header: string, values: string[], maxChars: number): number {
  const longestWord = Math.max(0, ...[header, ...values].flatMap((text) => text.split(/\s+/)).map((word) => Math.min(word.length, 30)));
  const longestValue = Math.max(0, ...values.map((value) => Math.min(value.length, maxChars)));
  return Math.min(40, Math.max(4, longestWord, Math.ceil(longestValue / 2)));
}

const NO_BREAK_SPACE = '\u00a0';

/**
 * A line of output or script text as it should look in monospace: clients collapse runs of
 * spaces (and drop an empty line), which would scramble indentation and PowerShell's column
 * layout. Leading spaces and all but the last space of a run become no-break spaces, so the
 * line keeps its shape and still wraps at a space.
 */
function monospaceLine(line: string, maxChars: number): string {
  const text = truncate(line.replace(/\t/g, '    ').replace(/\r$/, ''), maxChars);
  if (text === '') return NO_BREAK_SPACE;
  return text
    .replace(/^ +/, (spaces) => NO_BREAK_SPACE.repeat(spaces.length))
    .replace(/ {2,}/g, (spaces) => `${NO_BREAK_SPACE.repeat(spaces.length - 1)} `);
}

// ---------------------------------------------------------------- approvals

function approvalData(screen: Extract<Screen, { screen: 'approval-request' }>, limits: CardLimits): JsonObject & { isPending: boolean } {
  const { run, requester, viewerMayDecide } = screen;
  const viewerIsRequester = screen.viewerIsRequester ?? false;
  const decision = run.approval?.decision;
  const isPending = run.state === 'awaiting-approval' && decision === undefined;
  const inputs = takeFirst(Object.entries(run.inputs), limits.actions);
  const inputRows: TableRow[] = [
    { cells: [{ text: 'Field', weight: 'Bolder' }, { text: 'Value', weight: 'Bolder' }] },
    ...inputs.shown.map(([name, value]): TableRow => ({
      cells: [
        { text: truncate(screen.labels?.[name] ?? humanizeName(name), limits.cellChars), weight: 'Default' },
        { text: truncate(formatValue(value), limits.lineChars), weight: 'Default' },
      ],
    })),
  ];
  const facts: Fact[] = [...targetFacts(run), { title: 'Script version', value: shortHash(run.scriptHash) }];
  if (run.approval?.reason) facts.push({ title: 'Why', value: truncate(run.approval.reason, limits.messageChars) });
  if (isPending && run.approval?.expiresAt) facts.push({ title: 'Expires', value: formatTime(run.approval.expiresAt) });
  if (inputs.hidden > 0) facts.push({ title: 'Not shown', value: `${inputs.hidden} more inputs` });
  facts.push({ title: 'Correlation id', value: run.correlationId });
  const title = truncate(run.actionTitle, 200);
  const waitingText = viewerIsRequester
    ? 'You asked for this run, so another person decides it: a Cyber or Company administrator of its tenant, or someone who may run this action. You can withdraw your request until then.'
    : viewerMayDecide
      ? 'Waiting for an approver. The person who asked cannot approve their own run.'
      : 'Waiting for an approver. You are not among the people who may decide this request.';
  const fields = decisionFields({
    decision,
    decidedBy: run.approval?.decidedBy,
    comment: run.approval?.comment,
    settledLabel: presentState(run.state).label,
    isPending,
    viewerMayDecide,
    waitingText,
    limits,
  });
  return {
    heading: isPending ? `Approval needed: ${title}` : `Approval: ${title}`,
    requestText: viewerIsRequester ? 'You asked to run this action with these inputs.' : `${truncate(requester, 100)} asks to run this action with these inputs.`,
    inputRows,
    hasInputs: inputs.shown.length > 0,
    ...factsData(facts),
    ...fields,
    // "Show my options" is for someone whose card was rendered for others; once pressed, the card is theirs.
    offerOptions: fields.isWaiting && !viewerIsRequester && !(screen.personal ?? false),
    mayWithdraw: isPending && viewerIsRequester,
    runId: run.id,
  };
}

function outcomeOf(
  decision: 'approve' | 'reject' | undefined,
  decidedBy: string | undefined,
  stateLabel: string | undefined,
): { outcomeText: string; outcomeColor: TextColor; hasOutcome: boolean } {
  const by = decidedBy ? ` by ${truncate(decidedBy, 100)}` : '';
  if (decision === 'approve') return { outcomeText: `✔ Approved${by}`, outcomeColor: 'Good', hasOutcome: true };
  if (decision === 'reject') return { outcomeText: `✖ Rejected${by}`, outcomeColor: 'Attention', hasOutcome: true };
  if (stateLabel) return { outcomeText: `No longer waiting for a decision (${stateLabel.toLowerCase()}).`, outcomeColor: 'Default', hasOutcome: true };
  return { outcomeText: '', outcomeColor: 'Default', hasOutcome: false };
}

/** What a decision card shows about the decision: its outcome once made, or who may still make it. */
function decisionFields(options: {
  decision: 'approve' | 'reject' | undefined;
  decidedBy: string | undefined;
  comment: string | undefined;
  /** Shown when the request ended without a decision. */
  settledLabel: string;
  isPending: boolean;
  viewerMayDecide: boolean;
  waitingText: string;
  limits: CardLimits;
}) {
  const { isPending, viewerMayDecide } = options;
  const comment = truncate(options.comment ?? '', options.limits.messageChars);
  return {
    ...outcomeOf(options.decision, options.decidedBy, isPending ? undefined : options.settledLabel),
    outcomeComment: comment,
    hasOutcomeComment: comment !== '',
    isPending,
    isWaiting: isPending && !viewerMayDecide,
    mayDecide: isPending && viewerMayDecide,
    waitingText: options.waitingText,
  };
}

const SCRIPT_STATUS_LABELS = { draft: 'Draft', testing: 'Testing', approved: 'Approved' } as const;

/** Button titles of the status changes that are not a review decision. */
const MOVE_TITLES: Record<ScriptStatus, Partial<Record<ScriptStatus, string>>> = {
  draft: { testing: 'Submit for testing' },
  testing: {},
  approved: { draft: 'Withdraw approval (back to Draft)' },
};

function diffColor(line: string): TextColor {
  if (line.startsWith('+') && !line.startsWith('+++')) return 'Good';
  if (line.startsWith('-') && !line.startsWith('---')) return 'Attention';
  return 'Default';
}

// ---------------------------------------------------------------- lists

function itemListData(screen: Extract<Screen, { screen: 'item-list' }>, limits: CardLimits): JsonObject {
  let room = limits.actions;
  let hidden = 0;
  const sections = screen.sections
    .map((section) => {
      const { shown, hidden: left } = takeFirst(section.items, room);
      room -= shown.length;
      hidden += left;
      return {
        title: truncate(section.title, 200),
        items: shown.map((item) => {
          const title = truncate(item.title, 200);
          return { title, detail: truncate(item.detail, limits.descriptionChars), tooltip: `Open “${title}”`, verb: item.open.verb, data: item.open.data };
        }),
      };
    })
    .filter((section) => section.items.length > 0);
  return {
    heading: truncate(screen.heading, 200),
    isEmpty: sections.length === 0,
    emptyText: truncate(screen.emptyText, 500),
    sections,
    hasHidden: hidden > 0,
    hiddenText: `${hidden} more ${hidden === 1 ? 'item is' : 'items are'} not listed here.`,
    refreshVerb: screen.refresh.verb,
    refreshData: screen.refresh.data,
  };
}

function scriptReviewData(review: ScriptReview, viewerMayDecide: boolean, limits: CardLimits): JsonObject & { isPending: boolean } {
  const isPending = review.status === 'testing' && review.decision === undefined;
  const facts: Fact[] = [
    { title: 'Tenant', value: review.tenant },
    { title: 'Status', value: SCRIPT_STATUS_LABELS[review.status] },
    { title: 'Version', value: shortHash(review.versionHash) },
  ];
  if (review.submittedBy) facts.push({ title: 'Submitted by', value: truncate(review.submittedBy, 100) });
  if (review.versions && review.versions.length > 1) {
    const versions = takeFirst([...review.versions].reverse(), 5);
    const more = versions.hidden > 0 ? `, ${versions.hidden} older` : '';
    facts.push({ title: 'Versions', value: `${versions.shown.map((version) => `${shortHash(version.hash)} ${SCRIPT_STATUS_LABELS[version.status]}`).join(', ')}${more}` });
  }
  const parameters = takeFirst(review.parameters, limits.actions);
  if (parameters.hidden > 0) facts.push({ title: 'Not shown', value: `${parameters.hidden} more parameters` });
  const parameterRows: TableRow[] = [
    { cells: [{ text: 'Parameter', weight: 'Bolder' }, { text: 'Kind', weight: 'Bolder' }, { text: 'Required', weight: 'Bolder' }] },
    ...parameters.shown.map((field): TableRow => ({
      cells: [
        { text: truncate(`${field.label} (${field.name})`, limits.cellChars), weight: 'Default' },
        { text: truncate(`${field.kind}: ${field.psType}`, limits.cellChars), weight: 'Default' },
        { text: field.required ? 'Yes' : 'No', weight: 'Default' },
      ],
    })),
  ];
  // The diff says what changed since the last approval; without one, the first lines of the text.
  const codeSource = review.diff ? review.diff.lines : review.excerpt ? review.excerpt.split(/\r?\n/) : [];
  const excerpt = takeFirst(codeSource, review.diff ? limits.excerptLines * 2 : limits.excerptLines);
  const codeHeading = review.diff ? `Changes against ${review.diff.against}` : '';
  const submitComment = truncate(review.submitComment ?? '', limits.messageChars);
  const moves = isPending
    ? []
    : (review.moves ?? []).map((to) => ({ title: MOVE_TITLES[review.status][to] ?? `Move to ${SCRIPT_STATUS_LABELS[to]}`, scriptId: review.scriptId, versionHash: review.versionHash, from: review.status, to }));
  const description = truncate(review.description ?? '', limits.descriptionChars);
  const name = truncate(review.name, 200);
  return {
    heading: isPending ? `Review needed: ${name}` : `Review: ${name}`,
    description,
    hasDescription: description !== '',
    ...factsData(facts),
    parameterRows,
    hasParameters: parameters.shown.length > 0,
    excerptLines: excerpt.shown.map((line) => ({ text: monospaceLine(line, limits.lineChars), color: review.diff ? diffColor(line) : 'Default' })),
    hasExcerpt: excerpt.shown.length > 0,
    codeHeading,
    hasCodeHeading: codeHeading !== '',
    submitComment,
    hasSubmitComment: submitComment !== '',
    excerptNote: review.diff ? 'The diff is longer than the card shows; open the script to see all of it.' : `${excerpt.hidden} more lines of script text are not shown.`,
    hasExcerptNote: excerpt.hidden > 0 || (review.diff?.truncated ?? false),
    moves,
    ...decisionFields({
      decision: review.decision?.decision,
      decidedBy: review.decision?.decidedBy,
      comment: review.decision?.comment,
      settledLabel: `status ${review.status}`,
      isPending,
      viewerMayDecide,
      waitingText: 'Waiting for a Cyber or Company administrator to decide.',
      limits,
    }),
    scriptId: review.scriptId,
    versionHash: review.versionHash,
  };
}

// ---------------------------------------------------------------- welcome and suggestions

function welcomeData(screen: Extract<Screen, { screen: 'welcome' }>): JsonObject {
  const { actionCount, waitingCount } = screen;
  const intro =
    actionCount === 0
      ? 'Deputy runs PowerShell actions that your administrators approved, on your behalf. No action is assigned to you to run; you can still follow runs and decisions here.'
      : `Deputy runs PowerShell actions that your administrators approved, on your behalf. ${actionCount === 1 ? 'One action is' : `${actionCount} actions are`} assigned to you: pick one, fill in its form, and the result comes back here.`;
  const tips: Line[] = [
    { text: 'Type "help" for your actions, "runs" for your recent runs, "approvals" for what waits for your decision.' },
    { text: 'You can also just type what you want to do, for example "reset password".' },
  ];
  if (waitingCount > 0) tips.unshift({ text: `${waitingCount} ${waitingCount === 1 ? 'request waits' : 'requests wait'} for your decision.` });
  return {
    greeting: `Hello, ${truncate(screen.principal.name, 100)}`,
    intro,
    tips,
    hasWaiting: waitingCount > 0,
  };
}

function suggestionsData(text: string, suggestions: readonly Suggestion[], limits: CardLimits): JsonObject {
  const shown = takeFirst(suggestions, 5).shown.map(({ action, values }) => {
    const title = truncate(action.title, 100);
    const description = truncate(action.description ?? '', limits.descriptionChars);
    const labels = new Map(action.form.fields.map((field) => [field.name, field.label]));
    const prefill = Object.entries(values).map(([name, value]) => `${labels.get(name) ?? humanizeName(name)}: ${truncate(value, 100)}`);
    return {
      title,
      description,
      hasDescription: description !== '',
      prefillText: prefill.length > 0 ? `Filled in from what you typed: ${prefill.join(', ')}` : '',
      hasPrefill: prefill.length > 0,
      tooltip: `Open the form for “${title}”`,
      data: { actionId: action.id, ...(prefill.length > 0 ? { prefill: values } : {}) },
    };
  });
  return {
    notUnderstood: `I did not understand “${truncate(text, 200)}”.`,
    lead: shown.length > 0 ? (shown.length === 1 ? 'This action looks closest:' : 'These actions look closest:') : 'None of your actions matches it.',
    suggestions: shown,
  };
}
