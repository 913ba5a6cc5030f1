import { normalizeFormValues } from '../../../cards/form-values.ts';
import assert from 'node:assert/strict';
import sinon from 'sinon';
import { ERRORS } from '../../../executor/contract/index.ts';
import type { Inbound } from '../../../bot/core/model.ts';
import { SLACK_LIMITS } from '../../../bot/slack/blocks.ts';
import { alex, carla, oooAction, run, ScriptedHandler } from './fixtures.ts';
import { buttonOnMessage, SIGNING_SECRET, slackSignature, slashCommand, startHarness, viewSubmission, type Harness } from './harness.ts';

type Block = { type: string; block_id?: string; element?: { type: string; initial_value?: string; multiline?: boolean }; text?: { text: string }; elements?: Array<{ action_id?: string; text?: unknown }>; accessory?: { action_id?: string; value?: string } };

function blocksOf(args: Record<string, unknown>): Block[] {
  const view = args['view'] as { blocks?: Block[] } | undefined;
  return (view?.blocks ?? (args['blocks'] as Block[] | undefined) ?? []);
}

function submitted(handler: ScriptedHandler): Extract<Inbound, { kind: 'submit' }> {
  const event = handler.received.at(-1);
  assert.ok(event && event.kind === 'submit');
  return event;
}

