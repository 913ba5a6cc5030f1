/**
 * The neutral `Screen`s of cards/screens.ts rendered as Slack Block Kit: messages (≤ 50 blocks),
 * modals and the App Home (≤ 100 blocks). Text that does not fit Slack's limits is cut
 * sensibly and handed back as `overflow`, which the port uploads as a file in the thread.
 */
import type { types as slack } from '@slack/bolt';
import type { ActionView, PrincipalView, RunState, RunView } from '../../executor/contract/index.ts';
import { formatDuration, formatTargets, humanizeName, presentState, targetOutcomeLines, targetsLabel } from '../../cards/present.ts';
import type { ScriptReview, SubmitVerb, Suggestion } from '../../cards/screens.ts';
import type { FileAttachment, HomeOverview, Screen } from '../core/model.ts';

/** Slack's documented limits that shape rendering. */
export const SLACK_LIMITS = {
  messageBlocks: 50,
  viewBlocks: 100,
  sectionText: 3000,
  headerText: 150,
  contextText: 2000,
  buttonText: 75,
  buttonValue: 2000,
  viewTitle: 24,
  privateMetadata: 3000,
  selectOptions: 100,
  optionText: 75,
  optionValue: 150,
  label: 2000,
  hint: 2000,
  placeholder: 150,
  textInputLength: 3000,
  fallbackText: 4000,
} as const;

/** Every button Deputy renders carries `deputy:<verb>` as action id and its data as JSON in `value`. */
export const ACTION_ID_PREFIX = 'deputy:';

export function actionIdFor(verb: SubmitVerb): string {
  return `${ACTION_ID_PREFIX}${verb}`;
}

export type MessageBlock = slack.KnownBlock;

export interface RenderedMessage {
  /** Notification / screen-reader fallback. */
  text: string;
  blocks: MessageBlock[];
  /** What did not fit into the message, to be uploaded as a file in the same thread. */
  overflow?: FileAttachment;
}

// ---------------------------------------------------------------- text helpers

/** Escapes the three characters Slack's mrkdwn treats as control characters. */
export function escapeMrkdwn(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

export function truncate(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, Math.max(0, max - 1))}…`;
}

function plain(text: string, max: number = SLACK_LIMITS.sectionText): slack.PlainTextElement {
  return { type: 'plain_text', text: truncate(text, max), emoji: true };
}

function section(mrkdwn: string, accessory?: slack.Button): slack.SectionBlock {
  return {
    type: 'section',
    text: { type: 'mrkdwn', text: truncate(mrkdwn, SLACK_LIMITS.sectionText) },
    ...(accessory ? { accessory } : {}),
  };
}

/**
 * Text from users, scripts and the catalog goes into plain_text: Slack has no way to escape
 * mrkdwn's `*`, `_`, `~` or links, so such text never enters a mrkdwn field.
 */
function plainSection(text: string, accessory?: slack.Button): slack.SectionBlock {
  return { type: 'section', text: plain(text), ...(accessory ? { accessory } : {}) };
}

function plainContext(text: string): slack.ContextBlock {
  return { type: 'context', elements: [plain(text, SLACK_LIMITS.contextText)] };
}

/** Label/value pairs as section fields (at most 10 a section), both plain text: labels come from scripts' help. */
function fieldSections(pairs: [string, string][]): slack.SectionBlock[] {
  const sections: slack.SectionBlock[] = [];
  for (let index = 0; index < pairs.length; index += 5) {
    const fields = pairs.slice(index, index + 5).flatMap(([label, value]): slack.PlainTextElement[] => [
      { type: 'plain_text', text: `${truncate(label, 200)}:`, emoji: false },
      { type: 'plain_text', text: truncate(value === '' ? '(empty)' : value, 1900), emoji: false },
    ]);
    sections.push({ type: 'section', fields });
  }
  return sections;
}

function context(mrkdwn: string): slack.ContextBlock {
  return { type: 'context', elements: [{ type: 'mrkdwn', text: truncate(mrkdwn, SLACK_LIMITS.contextText) }] };
}

function header(text: string): slack.HeaderBlock {
  return { type: 'header', text: plain(text, SLACK_LIMITS.headerText) };
}

/** A code block that cannot be closed early by the text inside it. */
function codeBlock(text: string): string {
  return '```' + escapeMrkdwn(text).replace(/```/g, '`\u200b``') + '```';
}

