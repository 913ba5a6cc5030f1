/**
 * The neutral `Screen`s of cards/screens.ts rendered as Slack Block Kit: messages (≤ 50 blocks),
 * modals and the App Home (≤ 100 blocks). Text that does not fit Slack's limits is cut
 * sensibly and handed back as `overflow`, which the port uploads as a file in the thread.
 */
import type { types as slack } from '@slack/bolt';
import type { ActionView, RunState, RunView } from '../../executor/contract/index.ts';
import { formatTargets, targetOutcomeLines, targetsLabel } from '../../cards/present.ts';
import type { ScriptReview, SubmitVerb } from '../../cards/screens.ts';
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

const STATE_LABEL: Record<RunState, string> = {
  requested: ':inbox_tray: Requested',
  'awaiting-approval': ':raising_hand: Awaiting approval',
  queued: ':hourglass_flowing_sand: Queued',
  running: ':gear: Running',
  succeeded: ':white_check_mark: Succeeded',
  failed: ':x: Failed',
  'timed-out': ':alarm_clock: Timed out',
  cancelled: ':no_entry_sign: Cancelled',
  rejected: ':no_entry: Rejected',
  interrupted: ':warning: Interrupted',
};

export function stateLabel(state: RunState): string {
  return STATE_LABEL[state];
}

function formatDuration(ms: number | undefined): string | undefined {
  if (ms === undefined) return undefined;
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const seconds = ms / 1000;
  if (seconds < 60) return `${seconds.toFixed(1)} s`;
  return `${Math.floor(seconds / 60)} min ${Math.round(seconds % 60)} s`;
}

function formatInputs(inputs: Record<string, unknown>): string | undefined {
  const lines = Object.entries(inputs).map(([name, value]) => {
    const shown = Array.isArray(value) ? value.join(', ') : typeof value === 'object' ? JSON.stringify(value) : String(value);
    return `*${escapeMrkdwn(name)}:* ${escapeMrkdwn(truncate(shown, 200))}`;
  });
  return lines.length > 0 ? lines.join('\n') : undefined;
}

function runContext(run: RunView): slack.ContextBlock {
  return context(`Run \`${escapeMrkdwn(run.id)}\` · correlation id \`${escapeMrkdwn(run.correlationId)}\``);
}

// ---------------------------------------------------------------- messages

/** Renders a screen as a message. The result may exceed 50 blocks; `fitMessage` trims it. */
export function renderMessage(screen: Screen): RenderedMessage {
  switch (screen.screen) {
    case 'action-list':
      return renderActionList(screen.actions, screen.principal.name);
    case 'action-form':
      // Forms are modals on Slack; a form that lands in a message offers to open it.
      return {
        text: screen.action.title,
        blocks: [section(`*${escapeMrkdwn(screen.action.title)}*`, button('Open form', 'open-form', { actionId: screen.action.id }, 'primary'))],
      };
    case 'run-status':
      return renderRunStatus(screen.run, screen.canCancel);
    case 'run-summary':
      return renderRunSummary(screen.run, screen.canShowAll);
    case 'approval-request':
      return renderApprovalRequest(screen.run, screen.requester, screen.viewerMayDecide);
    case 'error':
      return {
        text: screen.message,
        blocks: [section(`:warning: ${escapeMrkdwn(screen.message)}`), context(`Correlation id \`${escapeMrkdwn(screen.correlationId)}\``)],
      };
    case 'notice':
      return { text: screen.text, blocks: [section(escapeMrkdwn(screen.text))] };
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
    const description = action.description ? `\n${escapeMrkdwn(truncate(action.description, 500))}` : '';
    return section(`*${escapeMrkdwn(action.title)}*${description}`, button('Run…', 'open-form', { actionId: action.id }, 'primary'));
  });
}

function renderActionList(actions: ActionView[], principalName: string): RenderedMessage {
  if (actions.length === 0) {
    const text = 'There are no actions you may run yet. Ask your administrator to assign some.';
    return { text, blocks: [section(text)] };
  }
  return {
    text: `Actions for ${principalName}`,
    blocks: [header('What would you like to do?'), ...actionBlocks(actions)],
  };
}

