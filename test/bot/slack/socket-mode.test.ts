/**
 * The Slack edge in Socket Mode, end to end: Bolt's real `SocketModeReceiver` (its
 * SocketModeClient, undici WebSocket and WebClient) against Slack's side faked on loopback:
 * the fake Web API answers `apps.connections.open` for an app-level token with a one-time
 * `ws://` URL, and `FakeSocketModeEndpoint` (a `ws` server) sends `hello`, then envelopes as
 * Slack sends them, and records the client's acks.
 *
 * The edge-only checks (connecting, closing) use a stand-in core; what users see runs through
 * the real bot server (`startBot` + the Slack plugin), the real core and a real executor.
 */
import assert from 'node:assert/strict';
import { createHook } from 'node:async_hooks';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';
import { ERRORS } from '../../../executor/contract/index.ts';
import { loadBotConfig } from '../../../bot/config.ts';
import { startBot, type RunningBot } from '../../../bot/server.ts';
import { createSlackEdge, type SlackEdge } from '../../../bot/slack/edge.ts';
import { slackEdgePlugin } from '../../../bot/slack/plugin.ts';
import { systemClock } from '../../../lib/clock.ts';
import { silentLogger } from '../../../lib/logger.ts';
import { startTestExecutor, type TestExecutor } from '../../helpers/executor.ts';
import { BOT_TEST_CATALOG } from '../webchat/harness.ts';
import { ModalViewSchema, blocksActions, blocksText, elementState, inputBlocks, type ModalView } from './block-kit.ts';
import { alex, oooAction, ScriptedHandler } from './fixtures.ts';
import { FakeSlackApi, FakeSocketModeEndpoint, type RecordedCall } from './fake-slack.ts';
import { SIGNING_SECRET, buttonInModal, signedSlackClient, slashCommand, viewSubmission } from './harness.ts';

const APP_TOKEN = 'xapp-1-A1-socket-mode-test';
const BOT_TOKEN = 'xoxb-socket-mode-test';

const ViewOpenSchema = z.object({ trigger_id: z.string(), view: ModalViewSchema });
const ViewUpdateSchema = z.object({ view_id: z.string(), view: ModalViewSchema });
const ViewAnsweredSchema = z.object({ view: z.object({ id: z.string(), hash: z.string() }) });

/** Sockets and servers that keep Node's event loop alive (what would keep mocha from exiting). */
function liveHandles(): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const kind of process.getActiveResourcesInfo()) {
    if (kind === 'TCPSocketWrap' || kind === 'TCPServerWrap') counts[kind] = (counts[kind] ?? 0) + 1;
  }
  return counts;
}

/**
 * Timers created while `watch` runs that are still pending afterwards, by where they were made.
 * Counting `Timeout`s in getActiveResourcesInfo() is not exact on Node 24 (a timer whose
 * callback is settling still counts), so each timer is followed from creation to destruction.
 */
function timerWatch(): { stop: () => void; pending: () => string[] } {
  const pending = new Map<number, string>();
  const hook = createHook({
    init(id, type) {
      if (type === 'Timeout') pending.set(id, new Error().stack ?? '');
    },
    destroy(id) {
      pending.delete(id);
    },
  }).enable();
  // The frame that called setTimeout: mocha's own test timer and this file's polling are not the edge's.
  const creator = (stack: string) => {
    const frames = stack.split('\n');
    const at = frames.findIndex((frame) => frame.includes('(node:timers:'));
    return frames[at + 1] ?? '';
  };
  const ours = (frame: string) => frame.includes('node_modules/mocha/') || frame.includes('socket-mode.test.ts');
  return {
    stop: () => hook.disable(),
    pending: () => [...pending.values()].map(creator).filter((frame) => !ours(frame)),
  };
}

