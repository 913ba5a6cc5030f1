/**
 * Target systems in chat: the bot core against a real executor whose actions run on two real
 * sshd daemons. The target field is in the form of every edge (Adaptive Cards for Teams and the
 * web chat, a Block Kit modal for Slack), its choice becomes the run's target, and the target is
 * on the approval card and the summary (one line per target for a run on several).
 */
import { strict as assert } from 'node:assert';
import { join } from 'node:path';
import { FileConversations } from '../../../bot/store/port.ts';
import { BotCore } from '../../../bot/core/core.ts';
import { ExecutorClient } from '../../../bot/core/executor-client.ts';
import type { ConversationRef, Inbound, Screen } from '../../../bot/core/model.ts';
import { renderMessage } from '../../../bot/slack/blocks.ts';
import { fieldBlockId, renderFormModal } from '../../../bot/slack/form.ts';
import { formInputId } from '../../../cards/form.ts';
import { renderCard } from '../../../cards/render.ts';
import { TARGET_FIELD, isFinalRunState } from '../../../executor/contract/index.ts';
import { systemClock } from '../../../lib/clock.ts';
import { silentLogger } from '../../../lib/logger.ts';
import { startTestExecutor, type TestExecutor } from '../../helpers/executor.ts';
import { startTargetFleet, type TargetFleet } from '../../helpers/targets.ts';
import { textOf } from '../../cards/walk.ts';
import { RecordingPort } from './recording-port.ts';

const conversation: ConversationRef = { channel: 'webchat', conversationId: 'c-targets' };
const submit = (persona: string, verb: Extract<Inbound, { kind: 'submit' }>['verb'], data: Record<string, unknown>, messageId?: string): Inbound => ({
  kind: 'submit',
  user: { identity: { channel: 'webchat', persona } },
  conversation,
  verb,
  data,
  ...(messageId ? { messageId } : {}),
});

function screenOf<T extends Screen['screen']>(screen: Screen | undefined, name: T): Extract<Screen, { screen: T }> {
  assert.equal(screen?.screen, name, `expected a ${name} screen, got ${JSON.stringify(screen)?.slice(0, 300)}`);
  return screen as Extract<Screen, { screen: T }>;
}

const cardText = (screen: Screen): string => JSON.stringify(renderCard(screen, { actionStyle: 'execute' }));

describe('bot core: actions on target systems', function () {
  this.timeout(180_000);
  let fleet: TargetFleet;
  let executor: TestExecutor;
  let port: RecordingPort;
  let core: BotCore;

  before(async () => {
    fleet = await startTargetFleet(systemClock);
    executor = await startTestExecutor({ catalog: fleet.folder, dataDir: fleet.dataDir });
    port = new RecordingPort();
    const conversations = await FileConversations.open(join(fleet.dataDir, 'bot-conversations.json'));
    core = new BotCore({ executor: new ExecutorClient({ baseUrl: executor.url, token: executor.token }), logger: silentLogger(), clock: systemClock, conversations, edges: [{ channel: 'webchat', port }] });
    await core.start();
  });

  after(async () => {
    await core?.close();
    await executor?.close();
    await fleet?.cleanup();
  });

  it('shows the target field in every edge\'s form, with the targets this person may use', async () => {
    const form = screenOf((await core.handle(submit('alex', 'open-form', { actionId: 'greet-web' }))).immediate, 'action-form');
    const card = cardText(form);
    assert.ok(card.includes(`"id":"${formInputId(TARGET_FIELD)}"`), 'the Adaptive Card has the target input');
    for (const id of ['web-01', 'web-02']) assert.ok(card.includes(`"value":"${id}"`), `${id} is a choice`);
    assert.ok(!card.includes('munich-01'), 'a target sideways is no choice');
    const modal = JSON.stringify(renderFormModal(form.action, '{}'));
    assert.ok(modal.includes(`"block_id":"${fieldBlockId(TARGET_FIELD)}"`), 'the Slack modal has the target input');
  });

  it('runs on the targets chosen in the card and shows one line per target in the summary', async () => {
    const posted = await port.post(conversation, { screen: 'notice', text: 'the form card' });
    const status = (await core.handle(submit('alex', 'submit-form', { actionId: 'greet-web', [formInputId(TARGET_FIELD)]: 'web-01,web-02', [formInputId('Greeting')]: 'ahoy' }, posted))).immediate;
    assert.ok(status?.screen === 'run-status' || status?.screen === 'run-summary', JSON.stringify(status));
    assert.deepEqual(status.run.targets?.map((target) => target.id), ['web-01', 'web-02']);
    assert.deepEqual(status.run.inputs, { Greeting: 'ahoy' }, 'the target is no script input');
    assert.match(cardText(status), /Targets \(2\)/);

    const deadline = Date.now() + 90_000;
    let shown = port.messages.find((message) => message.id === posted)?.screen;
    while (!(shown?.screen === 'run-summary' && isFinalRunState(shown.run.state)) && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      shown = port.messages.find((message) => message.id === posted)?.screen;
    }
    const summary = screenOf(shown, 'run-summary');
    assert.equal(summary.run.state, 'succeeded', JSON.stringify(summary.run));
    // One fact per target (the target's id, then how it went there, as plain text).
    const card = textOf(renderCard(summary, { actionStyle: 'execute' }));
    assert.match(card, /^web-01: ✔ Succeeded: ahoy from pid \d+$/m);
    assert.match(card, /^web-02: ✔ Succeeded: ahoy from pid \d+$/m);
    const slack = JSON.stringify(renderMessage(summary).blocks);
    assert.match(slack, /web-01 ✔ Succeeded: ahoy from pid \d+/);
  });

  it('puts the target on the approval card', async () => {
    const posted = await port.post(conversation, { screen: 'notice', text: 'the form card' });
    const request = screenOf(
      (await core.handle(submit('alex', 'submit-form', { actionId: 'greet-careful', values: { [TARGET_FIELD]: ['web-02'] } }, posted))).immediate,
      'approval-request',
    );
    assert.equal(request.run.target, 'web-02');
    assert.match(textOf(renderCard(request, { actionStyle: 'execute' })), /^Target: Machine web-02 \(web-02\)$/m);
    assert.match(JSON.stringify(renderMessage(request).blocks), /Target: Machine web-02 \(web-02\)/);
    await core.handle(submit('alex', 'cancel-run', { runId: request.run.id }));
  });
});
