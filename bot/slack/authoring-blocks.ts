/**
 * The authoring screens as Block Kit: an uploaded script (its parameters, the diff, what it may
 * become), a form that lives in a modal (a message offers to open it), and the plan list. Text
 * from files, scripts and the catalog is plain_text (never mrkdwn); the diff is a code block.
 */
import type { types as slack } from '@slack/bolt';
import type { ScriptPreview } from '../../executor/contract/index.ts';
import type { AuthoringForm } from '../../cards/screens.ts';
import type { Screen } from '../core/model.ts';
import { OUTPUT_BUDGET, button, codeBlock, context, fitLines, header, plainContext, plainSection, section, type MessageBlock, type RenderedMessage } from './blocks.ts';

const STATUS_WORDS = { draft: 'Draft', testing: 'Testing', approved: 'Approved' } as const;
/** Slack's actions block holds at most 25 elements; a person needs far fewer choices. */
const MAX_TENANT_BUTTONS = 5;

export function renderScriptUpload(preview: ScriptPreview): RenderedMessage {
  const blocks: MessageBlock[] = [header(`Script file: ${preview.fileName}`)];
  if (preview.parseError) {
    blocks.push(plainSection(`:warning: PowerShell cannot parse this script: line ${preview.parseError.line}: ${preview.parseError.message}`));
    blocks.push(context('Fix the script and send the file again; nothing was created.'));
    return { text: `${preview.fileName} cannot be parsed`, blocks };
  }
  blocks.push(plainContext(`${preview.lineCount} lines · ${preview.parameters.length} parameters${preview.synopsis ? ` · ${preview.synopsis}` : ''}`));
  if (preview.parameters.length > 0) {
    blocks.push(section('*Parameters*'), plainSection(preview.parameters.map((field) => `• ${field.label} (${field.name}, ${field.kind}${field.required ? ', required' : ''})`).join('\n')));
  }
  const { newScript, newVersionOf } = preview;
  blocks.push(section('*As a new script*'), plainSection(`Id ${newScript.id}, name ${newScript.name}, in Draft.${newScript.refusal ? `\n:no_entry: ${newScript.refusal}` : ''}`));
  const elements: slack.Button[] = newScript.tenants
    .slice(0, MAX_TENANT_BUTTONS)
    .map((tenant) => button(`Create in ${tenant}`, 'create-script', { upload: preview.upload, id: newScript.id, name: newScript.name, tenant }, 'primary'));
  if (newVersionOf) {
    const keepsRunning = newVersionOf.status === 'approved' ? ' The approved version keeps running until the new one is approved.' : '';
    blocks.push(
      plainSection(`As a new version of ${newVersionOf.name}`),
      plainSection(
        `${newVersionOf.scriptId} (tenant ${newVersionOf.tenant}) is ${STATUS_WORDS[newVersionOf.status]} at version ${newVersionOf.currentHash.slice(0, 12)}. Saving makes this text its new Draft version.${keepsRunning}${newVersionOf.refusal ? `\n:no_entry: ${newVersionOf.refusal}` : ''}`,
      ),
    );
    if (newVersionOf.diff.lines.length > 0) {
      const { shown, cut } = fitLines(newVersionOf.diff.lines, OUTPUT_BUDGET);
      blocks.push(section(codeBlock(shown)));
      if (cut || newVersionOf.diff.truncated) blocks.push(context('The change is longer than a message holds.'));
    }
    if (!newVersionOf.refusal) elements.push(button(`Save as new version of ${newVersionOf.name}`, 'save-script-version', { upload: preview.upload, scriptId: newVersionOf.scriptId, basedOn: newVersionOf.currentHash }, 'primary'));
  }
  if (elements.length > 0) {
    blocks.push({ type: 'actions', elements });
    blocks.push(context('Whatever you choose starts in Draft: nothing runs until a Cyber or Company administrator approves it.'));
  }
  return { text: `Script file ${preview.fileName}`, blocks };
}

/** A form lands in a message (after a typed command): a button opens it in a modal. */
export function renderAuthoringFormMessage(form: AuthoringForm): RenderedMessage {
  return { text: form.title, blocks: [plainSection(form.title, button('Open form', form.reopen.verb, form.reopen.data, 'primary'))] };
}

export function renderPlanList(screen: Extract<Screen, { screen: 'plan-list' }>): RenderedMessage {
  const blocks: MessageBlock[] = [header(screen.heading)];
  if (screen.notice) blocks.push(plainSection(`:white_check_mark: ${screen.notice}`));
  if (screen.plans.length === 0) blocks.push(plainSection(screen.emptyText));
  for (const plan of screen.plans) {
    blocks.push(plainSection([plan.title, ...plan.lines].join('\n')));
    if (plan.buttons.length > 0) {
      blocks.push({
        type: 'actions',
        elements: plan.buttons.map((item) => button(item.title, item.verb, item.data, item.style === 'destructive' ? 'danger' : item.style === 'positive' ? 'primary' : undefined)),
      });
    }
  }
  blocks.push({
    type: 'actions',
    elements: [...(screen.mayCreate ? [button('New plan', 'new-plan', {}, 'primary')] : []), button('Refresh list', 'show-plans', {})],
  });
  return { text: screen.notice ?? screen.heading, blocks };
}