export function button(
  text: string,
  verb: SubmitVerb,
  data: Record<string, unknown>,
  style?: 'primary' | 'danger',
): slack.Button {
  return {
    type: 'button',
    text: plain(text, SLACK_LIMITS.buttonText),
    action_id: actionIdFor(verb),
    value: JSON.stringify(data).slice(0, SLACK_LIMITS.buttonValue),
    ...(style ? { style } : {}),
  };
}

// ---------------------------------------------------------------- run states

/** Slack's emoji for each state; the words are the cards' own (cards/present.ts), written once. */
const STATE_EMOJI: Record<RunState, string> = {
  requested: ':inbox_tray:',
  'awaiting-approval': ':raising_hand:',
  queued: ':hourglass_flowing_sand:',
  running: ':gear:',
  succeeded: ':white_check_mark:',
  failed: ':x:',
  'timed-out': ':alarm_clock:',
  cancelled: ':no_entry_sign:',
  rejected: ':no_entry:',
  interrupted: ':warning:',
};

export function stateLabel(state: RunState): string {
  return `${STATE_EMOJI[state]} ${presentState(state).label}`;
}

function inputBlocks(inputs: Record<string, unknown>, labels: Record<string, string> = {}): slack.SectionBlock[] {
  return fieldSections(
    Object.entries(inputs).map(([name, value]) => {
      const shown = Array.isArray(value) ? value.join(', ') : typeof value === 'object' && value !== null ? JSON.stringify(value) : String(value ?? '');
      return [labels[name] ?? humanizeName(name), truncate(shown, 200)];
    }),
  );
}

function runContext(run: RunView): slack.ContextBlock {
  return context(`Run \`${escapeMrkdwn(run.id)}\` · correlation id \`${escapeMrkdwn(run.correlationId)}\``);
}

// ---------------------------------------------------------------- messages

/** Renders a screen as a message. The result may exceed 50 blocks; `fitMessage` trims it. */
export function renderMessage(screen: Screen): RenderedMessage {
  switch (screen.screen) {
    case 'action-list':
      return renderActionList(screen.actions, screen.principal);
    case 'action-form':
      // Forms are modals on Slack; a form that lands in a message offers to open it.
      return {
        text: screen.action.title,
        blocks: [plainSection(screen.action.title, button('Open form', 'open-form', { actionId: screen.action.id }, 'primary'))],
      };
    case 'run-status':
      return renderRunStatus(screen.run, screen.canCancel);
    case 'run-summary':
      return renderRunSummary(screen.run, screen.canShowAll, screen.canRunAgain ?? false);
    case 'approval-request':
      return renderApprovalRequest(screen);
    case 'welcome':
      return renderWelcome(screen);
    case 'suggestions':
      return renderSuggestions(screen.text, screen.suggestions);
    case 'error':
      return {
        text: screen.message,
        blocks: [
          plainSection(`:warning: ${screen.message}`),
          ...(screen.hint ? [plainSection(screen.hint)] : []),
          context(`Correlation id \`${escapeMrkdwn(screen.correlationId)}\``),
        ],
      };
    case 'notice':
      return { text: screen.text, blocks: [plainSection(screen.text)] };
    case 'script-review':
      return renderScriptReview(screen.review, screen.viewerMayDecide);
    case 'item-list':
      return renderItemList(screen);
    default:
      return unknownScreen(screen);
  }
}

function unknownScreen(screen: never): never {
  throw new Error(`No Block Kit rendering for screen ${JSON.stringify(screen)}`);
}