describe('Slack edge (Bolt on restify, fake Slack Web API)', function () {
  let harness: Harness | undefined;
  afterEach(async () => {
    await harness?.close();
    harness = undefined;
  });

  describe('request verification', () => {
    it('refuses a forged signature with 401 before anything reaches the core or Slack', async () => {
      const handler = new ScriptedHandler(() => ({ immediate: { screen: 'action-list', principal: alex, actions: [oooAction] } }));
      const spy = sinon.spy(handler, 'handle');
      harness = await startHarness(handler);
      const body = new URLSearchParams(slashCommand('')).toString();
      const forged = await harness.send(body, 'application/x-www-form-urlencoded', { secret: 'not-the-secret' });
      assert.equal(forged.status, 401);
      await new Promise((resolve) => setTimeout(resolve, 100));
      assert.equal(spy.callCount, 0);
      assert.deepEqual(harness.slack.workCalls(), []);
    });

    it('refuses a correctly signed request older than 5 minutes (injected clock) and accepts one just inside', async () => {
      const handler = new ScriptedHandler(() => ({}));
      const spy = sinon.spy(handler, 'handle');
      harness = await startHarness(handler);
      const now = Math.floor(harness.clock.now() / 1000);
      const body = new URLSearchParams(slashCommand('')).toString();
      const stale = await harness.send(body, 'application/x-www-form-urlencoded', { timestampSec: now - 301 });
      assert.equal(stale.status, 401);
      assert.equal(spy.callCount, 0);
      assert.deepEqual(harness.slack.workCalls(), []);

      const fresh = await harness.send(body, 'application/x-www-form-urlencoded', { timestampSec: now - 290 });
      assert.equal(fresh.status, 200);
      await new Promise((resolve) => setTimeout(resolve, 50));
      assert.equal(spy.callCount, 1);
    });

    it('refuses a request with no signature headers, and a body changed after signing', async () => {
      const handler = new ScriptedHandler(() => ({}));
      const spy = sinon.spy(handler, 'handle');
      harness = await startHarness(handler);
      const unsigned = await fetch(harness.url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"type":"url_verification","challenge":"x"}' });
      assert.equal(unsigned.status, 401);
      const body = new URLSearchParams(slashCommand('')).toString();
      const timestampSec = Math.floor(harness.clock.now() / 1000);
      const tampered = await fetch(harness.url, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-slack-request-timestamp': String(timestampSec), 'x-slack-signature': slackSignature(SIGNING_SECRET, timestampSec, body) },
        body: body.replace('user_id=U1', 'user_id=U2'),
      });
      assert.equal(tampered.status, 401);
      assert.equal(spy.callCount, 0);
      assert.deepEqual(harness.slack.workCalls(), []);
    });

    it('answers url_verification with the challenge once the signature is valid', async () => {
      harness = await startHarness(new ScriptedHandler(() => ({})));
      const answer = await harness.send(JSON.stringify({ type: 'url_verification', token: 't', challenge: 'c-123' }), 'application/json');
      assert.equal(answer.status, 200);
      assert.deepEqual(JSON.parse(answer.body), { challenge: 'c-123' });
    });
  });

  describe('slash command', () => {
    it('acks at once while a slow core keeps working, then opens a loading modal and updates it', async () => {
      let release: () => void = () => undefined;
      const gate = new Promise<void>((resolve) => (release = resolve));
      const handler = new ScriptedHandler(async () => {
        await gate;
        return { immediate: { screen: 'action-list', principal: alex, actions: [oooAction] } };
      });
      harness = await startHarness(handler, { modalDeadlineMs: 100 });
      const fields = slashCommand('');
      const ack = await harness.command(fields);
      assert.equal(ack.status, 200);
      assert.ok(ack.ms < 1000, `ack took ${ack.ms} ms`);
      assert.equal(handler.received.length, 1, 'the core already has the work');

      const [opened] = await harness.slack.waitFor('views.open');
      assert.equal(opened!.args['trigger_id'], fields['trigger_id']);
      assert.match(JSON.stringify(blocksOf(opened!.args)), /loading/);
      release();
      const [updated] = await harness.slack.waitFor('views.update');
      assert.equal(updated!.args['view_id'], (opened!.response['view'] as { id: string }).id);
      assert.match(JSON.stringify(blocksOf(updated!.args)), /Set an out-of-office reply/);
    });

    it('opens the form modal with the trigger, each field kind as its Block Kit element', async () => {
      const handler = new ScriptedHandler(() => ({ immediate: { screen: 'action-form', formId: 'form-1', action: oooAction } }));
      harness = await startHarness(handler);
      const fields = slashCommand('set-ooo');
      assert.equal((await harness.command(fields)).status, 200);
      const [opened] = await harness.slack.waitFor('views.open');
      assert.equal(opened!.args['trigger_id'], fields['trigger_id']);
      const view = opened!.args['view'] as { callback_id: string; private_metadata: string; submit: { text: string } };
      assert.equal(view.callback_id, 'deputy:form');
      const byBlock = Object.fromEntries(blocksOf(opened!.args).filter((block) => block.type === 'input').map((block) => [block.block_id, block.element]));
      assert.equal(byBlock['field:Mailbox']?.type, 'plain_text_input');
      assert.equal(byBlock['field:Mode']?.type, 'static_select');
      assert.equal(byBlock['field:Notify']?.type, 'checkboxes');
      assert.equal(byBlock['field:Days']?.type, 'number_input');
      assert.equal(byBlock['field:Until']?.type, 'datepicker');
      assert.equal(byBlock['field:Cc']?.type, 'plain_text_input');
      assert.equal(byBlock['field:Cc']?.multiline, true);
      assert.equal(byBlock['field:Channels']?.type, 'multi_static_select');
      assert.equal(byBlock['field:Password']?.type, 'plain_text_input');
      assert.equal(byBlock['field:Password']?.initial_value, undefined);
      const inbound = handler.received[0];
      assert.ok(inbound?.kind === 'message');
      assert.equal(inbound.text, 'set-ooo');
      assert.deepEqual(inbound.user.identity, { channel: 'slack', teamId: 'T1', userId: 'U1' });
      assert.equal(inbound.conversation.conversationId, 'C1');
    });

    it('gives an unknown user one ephemeral sentence and nothing else', async () => {
      const handler = new ScriptedHandler(() => ({ immediate: { screen: 'notice', text: ERRORS.DEPUTY_E_NOT_ENROLLED.message } }));
      harness = await startHarness(handler);
      const ack = await harness.command(slashCommand('', 'U404'));
      assert.equal(ack.status, 200);
      assert.equal(ack.body, '', 'the ack itself shows nothing in the channel');
      const [ephemeral] = await harness.slack.waitFor('chat.postEphemeral');
      assert.equal(ephemeral!.args['user'], 'U404');
      assert.equal(ephemeral!.args['channel'], 'C1');
      assert.equal(ephemeral!.args['text'], ERRORS.DEPUTY_E_NOT_ENROLLED.message);
      await new Promise((resolve) => setTimeout(resolve, 100));
      assert.deepEqual(harness.slack.workCalls().map((call) => call.method), ['chat.postEphemeral']);
    });
  });

  describe('form submission', () => {
    const metadata = JSON.stringify({
      conversation: { channel: 'slack', conversationId: 'C1', threadId: '1767225600.000777', platform: { teamId: 'T1', userId: 'U1', channelId: 'C1' } },
      actionId: 'set-ooo',
      fields: Object.fromEntries(oooAction.form.fields.map((field) => [field.name, field.kind])),
    });
    const state = {
      'field:Mailbox': { value: { type: 'plain_text_input', value: 'kim@fabrikam.com' } },
      'field:Mode': { value: { type: 'static_select', selected_option: { text: { type: 'plain_text', text: 'Both' }, value: 'Both' } } },
      'field:Notify': { value: { type: 'checkboxes', selected_options: [{ text: { type: 'plain_text', text: 'Notify' }, value: 'true' }] } },
      'field:Days': { value: { type: 'number_input', value: '5' } },
      'field:Until': { value: { type: 'datepicker', selected_date: '2026-02-01' } },
      'field:Cc': { value: { type: 'plain_text_input', value: 'a@contoso.com\n\nb@contoso.com' } },
      'field:Channels': { value: { type: 'multi_static_select', selected_options: [{ text: { type: 'plain_text', text: 'Mail' }, value: 'Mail' }] } },
      'field:Password': { value: { type: 'plain_text_input', value: 's3cret' } },
    };
    const stateValues = Object.fromEntries(Object.entries(state).map(([block, element]) => [block, element.value]));

    it('answers a bad value with response_action errors on that field, and reads every kind back', async () => {
      const handler = new ScriptedHandler((event) => {
        const values = event.kind === 'submit' ? (event.data['values'] as Record<string, unknown>) : {};
        return { immediate: { screen: 'action-form', formId: 'form-1', action: oooAction, values, errors: { Mailbox: 'Must be a contoso.com address.' } } };
      });
      harness = await startHarness(handler);
      const answer = await harness.interaction(viewSubmission(metadata, stateValues));
      assert.equal(answer.status, 200);
      assert.deepEqual(JSON.parse(answer.body), { response_action: 'errors', errors: { 'field:Mailbox': 'Must be a contoso.com address.' } });
      const event = submitted(handler);
      assert.equal(event.verb, 'submit-form');
      // The edge takes Slack's shape apart; the one shared conversion gives the form's types.
      assert.deepEqual(event.data, {
        actionId: 'set-ooo',
        values: { Mailbox: 'kim@fabrikam.com', Mode: 'Both', Notify: true, Days: '5', Until: '2026-02-01', Cc: 'a@contoso.com\n\nb@contoso.com', Channels: ['Mail'], Password: 's3cret' },
      });
      assert.deepEqual(normalizeFormValues(oooAction.form, event.data.values as Record<string, unknown>), {
        Mailbox: 'kim@fabrikam.com', Mode: 'Both', Notify: true, Days: 5, Until: '2026-02-01', Cc: ['a@contoso.com', 'b@contoso.com'], Channels: ['Mail'], Password: 's3cret',
      });
      assert.equal(event.conversation.threadId, '1767225600.000777');
      assert.deepEqual(harness.slack.workCalls(), [], 'Slack keeps the typed values; nothing else is sent');
    });

    it('shows a form-wide error in the modal with the values kept and the secret not echoed', async () => {
      const handler = new ScriptedHandler(() => ({
        immediate: { screen: 'action-form', formId: 'form-1', action: oooAction, values: { Mailbox: 'kim@contoso.com', Password: 's3cret' }, errors: { _form: 'The mailbox is on hold.' } },
      }));
      harness = await startHarness(handler);
      const answer = await harness.interaction(viewSubmission(metadata, stateValues));
      const body = JSON.parse(answer.body) as { response_action: string; view: { blocks: Block[] } };
      assert.equal(body.response_action, 'update');
      assert.match(JSON.stringify(body.view.blocks), /The mailbox is on hold/);
      const mailbox = body.view.blocks.find((block) => block.block_id === 'field:Mailbox');
      assert.equal(mailbox?.element?.initial_value, 'kim@contoso.com');
      assert.doesNotMatch(answer.body, /s3cret/);
    });

    it('on success posts the status in the request thread, then updates it in place to the summary', async () => {
      let edgeHarness: Harness | undefined;
      const handler = new ScriptedHandler((event) => {
        // As the core does for a modal: post the status itself, follow the run, update in place.
        void (async () => {
          const port = edgeHarness!.edge.port;
          const ts = await port.post(event.conversation, { screen: 'run-status', run: run({ state: 'running' }), canCancel: true });
          await port.update(event.conversation, ts, { screen: 'run-summary', run: run({ state: 'succeeded', durationMs: 1200, summary: { lines: ['Reply set for kim'], errors: [], warnings: [], outputLineCount: 1, truncated: false, exitCode: 0 } }), canShowAll: false });
        })();
        return { immediate: { screen: 'notice', text: 'Submitted "Set an out-of-office reply". Its progress and result follow in this conversation.' } };
      });
      harness = edgeHarness = await startHarness(handler);
      const answer = await harness.interaction(viewSubmission(metadata, stateValues));
      assert.equal(answer.status, 200);
      assert.equal((JSON.parse(answer.body) as { response_action: string }).response_action, 'update');

      const [status] = await harness.slack.waitFor('chat.postMessage');
      assert.equal(status!.args['channel'], 'C1');
      assert.equal(status!.args['thread_ts'], '1767225600.000777');
      const statusBlocks = JSON.stringify(blocksOf(status!.args));
      assert.match(statusBlocks, /Running/);
      assert.match(statusBlocks, /deputy:cancel-run/);
      assert.doesNotMatch(statusBlocks, /s3cret/);

      const [update] = await harness.slack.waitFor('chat.update');
      assert.equal(update!.args['ts'], status!.response['ts']);
      assert.equal(update!.args['channel'], 'C1');
      const summary = JSON.stringify(blocksOf(update!.args));
      assert.match(summary, /Succeeded/);
      assert.match(summary, /Reply set for kim/);
      assert.doesNotMatch(summary, /deputy:cancel-run/);
    });

    it('acks within the budget even when the core is slow, and says so in the modal', async () => {
      const handler = new ScriptedHandler(() => new Promise((resolve) => setTimeout(() => resolve({}), 800)));
      harness = await startHarness(handler, { submitBudgetMs: 150 });
      const answer = await harness.interaction(viewSubmission(metadata, stateValues));
      assert.ok(answer.ms < 700, `ack took ${answer.ms} ms`);
      assert.match(answer.body, /Submitted/);
    });
  });

  it('uploads long output as a file in the run thread (getUploadURLExternal → upload → completeUploadExternal)', async () => {
    harness = await startHarness(new ScriptedHandler(() => ({})));
    const lines = Array.from({ length: 400 }, (_, index) => `line ${index + 1}: mailbox item processed`);
    const conversation = { channel: 'slack' as const, conversationId: 'C1', threadId: '1767225600.000555', platform: { teamId: 'T1', userId: 'U1' } };
    await harness.edge.port.post(conversation, {
      screen: 'run-summary',
      run: run({ state: 'succeeded', summary: { lines, errors: [], warnings: [], outputLineCount: 400, truncated: false, exitCode: 0 } }),
      canShowAll: true,
    });
    const [message] = harness.slack.callsTo('chat.postMessage');
    assert.ok(JSON.stringify(blocksOf(message!.args)).length < 12_000);
    assert.match(JSON.stringify(blocksOf(message!.args)), /line 1:/);
    const [urlCall] = harness.slack.callsTo('files.getUploadURLExternal');
    assert.equal(urlCall!.args['filename'], 'run_1-output.txt');
    assert.equal(harness.slack.uploads.length, 1);
    assert.match(harness.slack.uploads[0]!.body, /line 400: mailbox item processed/);
    const [complete] = harness.slack.callsTo('files.completeUploadExternal');
    assert.equal(complete!.args['channel_id'], 'C1');
    assert.equal(complete!.args['thread_ts'], '1767225600.000555');
  });

  it('keeps a message within 50 blocks and attaches the rest', async () => {
    harness = await startHarness(new ScriptedHandler(() => ({})));
    const actions = Array.from({ length: 70 }, (_, index) => ({ ...oooAction, id: `a${index}`, title: `Action number ${index}` }));
    await harness.edge.port.post({ channel: 'slack', conversationId: 'C1' }, { screen: 'action-list', principal: alex, actions });
    const [message] = harness.slack.callsTo('chat.postMessage');
    assert.equal(blocksOf(message!.args).length, SLACK_LIMITS.messageBlocks);
    assert.match(harness.slack.uploads[0]!.body, /Action number 69/);
  });

  it('answers a mention with the action list in the thread of the mention', async () => {
    const handler = new ScriptedHandler(() => ({ immediate: { screen: 'action-list', principal: alex, actions: [oooAction] } }));
    harness = await startHarness(handler);
    const ack = await harness.event({ type: 'app_mention', user: 'U1', text: '<@UBOT> help', ts: '1767225600.000100', channel: 'C1', event_ts: '1767225600.000100' });
    assert.equal(ack.status, 200);
    const [posted] = await harness.slack.waitFor('chat.postMessage');
    assert.equal(posted!.args['thread_ts'], '1767225600.000100');
    assert.match(JSON.stringify(blocksOf(posted!.args)), /deputy:open-form/);
    const inbound = handler.received[0];
    assert.ok(inbound?.kind === 'message');
    assert.equal(inbound.text, 'help');
  });

  it('answers a direct message in the DM', async () => {
    const handler = new ScriptedHandler(() => ({ immediate: { screen: 'action-list', principal: alex, actions: [oooAction] } }));
    harness = await startHarness(handler);
    await harness.event({ type: 'message', channel_type: 'im', user: 'U1', text: 'hi', ts: '1767225600.000200', channel: 'D1', event_ts: '1767225600.000200' });
    const [posted] = await harness.slack.waitFor('chat.postMessage');
    assert.equal(posted!.args['channel'], 'D1');
  });

  it('ignores the bot\'s own messages', async () => {
    const handler = new ScriptedHandler(() => ({ immediate: { screen: 'notice', text: 'x' } }));
    harness = await startHarness(handler);
    await harness.event({ type: 'message', channel_type: 'im', user: 'UBOT', bot_id: 'BBOT', text: 'hi', ts: '1767225600.000300', channel: 'D1', event_ts: '1767225600.000300' });
    await new Promise((resolve) => setTimeout(resolve, 150));
    assert.equal(handler.received.length, 0);
  });

  it('turns the Cancel button into a cancel-run submit and updates the status message in place', async () => {
    const handler = new ScriptedHandler(() => ({ immediate: { screen: 'run-summary', run: run({ state: 'cancelled' }), canShowAll: false } }));
    harness = await startHarness(handler);
    const ack = await harness.interaction(buttonOnMessage('deputy:cancel-run', { runId: 'run_1' }, { ts: '1767225600.000900', thread_ts: '1767225600.000777' }));
    assert.equal(ack.status, 200);
    const [update] = await harness.slack.waitFor('chat.update');
    assert.equal(update!.args['ts'], '1767225600.000900');
    assert.match(JSON.stringify(blocksOf(update!.args)), /Cancelled/);
    const event = submitted(handler);
    assert.equal(event.verb, 'cancel-run');
    assert.deepEqual(event.data, { runId: 'run_1' });
    assert.equal(event.messageId, '1767225600.000900');
    assert.equal(event.conversation.threadId, '1767225600.000777');
  });

  it('opens the form from a Run button with that button\'s trigger', async () => {
    const handler = new ScriptedHandler(() => ({ immediate: { screen: 'action-form', formId: 'form-1', action: oooAction } }));
    harness = await startHarness(handler);
    const payload = buttonOnMessage('deputy:open-form', { actionId: 'set-ooo' }, { ts: '1767225600.000100' });
    await harness.interaction(payload);
    const [opened] = await harness.slack.waitFor('views.open');
    assert.equal(opened!.args['trigger_id'], payload['trigger_id']);
    const metadata = JSON.parse((opened!.args['view'] as { private_metadata: string }).private_metadata) as { conversation: { threadId: string } };
    assert.equal(metadata.conversation.threadId, '1767225600.000100', 'the run will go to the thread the list was in');
  });

  describe('App Home', () => {
    it('publishes the user\'s actions and recent runs', async () => {
      const handler = new ScriptedHandler(() => ({}));
      handler.homes['U1'] = { principal: alex, actions: [oooAction], recentRuns: [run({ state: 'succeeded' })], pendingApprovals: [] };
      harness = await startHarness(handler);
      await harness.event({ type: 'app_home_opened', user: 'U1', channel: 'D1', tab: 'home', event_ts: '1767225600.000100' });
      const [published] = await harness.slack.waitFor('views.publish');
      assert.equal(published!.args['user_id'], 'U1');
      const blocks = blocksOf(published!.args);
      assert.ok(blocks.length <= SLACK_LIMITS.viewBlocks);
      const text = JSON.stringify(blocks);
      assert.match(text, /Set an out-of-office reply/);
      assert.match(text, /deputy:open-form/);
      assert.match(text, /Succeeded/);
      assert.doesNotMatch(text, /Waiting for your decision/);
    });

    it('shows an approver the runs waiting for their decision, with Approve and Reject', async () => {
      const handler = new ScriptedHandler(() => ({}));
      handler.homes['U7'] = { principal: carla, actions: [], recentRuns: [], pendingApprovals: [run({ id: 'run_9', state: 'awaiting-approval' })] };
      harness = await startHarness(handler);
      await harness.event({ type: 'app_home_opened', user: 'U7', channel: 'D7', tab: 'home', event_ts: '1767225600.000100' });
      const [published] = await harness.slack.waitFor('views.publish');
      const text = JSON.stringify(blocksOf(published!.args));
      assert.match(text, /Waiting for your decision \(1\)/);
      assert.match(text, /\\"decision\\":\\"approve\\"/);
      assert.match(text, /run_9/);
    });

    it('tells someone not enrolled so in the Home tab', async () => {
      harness = await startHarness(new ScriptedHandler(() => ({})));
      await harness.event({ type: 'app_home_opened', user: 'U404', channel: 'D4', tab: 'home', event_ts: '1767225600.000100' });
      const [published] = await harness.slack.waitFor('views.publish');
      assert.match(JSON.stringify(blocksOf(published!.args)), /not enrolled/);
    });
  });

  it('delivers a notification about a run from elsewhere by DM (conversations.open + chat.postMessage)', async () => {
    harness = await startHarness(new ScriptedHandler(() => ({})));
    const lastConversation = { channel: 'slack' as const, conversationId: 'C5', platform: { teamId: 'T1', userId: 'U1', channelId: 'C5' } };
    await harness.edge.port.post(lastConversation, { screen: 'run-summary', run: run({ state: 'succeeded', origin: { kind: 'schedule' } }), canShowAll: false });
    const [open] = harness.slack.callsTo('conversations.open');
    assert.equal(open!.args['users'], 'U1');
    const [posted] = harness.slack.callsTo('chat.postMessage');
    assert.equal(posted!.args['channel'], 'D1');
  });

  it('answers by DM when the bot is not in the channel where the command was typed', async () => {
    harness = await startHarness(new ScriptedHandler(() => ({})));
    harness.slack.answer('chat.postMessage', (args) => (args['channel'] === 'C9' ? { ok: false, error: 'not_in_channel' } : { ok: true, channel: args['channel'], ts: '1767225600.000001' }));
    const ts = await harness.edge.port.post({ channel: 'slack', conversationId: 'C9', platform: { teamId: 'T1', userId: 'U1' } }, { screen: 'run-status', run: run({ origin: { kind: 'slack', conversationId: 'C9' } }), canCancel: true });
    assert.equal(ts, '1767225600.000001');
    assert.deepEqual(harness.slack.callsTo('chat.postMessage').map((call) => call.args['channel']), ['C9', 'D1']);
  });
});
