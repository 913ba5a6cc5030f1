/**
 * Slack forms faithful to PowerShell (Bolt on restify, fake Slack Web API): a parameter-set
 * chooser that updates the modal (dispatch_action + views.update), query-bound fields as external
 * selects answered on block_suggestion with the form's other values, and the user's locale.
 */
import { strict as assert } from 'node:assert';
import type { ChatUser, ChoiceRequest, Inbound } from '../../../bot/core/model.ts';
import { CHOICES_ACTION_ID, SET_ACTION_ID, SET_BLOCK_ID, fieldBlockId } from '../../../bot/slack/form.ts';
import type { ActionView, Choice } from '../../../executor/contract/index.ts';
import { QUERY_ACTION, SETS_ACTION } from '../../cards/samples.ts';
import { ScriptedHandler } from './fixtures.ts';
import { buttonOnMessage, startHarness, TEAM, viewSubmission, type Harness } from './harness.ts';

interface ViewArgs {
  view: { blocks: Array<Record<string, unknown>>; private_metadata: string };
}

class ChoosingHandler extends ScriptedHandler {
  readonly asked: { user: ChatUser; request: ChoiceRequest }[] = [];
  async choices(user: ChatUser, request: ChoiceRequest): Promise<Choice[]> {
    this.asked.push({ user, request });
    return [
      { value: 'awagner', title: 'Alex Wagner' },
      { value: 'upatel', title: 'Uma Patel' },
    ];
  }
}

function formFor(action: ActionView, event: Inbound) {
  const data = event.kind === 'submit' ? event.data : {};
  return {
    immediate: {
      screen: 'action-form' as const,
      action,
      formId: typeof data.formId === 'string' ? data.formId : 'form-slack-1',
      ...(typeof data.parameterSet === 'string' ? { parameterSet: data.parameterSet } : {}),
      ...(data.values ? { values: data.values as Record<string, unknown> } : {}),
    },
  };
}

/** The input blocks' ids (the description above them has none). */
function blockIds(args: Record<string, unknown>): string[] {
  return (args as unknown as ViewArgs).view.blocks.flatMap((block) => (typeof block.block_id === 'string' ? [block.block_id] : []));
}