/** One sentence for places that show text only (ephemeral messages, notification fallbacks). */
export function renderSentence(screen: Screen): string {
  const message = renderMessage(screen).text;
  return screen.screen === 'error' ? `${message} (correlation id ${screen.correlationId})` : message;
}

function actionBlocks(actions: ActionView[]): MessageBlock[] {
  return actions.map((action) => {
    const description = action.description ? `\n${truncate(action.description, 500)}` : '';
    return plainSection(`${action.title}${description}`, button('Run…', 'open-form', { actionId: action.id }, 'primary'));
  });
}

function renderActionList(actions: ActionView[], principal: PrincipalView): RenderedMessage {
  if (actions.length === 0) {
    const text = principal.roles.every((role) => role === 'read-only')
      ? 'As a read-only administrator you run no actions. You can look at scripts (type `scripts`) and at runs you are told about.'
      : 'There are no actions you may run yet. Ask your administrator to assign some.';
    return { text, blocks: [section(text)] };
  }
  return {
    text: `Actions for ${principal.name}`,
    blocks: [header('What would you like to do?'), ...actionBlocks(actions)],
  };
}

function renderRunStatus(run: RunView, canCancel: boolean): RenderedMessage {
  const blocks: MessageBlock[] = [plainSection(`${run.actionTitle}: ${stateLabel(run.state)}`), ...targetBlocks(run), ...inputBlocks(run.inputs)];
  // "Check again" first: Cancel is never where another button was a moment ago.
  blocks.push({ type: 'actions', elements: [button('Check again', 'refresh-run', { runId: run.id }), ...(canCancel ? [cancelButton(run.id, 'Cancel run…')] : [])] });
  blocks.push(runContext(run));
  return { text: `${run.actionTitle}: ${run.state}`, blocks };
}

/** Where the run runs; for a finished run on several targets, how it went on each (plain text: the catalog's names). */
function targetBlocks(run: RunView): MessageBlock[] {
  const where = formatTargets(run.targets);
  if (!where || !run.targets) return [];
  const lines = run.targets.length > 1 ? targetOutcomeLines(run.summary).map((line) => `${line.id} ${line.text}`) : [];
  if (lines.length > 0) return [plainSection(`${targetsLabel(run.targets)}\n${lines.join('\n')}`)];
  return [plainSection(`${targetsLabel(run.targets)}: ${where}`)];
}

/** Slack asks "really?" itself (the button's confirm dialog), so the press arrives confirmed. */
function cancelButton(runId: string, title = 'Cancel'): slack.Button {
  return {
    ...button(title, 'cancel-run', { runId, confirmed: true }, 'danger'),
    confirm: {
      title: plain('Cancel this run?', 100),
      text: plain('The script is stopped where it is.', 300),
      confirm: plain('Cancel run', 30),
      deny: plain('Keep running', 30),
    },
  };
}

/** Keeps the first lines that fit a section; the whole text goes to the overflow file. */
function fitLines(lines: string[], budget: number): { shown: string; cut: boolean } {
  let shown = '';
  for (const line of lines) {
    const next = shown.length === 0 ? line : `${shown}\n${line}`;
    if (next.length > budget) return { shown, cut: true };
    shown = next;
  }
  return { shown, cut: false };
}

/** Widest a text table gets before its widest columns are cut: about what a Slack code block shows. */
const TABLE_WIDTH = 120;

/**
 * A monospace table with readable headers. Columns are as wide as their content; only when
 * the table is wider than a code block shows is the widest column cut, and then the next.
 */
