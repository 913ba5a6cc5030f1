/** The bot core against a real executor (real pwsh, the bot tests' catalog), through a recording port. */
import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FileConversations } from '../../../bot/store/port.ts';
import { BotCore } from '../../../bot/core/core.ts';
import { ExecutorClient } from '../../../bot/core/executor-client.ts';
import type { ConversationRef, Inbound, Screen } from '../../../bot/core/model.ts';
import { ERRORS } from '../../../executor/contract/index.ts';
import sinon from 'sinon';
import { ManualClock, systemClock } from '../../../lib/clock.ts';
import { silentLogger } from '../../../lib/logger.ts';
import { startTestExecutor, type TestExecutor } from '../../helpers/executor.ts';
import { BOT_TEST_CATALOG } from '../webchat/harness.ts';
import { RecordingPort } from './recording-port.ts';

const user = (persona: string) => ({ identity: { channel: 'webchat' as const, persona } });
const conversation = (id: string, threadId?: string): ConversationRef => ({ channel: 'webchat', conversationId: id, ...(threadId ? { threadId } : {}) });

function message(persona: string, conversationId: string, text = 'help'): Inbound {
  return { kind: 'message', user: user(persona), conversation: conversation(conversationId), text };
}

function submit(persona: string, conversationId: string, verb: Extract<Inbound, { kind: 'submit' }>['verb'], data: Record<string, unknown>, messageId?: string): Inbound {
  return { kind: 'submit', user: user(persona), conversation: conversation(conversationId), verb, data, ...(messageId ? { messageId } : {}) };
}