describe('Slack forms: parameter sets and choices from queries (Bolt, fake Slack)', function () {
  this.timeout(30_000);
  let harness: Harness | undefined;
  afterEach(async () => {
    await harness?.close();
    harness = undefined;
  });

  it('shows one parameter set at a time, and the chosen set\'s fields after the chooser changes', async () => {
    const handler = new ChoosingHandler((event) => formFor(SETS_ACTION, event));
    harness = await startHarness(handler);
    await harness.interaction(buttonOnMessage('deputy:open-form', { actionId: 'auto-reply' }, { ts: '1767225600.000100' }));
    const [opened] = await harness.slack.waitFor('views.open');
    const view = (opened!.args as unknown as ViewArgs).view;
    // The default set first: the fields Enable binds.
    assert.deepEqual(blockIds(opened!.args), [SET_BLOCK_ID, fieldBlockId('Mailbox'), fieldBlockId('Message')]);
    const chooser = view.blocks.find((block) => block.block_id === SET_BLOCK_ID) as { dispatch_action?: boolean; element: { action_id: string; options: { value: string }[]; initial_option: { value: string } } };
    assert.equal(chooser.dispatch_action, true);
    assert.equal(chooser.element.action_id, SET_ACTION_ID);
    assert.deepEqual(chooser.element.options.map((option) => option.value), ['Enable', 'Disable', 'Schedule']);
    assert.equal(chooser.element.initial_option.value, 'Enable');
    const metadata = JSON.parse(view.private_metadata) as { parameterSet: string };
    assert.equal(metadata.parameterSet, 'Enable');

    // The user picks "Schedule": Slack sends block_actions from the modal, with what was typed so far.
    await harness.interaction({
      type: 'block_actions',
      team: { id: TEAM, domain: 'contoso' },
      user: { id: 'U1', username: 'alex', name: 'alex', team_id: TEAM },
      api_app_id: 'A1',
      token: 'legacy-verification-token',
      container: { type: 'view', view_id: 'V1' },
      trigger_id: 'trigger-set',
      view: {
        id: 'V1',
        hash: 'hash-1',
        type: 'modal',
        team_id: TEAM,
        blocks: view.blocks,
        private_metadata: view.private_metadata,
        callback_id: 'deputy:form',
        state: {
          values: {
            [SET_BLOCK_ID]: { [SET_ACTION_ID]: { type: 'static_select', selected_option: { value: 'Schedule' } } },
            [fieldBlockId('Mailbox')]: { value: { type: 'plain_text_input', value: 'a@contoso.example' } },
          },
        },
        root_view_id: 'V1',
        app_id: 'A1',
        bot_id: 'BBOT',
      },
      actions: [{ type: 'static_select', action_id: SET_ACTION_ID, block_id: SET_BLOCK_ID, selected_option: { value: 'Schedule' }, action_ts: '1767268800.000100' }],
    });
    const [updated] = await harness.slack.waitFor('views.update');
    assert.equal(updated!.args['view_id'], 'V1');
    assert.equal(updated!.args['hash'], 'hash-1');
    assert.deepEqual(blockIds(updated!.args), [SET_BLOCK_ID, fieldBlockId('Mailbox'), fieldBlockId('Message'), fieldBlockId('Start')]);
    const update = handler.received.at(-1);
    assert.ok(update?.kind === 'submit' && update.verb === 'update-form');
    assert.deepEqual(update.data, { actionId: 'auto-reply', formId: 'form-slack-1', values: { Mailbox: 'a@contoso.example' }, parameterSet: 'Schedule' });

    // Submitting runs that set.
    const scheduleMetadata = (updated!.args as unknown as ViewArgs).view.private_metadata;
    handler.setScript(() => ({ immediate: { screen: 'notice', text: 'Submitted' } }));
    await harness.interaction(viewSubmission(scheduleMetadata, { [fieldBlockId('Mailbox')]: { type: 'plain_text_input', value: 'a@contoso.example' } }));
    const submitted = handler.received.at(-1);
    assert.ok(submitted?.kind === 'submit' && submitted.verb === 'submit-form');
    assert.equal(submitted.data.parameterSet, 'Schedule');
  });

  it('asks for a query-bound field\'s options as the user types, with the form\'s other values, and learns the locale', async () => {
    const handler = new ChoosingHandler((event) => formFor(QUERY_ACTION, event));
    harness = await startHarness(handler);
    harness.slack.answer('users.info', (args) => ({ ok: true, user: { id: args['user'], team_id: TEAM, locale: 'de-DE' } }));
    await harness.interaction(buttonOnMessage('deputy:open-form', { actionId: 'move-user' }, { ts: '1767225600.000100' }));
    const [opened] = await harness.slack.waitFor('views.open');
    const view = (opened!.args as unknown as ViewArgs).view;
    const user = view.blocks.find((block) => block.block_id === fieldBlockId('User')) as { element: Record<string, unknown> };
    assert.deepEqual(user.element, { type: 'external_select', action_id: CHOICES_ACTION_ID, min_query_length: 0, placeholder: { type: 'plain_text', text: 'Enter User' } });
    assert.equal(handler.received.at(-1)?.user.locale, 'de-DE');

    const response = await harness.interaction({
      type: 'block_suggestion',
      team: { id: TEAM, domain: 'contoso' },
      user: { id: 'U1', username: 'alex', name: 'alex', team_id: TEAM },
      api_app_id: 'A1',
      token: 'legacy-verification-token',
      action_id: CHOICES_ACTION_ID,
      block_id: fieldBlockId('User'),
      value: 'wag',
      container: { type: 'view', view_id: 'V1' },
      view: {
        id: 'V1',
        type: 'modal',
        private_metadata: view.private_metadata,
        state: { values: { [fieldBlockId('Office')]: { [CHOICES_ACTION_ID]: { type: 'external_select', selected_option: { value: 'HAM' } } } } },
      },
    });
    assert.equal(response.status, 200);
    assert.deepEqual(JSON.parse(response.body), {
      options: [
        { text: { type: 'plain_text', text: 'Alex Wagner' }, value: 'awagner' },
        { text: { type: 'plain_text', text: 'Uma Patel' }, value: 'upatel' },
      ],
    });
    assert.deepEqual(handler.asked.at(-1)?.request, { actionId: 'move-user', parameter: 'User', search: 'wag', values: { Office: 'HAM' } });
    assert.equal(handler.asked.at(-1)?.user.locale, 'de-DE');
    // The locale is kept: one users.info for the user, whatever followed.
    assert.equal(harness.slack.callsTo('users.info').length, 1);
  });
});