export function formatTable(table: { columns: string[]; rows: string[][] }): string[] {
  const headers = table.columns.map(humanizeName);
  const widths = headers.map((header, index) => Math.max(header.length, ...table.rows.map((row) => (row[index] ?? '').length)));
  const separators = 2 * Math.max(0, widths.length - 1);
  while (widths.reduce((sum, width) => sum + width, 0) + separators > TABLE_WIDTH) {
    const widest = widths.indexOf(Math.max(...widths));
    const floor = Math.max(8, headers[widest]?.length ?? 0);
    if ((widths[widest] ?? 0) <= floor) break;
    widths[widest] = (widths[widest] ?? 0) - 1;
  }
  const line = (cells: string[]): string => cells.map((cell, index) => truncate(cell, widths[index] ?? cell.length).padEnd(widths[index] ?? 0)).join('  ').trimEnd();
  return [line(headers), line(widths.map((width) => '-'.repeat(width))), ...table.rows.map(line)];
}

/** Room for the code fences and escaping inside one 3000-character section. */
const OUTPUT_BUDGET = 2600;

function renderRunSummary(run: RunView, canShowAll: boolean, canRunAgain: boolean): RenderedMessage {
  const facts = [stateLabel(run.state), run.durationMs === undefined ? undefined : formatDuration(run.durationMs)].filter(Boolean).join(' · ');
  const blocks: MessageBlock[] = [plainSection(`${run.actionTitle}: ${facts}`), ...targetBlocks(run)];
  const summary = run.summary;
  let overflow: FileAttachment | undefined;

  if (summary) {
    const outputLines = summary.table ? formatTable(summary.table) : summary.lines;
    if (outputLines.length > 0) {
      const { shown, cut } = fitLines(outputLines, OUTPUT_BUDGET);
      if (shown.length > 0) blocks.push(section(codeBlock(shown)));
      if (cut) {
        overflow = { name: `${run.id}-output.txt`, contentType: 'text/plain', content: outputLines.join('\n') };
        blocks.push(context('The output is longer than a message holds; the first part is above, all of it is in the attached file.'));
      }
    }
    const note = endOfOutputNote(summary);
    if (note) blocks.push(context(note));
    if (summary.errors.length > 0) blocks.push(section(`*Errors*\n${codeBlock(fitLines(summary.errors, OUTPUT_BUDGET).shown)}`));
    if (summary.warnings.length > 0) blocks.push(section(`*Warnings*\n${codeBlock(fitLines(summary.warnings, 1200).shown)}`));
    if (summary.truncated) blocks.push(context('The stored output was cut at the size limit.'));
  }
  if (run.error) blocks.push(plainSection(`:warning: ${run.error.message}`));
  const buttons = [
    ...(canShowAll && !overflow ? [button('Show all output', 'show-output', { runId: run.id })] : []),
    ...(canRunAgain ? [button('Run again', 'open-form', { actionId: run.actionId, fromRunId: run.id })] : []),
  ];
  if (buttons.length > 0) blocks.push({ type: 'actions', elements: buttons });
  blocks.push(runContext(run));
  return { text: `${run.actionTitle}: ${run.state}`, blocks, ...(overflow ? { overflow } : {}) };
}

function renderApprovalRequest(screen: Extract<Screen, { screen: 'approval-request' }>): RenderedMessage {
  const { run, requester, viewerMayDecide } = screen;
  const asking = screen.viewerIsRequester ? `You asked to run ${run.actionTitle}.` : `${requester} asks to run ${run.actionTitle}.`;
  const blocks: MessageBlock[] = [plainSection(`:raising_hand: ${asking}`), ...targetBlocks(run), ...inputBlocks(run.inputs, screen.labels)];
  if (run.approval?.expiresAt) blocks.push(context(`Expires ${escapeMrkdwn(run.approval.expiresAt)}`));
  if (screen.viewerIsRequester && run.state === 'awaiting-approval') {
    blocks.push(plainContext('Another person decides this request: a Cyber or Company administrator of its tenant, or someone who may run this action.'));
    blocks.push({ type: 'actions', elements: [cancelButton(run.id, 'Withdraw my request')] });
  } else if (viewerMayDecide && run.state === 'awaiting-approval') {
    blocks.push({
      type: 'actions',
      elements: [
        button('Approve', 'decide-run', { runId: run.id, decision: 'approve' }, 'primary'),
        button('Reject', 'decide-run', { runId: run.id, decision: 'reject' }, 'danger'),
      ],
    });
  } else if (run.approval?.decision) {
    blocks.push(plainSection(`${run.approval.decision === 'approve' ? 'Approved' : 'Rejected'}${run.approval.decidedBy ? ` by ${run.approval.decidedBy}` : ''}.`));
  }
  blocks.push(runContext(run));
  return { text: asking, blocks };
}