async function waitUntil(condition: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  return true;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('Slack edge in Socket Mode (Bolt SocketModeReceiver, fake Socket Mode endpoint on loopback)', function () {
  describe('the edge alone, with a stand-in core', () => {
    let slack: FakeSlackApi;
    let endpoint: FakeSocketModeEndpoint;
    let edge: SlackEdge | undefined;

    beforeEach(async () => {
      slack = new FakeSlackApi();
      endpoint = new FakeSocketModeEndpoint();
    });
    afterEach(async () => {
      await edge?.close();
      edge = undefined;
      await endpoint.stop();
      await slack.stop();
    });

    async function startEdge(handler: ScriptedHandler): Promise<SlackEdge> {
      const apiUrl = await slack.start();
      await endpoint.start(slack);
      edge = await createSlackEdge({ handler, botToken: BOT_TOKEN, signingSecret: SIGNING_SECRET, appToken: APP_TOKEN, apiUrl, apiRetries: 0, logger: silentLogger() });
      return edge;
    }

    it('connects with the app-level token (the bot token only for auth.test and work) and is connected once create() resolves', async () => {
      const handler = new ScriptedHandler(() => ({ immediate: { screen: 'action-list', principal: alex, actions: [oooAction] } }));
      const started = await startEdge(handler);
      assert.equal(started.mode, 'socket');
      // create() resolves only after Slack's hello: the connection is there without waiting.
      assert.equal(endpoint.openConnections(), 1);
      assert.equal(endpoint.refusedUpgrades, 0);

      const [open, ...again] = slack.callsTo('apps.connections.open');
      assert.equal(again.length, 0);
      assert.equal(open!.args['token'], APP_TOKEN);
      assert.deepEqual(slack.callsTo('auth.test').map((call) => call.args['token']), [BOT_TOKEN]);

      // Work goes out with the bot token, never the app token.
      await endpoint.slashCommand(slashCommand(''));
      const [opened] = await slack.waitFor('views.open');
      assert.equal(opened!.args['token'], BOT_TOKEN);
    });

    it('leaves the bot\'s WebClient with the same retry policy as in HTTP mode (not the socket client\'s 100 retries)', async () => {
      // The Socket Mode client writes its retry policy into the options object it is handed;
      // shared with the App, every chat.postMessage would retry ~forever. Read from WebClient's
      // (private) field because waiting out a real retry schedule would take minutes.
      const retryPolicy = (target: SlackEdge) => (target.app.client as unknown as { retryConfig: unknown }).retryConfig;
      const apiUrl = await slack.start();
      await endpoint.start(slack);
      const common = { handler: new ScriptedHandler(() => ({})), botToken: BOT_TOKEN, signingSecret: SIGNING_SECRET, apiUrl, logger: silentLogger() };
      const http = await createSlackEdge(common);
      try {
        edge = await createSlackEdge({ ...common, appToken: APP_TOKEN });
        assert.deepEqual(retryPolicy(edge), retryPolicy(http));
        assert.notDeepEqual(retryPolicy(edge), { retries: 100, factor: 1.3 });
      } finally {
        await http.close();
      }
    });

    it('closes cleanly on close(): a normal close frame, no reconnect, and no socket or timer left behind', async () => {
      // Mocha arms this test's own timeout timer once the test function has returned its promise:
      // count after that, so "before" and "after" both hold it, whatever else module loading left running.
      await new Promise((resolve) => setImmediate(resolve));
      const before = liveHandles();
      const timers = timerWatch();
      const handler = new ScriptedHandler(() => ({ immediate: { screen: 'notice', text: 'ok' } }));
      const started = await startEdge(handler);
      // Past one client ping (every ~1.7 s), so the heartbeat timers are running when it closes.
      await sleep(1900);
      await endpoint.slashCommand(slashCommand(''));
      await slack.waitFor('chat.postEphemeral');

      await started.close();
      edge = undefined;
      assert.ok(await waitUntil(() => endpoint.closeCodes.length === 1, 2000), 'the server saw the connection end');
      assert.deepEqual(endpoint.closeCodes, [1000], 'the client closed with a normal close frame');
      assert.equal(endpoint.openConnections(), 0);

      await sleep(300);
      assert.equal(slack.callsTo('apps.connections.open').length, 1, 'no reconnect after close()');

      await endpoint.stop();
      await slack.stop();
      const settled = await waitUntil(() => {
        const now = liveHandles();
        return Object.entries(now).every(([kind, count]) => count <= (before[kind] ?? 0)) && timers.pending().length === 0;
      }, 2000);
      timers.stop();
      assert.ok(settled, `left alive after close(): sockets before ${JSON.stringify(before)}, now ${JSON.stringify(liveHandles())}; timers ${JSON.stringify(timers.pending())}`);
    });
  });

  describe('with the real bot server, core and executor', () => {
    let slack: FakeSlackApi;
    let endpoint: FakeSocketModeEndpoint;
    let executor: TestExecutor;
    let bot: RunningBot;
    let dataDir: string;

    before(async function () {
      this.timeout(60_000);
      slack = new FakeSlackApi();
      const apiUrl = await slack.start();
      endpoint = new FakeSocketModeEndpoint();
      await endpoint.start(slack);
      executor = await startTestExecutor({ catalog: BOT_TEST_CATALOG });
      dataDir = mkdtempSync(join(tmpdir(), 'deputy-slack-socket-'));
      const config = loadBotConfig({
        DEPUTY_DATA_DIR: dataDir,
        DEPUTY_EXECUTOR_URL: executor.url,
        DEPUTY_EXECUTOR_TOKEN: executor.token,
        DEPUTY_BOT_PORT: '0',
        SLACK_BOT_TOKEN: BOT_TOKEN,
        SLACK_SIGNING_SECRET: SIGNING_SECRET,
        SLACK_APP_TOKEN: APP_TOKEN,
      });
      bot = await startBot({ config, logger: silentLogger(), clock: systemClock, eventBackoffMs: { initial: 50, max: 500 }, edges: [slackEdgePlugin({ apiUrl })] });
      await bot.core.start();
    });

    after(async function () {
      this.timeout(30_000);
      await bot?.close();
      await executor?.dispose();
      await endpoint?.stop();
      await slack?.stop();
      if (dataDir) rmSync(dataDir, { recursive: true, force: true });
    });

    /** The modal a trigger ends in: opened directly, or a loading modal updated when the core answers. */
    async function modalFor(triggerId: string, from: number): Promise<{ viewId: string; hash: string; view: ModalView }> {
      const opened = await waitForCall(slack, from, (call) => call.method === 'views.open' && ViewOpenSchema.parse(call.args).trigger_id === triggerId);
      const { view } = ViewOpenSchema.parse(opened.args);
      const answered = ViewAnsweredSchema.parse(opened.response).view;
      if (!/loading/i.test(JSON.stringify(view.blocks))) return { viewId: answered.id, hash: answered.hash, view };
      return modalUpdate(answered.id, from);
    }

    async function modalUpdate(viewId: string, from: number): Promise<{ viewId: string; hash: string; view: ModalView }> {
      const updated = await waitForCall(slack, from, (call) => call.method === 'views.update' && ViewUpdateSchema.parse(call.args).view_id === viewId);
      return { viewId, hash: ViewAnsweredSchema.parse(updated.response).view.hash, view: ViewUpdateSchema.parse(updated.args).view };
    }

    it('serves no HTTP route: POST /slack/events is not mounted, everything arrives over the socket', async () => {
      const from = slack.calls.length;
      const client = signedSlackClient(`${bot.url}/slack/events`, systemClock);
      const answer = await client.command(slashCommand('', 'U-ALEX', 'D-ALEX'));
      assert.equal(answer.status, 404, 'a correctly signed request finds no route');
      await sleep(200);
      assert.deepEqual(slack.calls.slice(from), [], 'and nothing reached the core or Slack');
      assert.equal(endpoint.openConnections(), 1);
    });

    it('acks a /deputy envelope within 3 s and opens the action list modal with its trigger_id', async () => {
      const from = slack.calls.length;
      const fields = slashCommand('', 'U-ALEX', 'D-ALEX');
      const ack = await endpoint.slashCommand(fields);
      assert.ok(ack.ms < 3000, `ack took ${ack.ms} ms`);
      assert.deepEqual(ack.payload, {}, 'a bare ack: nothing is posted in the channel by the ack');
      const modal = await modalFor(fields.trigger_id!, from);
      const actions = blocksActions(modal.view.blocks);
      assert.ok(actions.some((action) => action.verb === 'open-form' && action.data['actionId'] === 'echo'), blocksText(modal.view.blocks));
      assert.doesNotMatch(blocksText(modal.view.blocks), /A draft nobody may run/);
    });

    it('opens the form from the modal\'s Run button and acks a bad value with response_action errors', async () => {
      const from = slack.calls.length;
      const fields = slashCommand('', 'U-ALEX', 'D-ALEX');
      await endpoint.slashCommand(fields);
      const list = await modalFor(fields.trigger_id!, from);

      const run = blocksActions(list.view.blocks).find((action) => action.verb === 'open-form' && action.data['actionId'] === 'echo');
      assert.ok(run, 'the list has a Run button for echo');
      const press = await endpoint.interactive(
        buttonInModal('deputy:open-form', JSON.stringify(run.data), { id: list.viewId, hash: list.hash, private_metadata: list.view.private_metadata ?? '' }, 'U-ALEX'),
      );
      assert.deepEqual(press.payload, {});
      const form = await modalUpdate(list.viewId, from);
      assert.equal(form.view.callback_id, 'deputy:form');
      const inputs = inputBlocks(form.view.blocks);
      assert.deepEqual(inputs.map((block) => block.block_id), ['field:Message', 'field:Times']);

      const typed: Record<string, string> = { 'field:Message': 'hello over the socket', 'field:Times': '9' };
      const state = Object.fromEntries(inputs.map((block) => [block.block_id, elementState(block.element, typed[block.block_id])]));
      const submission = viewSubmission(form.view.private_metadata ?? '', state, 'U-ALEX');
      submission['view'] = { ...(submission['view'] as object), id: form.viewId, root_view_id: form.viewId, hash: form.hash };
      const submitted = slack.calls.length;
      const ack = await endpoint.interactive(submission);
      assert.ok(ack.ms < 3000, `ack took ${ack.ms} ms`);
      const answer = z.object({ response_action: z.literal('errors'), errors: z.record(z.string(), z.string()) }).parse(ack.payload);
      assert.deepEqual(Object.keys(answer.errors), ['field:Times']);
      assert.match(answer.errors['field:Times']!, /5/);
      await sleep(200);
      assert.deepEqual(slack.calls.slice(submitted).map((call) => call.method), [], 'no run was started: nothing posted');
    });

    it('gives an unknown user one ephemeral sentence and nothing else', async () => {
      const from = slack.calls.length;
      const fields = slashCommand('', 'U-NOBODY', 'C-HELPDESK');
      const ack = await endpoint.slashCommand(fields);
      assert.ok(ack.ms < 3000, `ack took ${ack.ms} ms`);
      assert.deepEqual(ack.payload, {});
      const ephemeral = await waitForCall(slack, from, (call) => call.method === 'chat.postEphemeral');
      assert.equal(ephemeral.args['user'], 'U-NOBODY');
      assert.equal(ephemeral.args['channel'], 'C-HELPDESK');
      assert.equal(ephemeral.args['text'], ERRORS.DEPUTY_E_NOT_ENROLLED.message);
      await sleep(200);
      assert.deepEqual(slack.calls.slice(from).map((call) => call.method), ['chat.postEphemeral']);
    });
  });
});

/** The first call at or after index `from` that matches, waiting up to 10 s. */
async function waitForCall(slack: FakeSlackApi, from: number, matches: (call: RecordedCall) => boolean): Promise<RecordedCall> {
  let found: RecordedCall | undefined;
  const seen = await waitUntil(() => (found = slack.calls.slice(from).find(matches)) !== undefined, 10_000);
  if (!seen || !found) throw new Error(`no matching call; saw ${slack.calls.slice(from).map((call) => call.method).join(', ')}`);
  return found;
}