function renderRunStatus(run: RunView, canCancel: boolean): RenderedMessage {
  const inputs = formatInputs(run.inputs);
  const blocks: MessageBlock[] = [
    section(`*${escapeMrkdwn(run.actionTitle)}*: ${stateLabel(run.state)}`, canCancel ? cancelButton(run.id) : undefined),
  ];
  blocks.push(...targetBlocks(run));
  if (inputs) blocks.push(section(inputs));
  blocks.push(runContext(run));
  return { text: `${run.actionTitle}: ${run.state}`, blocks };
}

/** Where the run runs; for a finished run on several targets, how it went on each. */
function targetBlocks(run: RunView): MessageBlock[] {
  const where = formatTargets(run.targets);
  if (!where || !run.targets) return [];
  const lines = run.targets.length > 1 ? targetOutcomeLines(run.summary).map((line) => `*${escapeMrkdwn(line.id)}* ${escapeMrkdwn(line.text)}`) : [];
  if (lines.length > 0) return [section(truncate(`*${targetsLabel(run.targets)}*\n${lines.join('\n')}`, SLACK_LIMITS.sectionText))];
  return [section(truncate(`*${targetsLabel(run.targets)}:* ${escapeMrkdwn(where)}`, SLACK_LIMITS.sectionText))];
}