function endOfOutputNote(summary: NonNullable<RunView['summary']>): string | undefined {
  if (summary.table) {
    const total = summary.rowCount ?? summary.table.rows.length;
    return total > summary.table.rows.length ? `Showing the last ${summary.table.rows.length} of ${total} rows.` : undefined;
  }
  return summary.outputLineCount > summary.lines.length ? `Showing the last ${summary.lines.length} of ${summary.outputLineCount} lines.` : undefined;
}

function renderWelcome(screen: Extract<Screen, { screen: 'welcome' }>): RenderedMessage {
  const count = screen.actionCount === 0 ? 'No action is assigned to you to run.' : `${screen.actionCount === 1 ? 'One action is' : `${screen.actionCount} actions are`} assigned to you.`;
  const text = `Hello, ${screen.principal.name}. Deputy runs PowerShell actions your administrators approved, on your behalf. ${count}`;
  return {
    text,
    blocks: [
      plainSection(text),
      context('Type `help` for your actions, `runs` for your recent runs, `approvals` for what waits for your decision, or just what you want to do.'),
      {
        type: 'actions',
        elements: [
          button('Show my actions', 'show-actions', {}, 'primary'),
          button('My recent runs', 'show-runs', {}),
          ...(screen.waitingCount > 0 ? [button(`What waits for me (${screen.waitingCount})`, 'show-approvals', {})] : []),
        ],
      },
    ],
  };
}

function renderSuggestions(text: string, suggestions: Suggestion[]): RenderedMessage {
  const lead = suggestions.length === 0 ? 'None of your actions matches it.' : suggestions.length === 1 ? 'This action looks closest:' : 'These actions look closest:';
  const said = `I did not understand “${truncate(text, 200)}”. ${lead}`;
  const blocks: MessageBlock[] = [plainSection(said)];
  for (const { action, values } of suggestions.slice(0, 5)) {
    const labels = new Map(action.form.fields.map((field) => [field.name, field.label]));
    const prefill = Object.entries(values).map(([name, value]) => `${labels.get(name) ?? humanizeName(name)}: ${value}`).join(', ');
    const description = action.description ? `\n${truncate(action.description, 300)}` : '';
    const filled = prefill ? `\nFilled in from what you typed: ${prefill}` : '';
    blocks.push(plainSection(`${action.title}${description}${filled}`, button('Open', 'open-form', { actionId: action.id, ...(prefill ? { prefill: values } : {}) }, 'primary')));
  }
  blocks.push({ type: 'actions', elements: [button('Show all my actions', 'show-actions', {}), button('My recent runs', 'show-runs', {})] });
  return { text: said, blocks };
}