async function until<T>(what: string, probe: () => T | undefined, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

function screenOf<T extends Screen['screen']>(screen: Screen | undefined, name: T): Extract<Screen, { screen: T }> {
  assert.equal(screen?.screen, name, `expected a ${name} screen, got ${JSON.stringify(screen)?.slice(0, 300)}`);
  return screen as Extract<Screen, { screen: T }>;
}

describe('bot core', function () {
  this.timeout(60_000);
  let executor: TestExecutor;
  let dataDir: string;
  let port: RecordingPort;
  let core: BotCore;

  async function startCore(client = new ExecutorClient({ baseUrl: executor.url, token: executor.token })): Promise<BotCore> {
    const conversations = await FileConversations.open(join(dataDir, 'bot-conversations.json'));
    const started = new BotCore({ executor: client, logger: silentLogger(), clock: systemClock, conversations, edges: [{ channel: 'webchat', port }], eventBackoffMs: { initial: 50, max: 400 } });
    await started.start();
    return started;
  }

  before(async () => {
    executor = await startTestExecutor({ catalog: BOT_TEST_CATALOG });
  });
  after(async () => {
    await executor?.dispose();
  });
  beforeEach(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'deputy-core-test-'));
    port = new RecordingPort();
    core = await startCore();
  });
  afterEach(async () => {
    await core.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('reuses a resolved identity for a short while, asks again after it, and never caches a refusal', async () => {
    const clock = new ManualClock(Date.now());
    const client = new ExecutorClient({ baseUrl: executor.url, token: executor.token });
    const resolve = sinon.spy(client, 'resolveIdentity');
    const conversations = await FileConversations.open(join(dataDir, 'cache-conversations.json'));
    const cached = new BotCore({ executor: client, logger: silentLogger(), clock, conversations, edges: [{ channel: 'webchat', port }], identityCacheMs: 30_000 });
    try {
      await cached.handle(message('alex', 'c-cache'));
      await cached.handle(message('alex', 'c-cache'));
      assert.equal(resolve.callCount, 1, 'the second message reuses the resolution');
      clock.advance(30_001);
      await cached.handle(message('alex', 'c-cache'));
      assert.equal(resolve.callCount, 2, 'asked again once the window passed');
      await cached.handle(message('nobody', 'c-cache-2'));
      await cached.handle(message('nobody', 'c-cache-2'));
      assert.equal(resolve.callCount, 4, 'a refusal is asked again every time');
    } finally {
      await cached.close();
    }
  });

  it('answers an unknown chat user with the one not-enrolled sentence and nothing else', async () => {
    const result = await core.handle(message('nobody', 'c-stranger'));
    assert.deepEqual(result.immediate, { screen: 'notice', text: ERRORS.DEPUTY_E_NOT_ENROLLED.message });
    await core.idle();
    assert.equal(port.messages.length, 0);
    assert.equal(port.files.length, 0);
  });

  it('answers "help" with the actions the principal may run', async () => {
    const list = screenOf((await core.handle(message('alex', 'c-alex', 'help'))).immediate, 'action-list');
    assert.equal(list.principal.id, 'alex');
    assert.deepEqual(list.actions.map((action) => action.id).sort(), ['count', 'echo', 'echo-four-eyes', 'sleep']);
    const rita = screenOf((await core.handle(message('rita', 'c-rita'))).immediate, 'action-list');
    assert.deepEqual(rita.actions, []);
  });

  it('opens a form and, on a validation error, shows it again with the values and the field error', async () => {
    const form = screenOf((await core.handle(submit('alex', 'c-alex', 'open-form', { actionId: 'echo' }, 'card-1'))).immediate, 'action-form');
    assert.deepEqual(form.action.form.fields.map((field) => field.name), ['Message', 'Times']);
    const again = screenOf(
      (await core.handle(submit('alex', 'c-alex', 'submit-form', { actionId: 'echo', 'field.Message': 'keep me', 'field.Times': '9' }, 'card-1'))).immediate,
      'action-form',
    );
    assert.equal(again.values?.Message, 'keep me');
    assert.ok(again.errors?.Times, `an error for Times: ${JSON.stringify(again.errors)}`);
    assert.equal(again.errors?.Message, undefined);
    const runs = await executor.api('/v1/runs?principal=alex').then((response) => response.json() as Promise<{ runs: unknown[] }>);
    assert.equal(runs.runs.length, 0, 'nothing ran');
  });

  it('creates the run, shows its status at once, then updates that message with the summary and notifies the principal the action names', async () => {
    await core.handle(message('bea', 'c-bea'));
    await core.idle();
    const posted = await port.post(conversation('c-alex'), { screen: 'notice', text: 'the form card' });
    const status = (await core.handle(submit('alex', 'c-alex', 'submit-form', { actionId: 'echo', values: { Message: 'core says hi', Times: '2' } }, posted))).immediate;
    assert.ok(status?.screen === 'run-status' || status?.screen === 'run-summary', `status or summary at once, got ${status?.screen}`);
    const runId = status.run.id;
    assert.equal(status.run.inputs.Times, 2, 'card text became the declared type');

    const summary = await until('the summary in place', () => {
      const shown = port.messages.find((candidate) => candidate.id === posted);
      return shown?.screen.screen === 'run-summary' ? shown.screen : undefined;
    });
    assert.equal(summary.run.id, runId);
    assert.equal(summary.run.state, 'succeeded');
    assert.deepEqual(summary.run.summary?.lines, ['core says hi', 'core says hi']);

    const notification = await until('bea’s notification', () => port.in('c-bea').find((shown) => shown.screen.screen === 'run-summary'));
    assert.equal(screenOf(notification.screen, 'run-summary').run.id, runId);
    await core.idle();
    assert.equal(port.in('c-alex').length, 1, 'the requester sees the result on their card, not in a second message');
  });

  it('posts the full output as a file when it is longer than the summary, and again on "show all"', async () => {
    const posted = await port.post(conversation('c-alex', 'thread-7'), { screen: 'notice', text: 'the form card' });
    await core.handle({ ...submit('alex', 'c-alex', 'submit-form', { actionId: 'count', values: { Upto: 60 } }, posted), conversation: conversation('c-alex', 'thread-7') });
    const summary = await until('the summary', () => {
      const shown = port.messages.find((candidate) => candidate.id === posted)?.screen;
      return shown?.screen === 'run-summary' ? shown : undefined;
    });
    assert.equal(summary.canShowAll, true);
    const file = await until('the output file', () => port.files[0]);
    assert.equal(file.threadId, 'thread-7', 'the output goes into the thread');
    assert.equal(file.file.content.split('\n').length, 60);
    assert.match(file.file.content, /^line 1\n[\s\S]*line 60$/);

    const answer = await core.handle(submit('alex', 'c-alex', 'show-output', { runId: summary.run.id }, posted));
    assert.equal(answer.immediate?.screen, 'run-summary');
    await core.idle();
    assert.equal(port.files.length, 2);
  });

  it('cancels a running run for its requester', async () => {
    const posted = await port.post(conversation('c-alex'), { screen: 'notice', text: 'the form card' });
    const status = screenOf((await core.handle(submit('alex', 'c-alex', 'submit-form', { actionId: 'sleep', values: { Seconds: '30' } }, posted))).immediate, 'run-status');
    assert.equal(status.canCancel, true);
    await until('running', () => (port.messages.find((m) => m.id === posted)?.screen.screen === 'run-status' ? true : undefined));
    // The first press asks; only the confirmed one cancels.
    const asked = screenOf((await core.handle(submit('alex', 'c-alex', 'cancel-run', { runId: status.run.id }, posted))).immediate, 'run-status');
    assert.equal(asked.confirmCancel, true);
    assert.equal((await executor.api(`/v1/runs/${status.run.id}?principal=alex`).then((response) => response.json()) as { state: string }).state, 'running');
    const answer = await core.handle(submit('alex', 'c-alex', 'cancel-run', { runId: status.run.id, confirmed: true }, posted));
    const run = await executor.waitForRun(status.run.id);
    assert.equal(run.state, 'cancelled');
    assert.ok(answer.immediate?.screen === 'run-summary' || answer.immediate?.screen === 'run-status');
    await until('the cancelled summary', () => {
      const shown = port.messages.find((m) => m.id === posted)?.screen;
      return shown?.screen === 'run-summary' && shown.run.state === 'cancelled' ? true : undefined;
    });
  });

  it('tells the person a plan names when its scheduled runs were missed', async () => {
    await core.handle(message('alex', 'c-alex-plans'));
    await core.idle();
    executor.events.publish({
      type: 'plan.missed',
      plan: { id: 'nightly-disk-report', tenant: 'hamburg', principalId: 'alex', actionId: 'echo' },
      missed: { count: 3, first: '2026-11-24T01:00:00.000Z', last: '2026-11-24T03:00:00.000Z' },
      notify: ['alex'],
    });
    const notice = await until('the missed-plan notice', () =>
      port.in('c-alex-plans').find((shown) => shown.screen.screen === 'notice' && shown.screen.text.includes('nightly-disk-report')),
    );
    const { text } = screenOf(notice.screen, 'notice');
    assert.match(text, /missed 3 runs due between 2026-11-24T01:00:00.000Z and 2026-11-24T03:00:00.000Z/);
    assert.match(text, /not run late/);
  });

  it('remembers conversations across a restart, so notifications still arrive', async () => {
    await core.handle(message('bea', 'c-bea-before-restart'));
    await core.close();
    core = await startCore();
    const posted = await port.post(conversation('c-alex'), { screen: 'notice', text: 'the form card' });
    await core.handle(submit('alex', 'c-alex', 'submit-form', { actionId: 'echo', values: { Message: 'after restart' } }, posted));
    const notification = await until('bea’s notification', () => port.in('c-bea-before-restart').find((shown) => shown.screen.screen === 'run-summary'));
    assert.equal(screenOf(notification.screen, 'run-summary').run.inputs.Message, 'after restart');
  });

  it('updates an approver\'s card with the outcome even when the bot restarted in between', async () => {
    await core.handle(message('cyra', 'c-cyra-approver'));
    await core.idle();
    const { id: runId } = (await (
      await executor.api('/v1/runs', { method: 'POST', json: { actionId: 'echo-four-eyes', principalId: 'alex', inputs: { Message: 'approve me' } } })
    ).json()) as { id: string };
    const card = await until('cyra’s approval card', () =>
      port.in('c-cyra-approver').find((shown) => shown.screen.screen === 'approval-request' && shown.screen.run.id === runId),
    );
    await core.close();
    core = await startCore();
    const decided = await executor.api(`/v1/runs/${runId}/decision`, { method: 'POST', json: { principalId: 'cyra', decision: 'approve' } });
    assert.equal(decided.status, 200);
    const updated = await until('the card showing the outcome', () => {
      const screen = card.screen;
      return card.updates > 0 && screen.screen === 'approval-request' && screen.run.state !== 'awaiting-approval' ? screen : undefined;
    });
    assert.equal(updated.viewerMayDecide, false);
  });

  it('answers with an error card (registry message and correlation id) when the executor is unreachable', async () => {
    const offline = new BotCore({
      executor: new ExecutorClient({ baseUrl: 'http://127.0.0.1:9', token: executor.token, timeoutMs: 2000 }),
      logger: silentLogger(),
      clock: systemClock,
      conversations: await FileConversations.open(join(dataDir, 'offline.json')),
      edges: [{ channel: 'webchat', port }],
    });
    const answer = screenOf((await offline.handle(message('alex', 'c-alex'))).immediate, 'error');
    assert.equal(answer.message, ERRORS.DEPUTY_E_EXECUTOR_UNREACHABLE.message);
    assert.match(answer.correlationId, /^[0-9a-f-]{36}$/);
    await offline.close();
  });

  it('refuses card data that does not fit the verb with a bad-request card', async () => {
    const answer = screenOf((await core.handle(submit('alex', 'c-alex', 'cancel-run', { runId: 42 }))).immediate, 'error');
    assert.equal(answer.message, ERRORS.DEPUTY_E_BAD_REQUEST.message);
  });

  it('gives a home overview: actions, own runs, and runs waiting for this approver', async () => {
    const posted = await port.post(conversation('c-alex'), { screen: 'notice', text: 'the form card' });
    const waiting = screenOf(
      (await core.handle(submit('alex', 'c-alex', 'submit-form', { actionId: 'echo-four-eyes', values: { Message: 'approve me' } }, posted))).immediate,
      'approval-request',
    );
    assert.equal(waiting.viewerMayDecide, false, 'the requester may not decide');
    const alex = await core.home(user('alex'));
    assert.ok(alex?.actions.some((action) => action.id === 'echo'));
    assert.equal(alex?.recentRuns[0]?.id, waiting.run.id);
    assert.deepEqual(alex?.pendingApprovals, []);
    const cyra = await core.home(user('cyra'));
    assert.ok(cyra?.pendingApprovals.some((run) => run.id === waiting.run.id));
    assert.equal(await core.home(user('nobody')), undefined);
  });
});