function cancelButton(runId: string): slack.Button {
  return {
    ...button('Cancel', 'cancel-run', { runId }, 'danger'),
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

function formatTable(table: { columns: string[]; rows: string[][] }): string[] {
  const widths = table.columns.map((column, index) =>
    Math.min(40, Math.max(column.length, ...table.rows.map((row) => (row[index] ?? '').length))),
  );
  const line = (cells: string[]): string => cells.map((cell, index) => truncate(cell, widths[index] ?? 40).padEnd(widths[index] ?? 0)).join('  ').trimEnd();
  return [line(table.columns), line(widths.map((width) => '-'.repeat(width))), ...table.rows.map(line)];
}

/** Room for the code fences and escaping inside one 3000-character section. */
const OUTPUT_BUDGET = 2600;

function renderRunSummary(run: RunView, canShowAll: boolean): RenderedMessage {
  const facts = [stateLabel(run.state), formatDuration(run.durationMs)].filter(Boolean).join(' · ');
  const blocks: MessageBlock[] = [section(`*${escapeMrkdwn(run.actionTitle)}*: ${facts}`), ...targetBlocks(run)];
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
    if (summary.errors.length > 0) blocks.push(section(`*Errors*\n${codeBlock(fitLines(summary.errors, OUTPUT_BUDGET).shown)}`));
    if (summary.warnings.length > 0) blocks.push(section(`*Warnings*\n${codeBlock(fitLines(summary.warnings, 1200).shown)}`));
    if (summary.truncated) blocks.push(context('The stored output was cut at the size limit.'));
  }
  if (run.error) blocks.push(section(`:warning: ${escapeMrkdwn(run.error.message)}`));
  if (canShowAll && !overflow) {
    blocks.push({ type: 'actions', elements: [button('Show all output', 'show-output', { runId: run.id })] });
  }
  blocks.push(runContext(run));
  return { text: `${run.actionTitle}: ${run.state}`, blocks, ...(overflow ? { overflow } : {}) };
}

function renderApprovalRequest(run: RunView, requester: string, viewerMayDecide: boolean): RenderedMessage {
  const inputs = formatInputs(run.inputs);
  const blocks: MessageBlock[] = [
    section(`:raising_hand: *${escapeMrkdwn(requester)}* asks to run *${escapeMrkdwn(run.actionTitle)}*.`),
    ...targetBlocks(run),
  ];
  if (inputs) blocks.push(section(inputs));
  if (run.approval?.expiresAt) blocks.push(context(`Expires ${escapeMrkdwn(run.approval.expiresAt)}`));
  if (viewerMayDecide && run.state === 'awaiting-approval') {
    blocks.push({
      type: 'actions',
      elements: [
        button('Approve', 'decide-run', { runId: run.id, decision: 'approve' }, 'primary'),
        button('Reject', 'decide-run', { runId: run.id, decision: 'reject' }, 'danger'),
      ],
    });
  } else if (run.approval?.decision) {
    blocks.push(section(`${run.approval.decision === 'approve' ? 'Approved' : 'Rejected'}${run.approval.decidedBy ? ` by ${escapeMrkdwn(run.approval.decidedBy)}` : ''}.`));
  }
  blocks.push(runContext(run));
  return { text: `${requester} asks to run ${run.actionTitle}`, blocks };
}

function renderScriptReview(review: ScriptReview, viewerMayDecide: boolean): RenderedMessage {
  const by = review.submittedBy ? ` by ${escapeMrkdwn(review.submittedBy)}` : '';
  const blocks: MessageBlock[] = [section(`:mag: *${escapeMrkdwn(review.name)}* is in *${review.status}*${by} and waits for review.`)];
  if (review.description) blocks.push(section(escapeMrkdwn(review.description)));
  if (review.parameters.length > 0) {
    blocks.push(section(`*Parameters*\n${review.parameters.map((field) => `• ${escapeMrkdwn(field.name)} (${escapeMrkdwn(field.psType)}${field.required ? ', required' : ''})`).join('\n')}`));
  }
  if (review.submitComment) blocks.push(section(`_${escapeMrkdwn(review.submitComment)}_`));
  if (review.diff && review.diff.lines.length > 0) {
    const { shown, cut } = fitLines(review.diff.lines, OUTPUT_BUDGET);
    blocks.push(section(`*Changes against ${escapeMrkdwn(review.diff.against)}*\n${codeBlock(shown)}`));
    if (cut || review.diff.truncated) blocks.push(context('The diff is longer than a message holds; open the script to see all of it.'));
  } else if (review.excerpt) blocks.push(section(codeBlock(fitLines(review.excerpt.split('\n'), OUTPUT_BUDGET).shown)));
  if (review.decision) {
    blocks.push(section(`${review.decision.decision === 'approve' ? 'Approved' : 'Sent back to Draft'} by ${escapeMrkdwn(review.decision.decidedBy)}.`));
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
  if (sections.length === 0) blocks.push(section(escapeMrkdwn(screen.emptyText)));
  for (const part of sections) {
    blocks.push(section(`*${escapeMrkdwn(part.title)}*`));
    for (const item of part.items) {
      blocks.push(section(`*${escapeMrkdwn(item.title)}*\n${escapeMrkdwn(item.detail)}`, button('Open', item.open.verb, item.open.data)));
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
      blocks.push(section(`*${escapeMrkdwn(run.actionTitle)}* requested by ${escapeMrkdwn(run.principalId)}\n${formatInputs(run.inputs) ?? ''}`), {
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
      const by = review.submittedBy ? ` submitted by ${escapeMrkdwn(review.submittedBy)}` : '';
      blocks.push(section(`*${escapeMrkdwn(review.name)}*${by}\nversion \`${escapeMrkdwn(review.versionHash.slice(0, 12))}\` · tenant ${escapeMrkdwn(review.tenant)}`, button('Review', 'show-script', { scriptId: review.scriptId }, 'primary')));
    }
  }

  blocks.push({ type: 'divider' }, header('Your actions'));
  blocks.push(...(overview.actions.length > 0 ? actionBlocks(overview.actions) : [section('No actions are assigned to you yet.')]));

  blocks.push({ type: 'divider' }, header('Recent runs'));
  if (overview.recentRuns.length === 0) blocks.push(section('You have not run anything yet.'));
  for (const run of overview.recentRuns.slice(0, 10)) {
    blocks.push(context(`${stateLabel(run.state)} · *${escapeMrkdwn(run.actionTitle)}* · ${escapeMrkdwn(run.createdAt)} · \`${escapeMrkdwn(run.id)}\``));
  }

  if (blocks.length > SLACK_LIMITS.viewBlocks) {
    return { type: 'home', blocks: [...blocks.slice(0, SLACK_LIMITS.viewBlocks - 1), context('More items than the Home tab shows; use /deputy to see them all.')] };
  }
  return { type: 'home', blocks };
}