function renderScriptReview(review: ScriptReview, viewerMayDecide: boolean): RenderedMessage {
  const by = review.submittedBy ? ` by ${review.submittedBy}` : '';
  const blocks: MessageBlock[] = [plainSection(`:mag: ${review.name} is in ${review.status}${by} and waits for review.`)];
  if (review.description) blocks.push(plainSection(review.description));
  if (review.parameters.length > 0) {
    blocks.push(plainSection(`Parameters\n${review.parameters.map((field) => `• ${field.name} (${field.psType}${field.required ? ', required' : ''})`).join('\n')}`));
  }
  if (review.submitComment) blocks.push(plainSection(`“${review.submitComment}”`));
  if (review.diff && review.diff.lines.length > 0) {
    const { shown, cut } = fitLines(review.diff.lines, OUTPUT_BUDGET);
    blocks.push(plainSection(`Changes against ${review.diff.against}`), section(codeBlock(shown)));
    if (cut || review.diff.truncated) blocks.push(context('The diff is longer than a message holds; open the script to see all of it.'));
  } else if (review.excerpt) blocks.push(section(codeBlock(fitLines(review.excerpt.split('\n'), OUTPUT_BUDGET).shown)));
  if (review.decision) {
    blocks.push(plainSection(`${review.decision.decision === 'approve' ? 'Approved' : 'Sent back to Draft'} by ${review.decision.decidedBy}.`));
  } else if (viewerMayDecide) {
    blocks.push({
      type: 'actions',
      elements: [
        button('Approve', 'decide-script', { scriptId: review.scriptId, versionHash: review.versionHash, decision: 'approve' }, 'primary'),
        button('Reject', 'decide-script', { scriptId: review.scriptId, versionHash: review.versionHash, decision: 'reject' }, 'danger'),
      ],
    });
  } else if (review.status !== 'testing' && review.moves && review.moves.length > 0) {
    blocks.push({
      type: 'actions',
      elements: review.moves.map((to) =>
        button(to === 'testing' ? 'Submit for testing' : `Move to ${to}`, 'change-script-status', { scriptId: review.scriptId, versionHash: review.versionHash, from: review.status, to })),
    });
  }
  blocks.push(context(`Script \`${escapeMrkdwn(review.scriptId)}\` · tenant ${escapeMrkdwn(review.tenant)} · version \`${escapeMrkdwn(review.versionHash.slice(0, 12))}\``));
  return { text: `${review.name} waits for review`, blocks };
}

function renderItemList(screen: Extract<Screen, { screen: 'item-list' }>): RenderedMessage {
  const blocks: MessageBlock[] = [header(screen.heading)];
  const sections = screen.sections.filter((part) => part.items.length > 0);
  if (sections.length === 0) blocks.push(plainSection(screen.emptyText));
  for (const part of sections) {
    blocks.push(plainSection(part.title));
    for (const item of part.items) {
      blocks.push(plainSection(`${item.title}\n${item.detail}`, button('Open', item.open.verb, item.open.data)));
    }
  }
  blocks.push({ type: 'actions', elements: [button('Refresh list', screen.refresh.verb, screen.refresh.data)] });
  return { text: screen.heading, blocks };
}

/**
 * Trims a message to Slack's 50 blocks: the first 49 stay, a note says the rest is attached,
 * and the dropped blocks' text joins the overflow file.
 */
export function fitMessage(message: RenderedMessage, maxBlocks: number = SLACK_LIMITS.messageBlocks): RenderedMessage {
  const text = truncate(message.text, SLACK_LIMITS.fallbackText);
  if (message.blocks.length <= maxBlocks) return { ...message, text };
  const kept = message.blocks.slice(0, maxBlocks - 1);
  const dropped = message.blocks.slice(maxBlocks - 1);
  const droppedText = dropped.map(blockText).filter((line) => line.length > 0).join('\n');
  const content = [message.overflow?.content, droppedText].filter(Boolean).join('\n\n');
  return {
    text,
    blocks: [...kept, context(`${dropped.length} more items did not fit into this message; they are in the attached file.`)],
    overflow: { name: message.overflow?.name ?? 'deputy-message.txt', contentType: 'text/plain', content },
  };
}

function blockText(block: MessageBlock): string {
  if (block.type === 'section' || block.type === 'header') return block.text?.text ?? '';
  if (block.type === 'context') return block.elements.map((element) => ('text' in element ? element.text : '')).join(' ');
  return '';
}

// ---------------------------------------------------------------- views (modals, App Home)

export function modal(title: string, blocks: slack.KnownBlock[], options: { privateMetadata?: string; callbackId?: string; submit?: string } = {}): slack.ModalView {
  return {
    type: 'modal',
    title: plain(title, SLACK_LIMITS.viewTitle),
    close: plain('Close', SLACK_LIMITS.viewTitle),
    ...(options.submit ? { submit: plain(options.submit, SLACK_LIMITS.viewTitle) } : {}),
    ...(options.callbackId ? { callback_id: options.callbackId } : {}),
    ...(options.privateMetadata ? { private_metadata: options.privateMetadata } : {}),
    blocks: blocks.slice(0, SLACK_LIMITS.viewBlocks),
  };
}

/** Opened at once with the `trigger_id` (good for 3 s) while the core prepares the real content. */
export function loadingModal(privateMetadata?: string): slack.ModalView {
  return modal('Deputy', [section(':hourglass_flowing_sand: One moment, loading…')], privateMetadata ? { privateMetadata } : {});
}

/** A screen that is not a form, shown inside a modal (action list, notice, error). */
export function screenModal(screen: Screen, privateMetadata?: string): slack.ModalView {
  const message = fitMessage(renderMessage(screen), SLACK_LIMITS.viewBlocks);
  return modal('Deputy', message.blocks, privateMetadata ? { privateMetadata } : {});
}

/** The App Home tab: a role-specific dashboard. */
export function renderHome(overview: HomeOverview | undefined, notEnrolledText: string): slack.HomeView {
  if (!overview) return { type: 'home', blocks: [header('Deputy'), section(escapeMrkdwn(notEnrolledText))] };

  const blocks: slack.KnownBlock[] = [
    header('Deputy'),
    context(`Signed in as *${escapeMrkdwn(overview.principal.name)}* · ${overview.principal.roles.map(escapeMrkdwn).join(', ')} · tenant ${escapeMrkdwn(overview.principal.tenant)}`),
  ];

  // Approvals first: they are what someone waits on.
  if (overview.pendingApprovals.length > 0) {
    blocks.push({ type: 'divider' }, header(`Waiting for your decision (${overview.pendingApprovals.length})`));
    for (const run of overview.pendingApprovals.slice(0, 10)) {
      blocks.push(plainSection(`${run.actionTitle} requested by ${run.principalId}`), ...inputBlocks(run.inputs), {
        type: 'actions',
        elements: [
          button('Approve', 'decide-run', { runId: run.id, decision: 'approve' }, 'primary'),
          button('Reject', 'decide-run', { runId: run.id, decision: 'reject' }, 'danger'),
        ],
      });
    }
  }

  const scripts = overview.pendingScripts ?? [];
  if (scripts.length > 0) {
    blocks.push({ type: 'divider' }, header(`Scripts to review (${scripts.length})`));
    for (const review of scripts.slice(0, 10)) {
      const by = review.submittedBy ? ` submitted by ${review.submittedBy}` : '';
      blocks.push(plainSection(`${review.name}${by}\nversion ${review.versionHash.slice(0, 12)} · tenant ${review.tenant}`, button('Review', 'show-script', { scriptId: review.scriptId }, 'primary')));
    }
  }

  blocks.push({ type: 'divider' }, header('Your actions'));
  blocks.push(...(overview.actions.length > 0 ? actionBlocks(overview.actions) : [section('No actions are assigned to you yet.')]));

  blocks.push({ type: 'divider' }, header('Recent runs'));
  if (overview.recentRuns.length === 0) blocks.push(section('You have not run anything yet.'));
  for (const run of overview.recentRuns.slice(0, 10)) {
    blocks.push(plainSection(`${stateLabel(run.state)} · ${run.actionTitle} · ${run.createdAt.slice(0, 16).replace('T', ' ')} UTC`, button('Open', 'show-run', { runId: run.id })));
  }

  if (blocks.length > SLACK_LIMITS.viewBlocks) {
    return { type: 'home', blocks: [...blocks.slice(0, SLACK_LIMITS.viewBlocks - 1), context('More items than the Home tab shows; use /deputy to see them all.')] };
  }
  return { type: 'home', blocks };
}
