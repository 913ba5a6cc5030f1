/**
 * The bot core against an in-memory executor (test/bot/core/memory-executor.ts): the flow of
 * every answer, in milliseconds, with no pwsh. The same flows run end to end, on every
 * platform, in the conformance suite.
 */
import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FileConversations } from '../../../bot/store/port.ts';
import { BotCore } from '../../../bot/core/core.ts';
import type { ConversationRef, Inbound, Screen } from '../../../bot/core/model.ts';
import { ActionViewSchema, type ActionView } from '../../../executor/contract/index.ts';
import { ManualClock, systemClock } from '../../../lib/clock.ts';
import { silentLogger } from '../../../lib/logger.ts';
import { MemoryExecutor } from './memory-executor.ts';
import { RecordingPort } from './recording-port.ts';

const ECHO: ActionView = ActionViewSchema.parse({
  id: 'echo', title: 'Echo a message', description: 'Echoes a message back.', scriptId: 'echo', scriptStatus: 'approved', versionHash: 'a'.repeat(64), tenant: 'hamburg', approval: 'none', timeoutSeconds: 30,
  form: { fields: [{ name: 'Message', label: 'The message', kind: 'text', psType: 'string', required: true }, { name: 'Password', label: 'Password', kind: 'secret', psType: 'securestring', required: false }] },
});
const FOUR_EYES: ActionView = { ...ECHO, id: 'echo-four-eyes', title: 'Echo after approval', approval: 'four-eyes' };
const RESET: ActionView = { ...ECHO, id: 'reset', title: 'Reset a password', description: 'Sets a new password for a user.', form: { fields: [{ name: 'UserPrincipalName', label: 'User', kind: 'text', psType: 'string', required: true }] } };

const conversation = (id: string): ConversationRef => ({ channel: 'webchat', conversationId: id });
const user = (persona: string) => ({ identity: { channel: 'webchat' as const, persona } });
const say = (persona: string, text: string): Inbound => ({ kind: 'message', user: user(persona), conversation: conversation(`c-${persona}`), text });
const press = (persona: string, verb: Extract<Inbound, { kind: 'submit' }>['verb'], data: Record<string, unknown>, messageId?: string): Inbound => ({
  kind: 'submit', user: user(persona), conversation: conversation(`c-${persona}`), verb, data, ...(messageId ? { messageId } : {}),
});

function screenOf<T extends Screen['screen']>(screen: Screen | undefined, name: T): Extract<Screen, { screen: T }> {
  assert.equal(screen?.screen, name, `expected a ${name} screen, got ${JSON.stringify(screen)?.slice(0, 300)}`);
  return screen as Extract<Screen, { screen: T }>;
}

describe('bot core on an in-memory executor', () => {
  let dataDir: string;
  let executor: MemoryExecutor;
  let port: RecordingPort;
  let core: BotCore;

  beforeEach(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'deputy-core-memory-'));
    executor = new MemoryExecutor(
      [
        { id: 'alex', name: 'Alex', tenant: 'hamburg', roles: ['administrator'], persona: 'alex', actions: ['echo', 'echo-four-eyes', 'reset'] },
        { id: 'cyra', name: 'Cyra', tenant: 'contoso', roles: ['cyber-admin'], persona: 'cyra', actions: [], approver: true },
        { id: 'bea', name: 'Bea', tenant: 'hamburg', roles: ['administrator'], persona: 'bea', actions: ['echo'] },
      ],
      [ECHO, FOUR_EYES, RESET],
    );
    port = new RecordingPort();
    const conversations = await FileConversations.open(join(dataDir, 'conversations.json'));
    core = new BotCore({ executor, logger: silentLogger(), clock: systemClock, conversations, edges: [{ channel: 'webchat', port }] });
    await core.start();
  });
  afterEach(async () => {
    await core.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  async function openForm(persona: string, actionId: string): Promise<{ formId: string; card: string }> {
    const card = await port.post(conversation(`c-${persona}`), { screen: 'notice', text: 'the list' });
    const form = screenOf((await core.handle(press(persona, 'open-form', { actionId }, card))).immediate, 'action-form');
    return { formId: form.formId, card };
  }

  it('one press runs once: the same form submitted twice starts one run, and both presses show it', async () => {
    const { formId, card } = await openForm('alex', 'echo');
    const [first, second] = await Promise.all([
      core.handle(press('alex', 'submit-form', { actionId: 'echo', formId, values: { Message: 'hi' } }, card)),
      core.handle(press('alex', 'submit-form', { actionId: 'echo', formId, values: { Message: 'hi' } }, card)),
    ]);
    assert.equal(executor.runs.size, 1);
    assert.equal(screenOf(first.immediate, 'run-status').run.id, screenOf(second.immediate, 'run-status').run.id);
    const again = await openForm('alex', 'echo');
    assert.notEqual(again.formId, formId, 'each form card has its own id');
  });

  it('a second press of a submitted card with other values keeps showing the first run, not an error', async () => {
    const { formId, card } = await openForm('alex', 'echo');
    const first = screenOf((await core.handle(press('alex', 'submit-form', { actionId: 'echo', formId, values: { Message: 'hi' } }, card))).immediate, 'run-status');
    const second = await core.handle(press('alex', 'submit-form', { actionId: 'echo', formId, values: { Message: 'changed' } }, card));
    assert.equal(screenOf(second.immediate, 'run-status').run.id, first.run.id);
    assert.equal(executor.runs.size, 1);
  });

  it('answers a verb it does not know, also a name every object has, with an error card', async () => {
    for (const verb of ['toString', 'constructor', 'no-such-verb']) {
      const answer = await core.handle(press('alex', verb as Extract<Inbound, { kind: 'submit' }>['verb'], {}));
      assert.equal(screenOf(answer.immediate, 'error').message, 'The request is malformed.', verb);
    }
  });

  it('a submit asks the executor for the run alone: the form its card was drawn from is remembered for a while', async () => {
    const clock = new ManualClock();
    const conversations = await FileConversations.open(join(dataDir, 'timed.json'));
    const timed = new BotCore({ executor, logger: silentLogger(), clock, conversations, edges: [{ channel: 'webchat', port }], actionCacheMs: 60_000 });
    const submitOnce = async () => {
      const card = await port.post(conversation('c-alex'), { screen: 'notice', text: 'the list' });
      const form = screenOf((await timed.handle(press('alex', 'open-form', { actionId: 'echo' }, card))).immediate, 'action-form');
      executor.calls.length = 0;
      clock.advance(59_000);
      screenOf((await timed.handle(press('alex', 'submit-form', { actionId: 'echo', formId: form.formId, values: { Message: 'x' } }, card))).immediate, 'run-status');
      return executor.calls.filter((call) => call !== 'resolveIdentity');
    };
    try {
      assert.deepEqual(await submitOnce(), ['createRun']);
      // Past the cache time, the current form is read again before the run is asked for.
      const card = await port.post(conversation('c-alex'), { screen: 'notice', text: 'the list' });
      const form = screenOf((await timed.handle(press('alex', 'open-form', { actionId: 'echo' }, card))).immediate, 'action-form');
      executor.calls.length = 0;
      clock.advance(61_000);
      await timed.handle(press('alex', 'submit-form', { actionId: 'echo', formId: form.formId, values: { Message: 'y' } }, card));
      assert.deepEqual(executor.calls.filter((call) => call !== 'resolveIdentity'), ['listActions', 'createRun']);
    } finally {
      await timed.close();
    }
  });

  it('an empty required field comes back as "required", and the secret is not kept', async () => {
    const { formId, card } = await openForm('alex', 'echo');
    const form = screenOf((await core.handle(press('alex', 'submit-form', { actionId: 'echo', formId, values: { Message: '  ', Password: 'hunter2' } }, card))).immediate, 'action-form');
    assert.equal(form.errors?.Message, 'The message is required.');
    assert.deepEqual(form.values, {});
    assert.equal(form.formId, formId, 'the corrected form is the same press');
  });

  it('Cancel asks once, keeps asking while the run moves on, and cancels only when confirmed', async () => {
    const { formId, card } = await openForm('alex', 'echo');
    const status = screenOf((await core.handle(press('alex', 'submit-form', { actionId: 'echo', formId, values: { Message: 'x' } }, card))).immediate, 'run-status');
    const asking = screenOf((await core.handle(press('alex', 'cancel-run', { runId: status.run.id }, card))).immediate, 'run-status');
    assert.equal(asking.confirmCancel, true);
    assert.ok(!executor.calls.includes('cancelRun'));
    executor.advance(status.run.id, 'running');
    await core.idle();
    const shown = port.messages.find((message) => message.id === card)?.screen;
    assert.equal(shown?.screen === 'run-status' && shown.confirmCancel, true, 'the update kept the question');
    const done = await core.handle(press('alex', 'cancel-run', { runId: status.run.id, confirmed: true }, card));
    assert.ok(executor.calls.includes('cancelRun'));
    assert.equal(screenOf(done.immediate, 'run-summary').run.state, 'cancelled');
  });

  it('a refusal says which rule and what to do', async () => {
    const { formId, card } = await openForm('alex', 'echo');
    const status = screenOf((await core.handle(press('alex', 'submit-form', { actionId: 'echo', formId, values: { Message: 'x' } }, card))).immediate, 'run-status');
    executor.advance(status.run.id, 'running');
    // Bea may see it only if it is hers; the executor hides it: "not found" says where to look instead.
    const refused = screenOf((await core.handle(press('bea', 'cancel-run', { runId: status.run.id, confirmed: true }))).immediate, 'error');
    assert.match(refused.message, /not allowed to cancel this run/);
    assert.match(refused.hint ?? '', /person who asked for it, or by an administrator/);
  });

  it('the requester of a four-eyes run may withdraw it, never decide it; "Show my options" answers each viewer with their own card', async () => {
    const { formId, card } = await openForm('alex', 'echo-four-eyes');
    const waiting = screenOf((await core.handle(press('alex', 'submit-form', { actionId: 'echo-four-eyes', formId, values: { Message: 'x' } }, card))).immediate, 'approval-request');
    assert.deepEqual([waiting.viewerIsRequester, waiting.viewerMayDecide, waiting.labels?.Message], [true, false, 'The message']);
    const mine = screenOf((await core.handle(press('alex', 'refresh-run', { runId: waiting.run.id }))).immediate, 'approval-request');
    assert.deepEqual([mine.viewerIsRequester, mine.viewerMayDecide, mine.personal], [true, false, true]);
    const cyras = screenOf((await core.handle(press('cyra', 'refresh-run', { runId: waiting.run.id }))).immediate, 'approval-request');
    assert.deepEqual([cyras.viewerIsRequester, cyras.viewerMayDecide, cyras.personal], [false, true, true]);
    assert.equal(cyras.labels?.Message, 'The message', 'the approver reads the form’s labels');
  });

  it('offers "Run again" only on the requester’s own run', async () => {
    const { formId, card } = await openForm('alex', 'echo');
    const status = screenOf((await core.handle(press('alex', 'submit-form', { actionId: 'echo', formId, values: { Message: 'x' } }, card))).immediate, 'run-status');
    executor.advance(status.run.id, 'succeeded', { summary: { lines: ['x'], errors: [], warnings: [], outputLineCount: 1, truncated: false, exitCode: 0 } });
    await core.idle();
    const own = port.messages.find((message) => message.id === card)?.screen;
    assert.equal(own?.screen === 'run-summary' && own.canRunAgain, true);
    // Cyra may see it (she approves this tenant's runs), but it is not hers to run again.
    const seenByCyra = screenOf((await core.handle(press('cyra', 'refresh-run', { runId: status.run.id }))).immediate, 'run-summary');
    assert.equal(seenByCyra.canRunAgain, false);
  });

  it('says what it did not understand and suggests the closest actions, prefilled; "help" lists them all', async () => {
    const suggestions = screenOf((await core.handle(say('alex', 'reset password for bob'))).immediate, 'suggestions');
    assert.equal(suggestions.text, 'reset password for bob');
    assert.equal(suggestions.suggestions[0]?.action.id, 'reset');
    assert.deepEqual(suggestions.suggestions[0]?.values, { UserPrincipalName: 'bob' });
    const form = screenOf((await core.handle(press('alex', 'open-form', { actionId: 'reset', prefill: { UserPrincipalName: 'bob' } }))).immediate, 'action-form');
    assert.deepEqual(form.values, { UserPrincipalName: 'bob' });
    assert.equal(screenOf((await core.handle(say('alex', 'hello'))).immediate, 'suggestions').suggestions.length, 0);
    assert.equal(screenOf((await core.handle(say('alex', 'help'))).immediate, 'action-list').actions.length, 3);
  });

  it('lists my runs for "runs"/"status"/"history", and opens one again as a new message', async () => {
    const { formId, card } = await openForm('alex', 'echo');
    const status = screenOf((await core.handle(press('alex', 'submit-form', { actionId: 'echo', formId, values: { Message: 'x' } }, card))).immediate, 'run-status');
    for (const word of ['runs', 'status', 'history']) {
      const list = screenOf((await core.handle(say('alex', word))).immediate, 'item-list');
      assert.deepEqual(list.sections.flatMap((section) => section.items.map((item) => item.open)), [{ verb: 'show-run', data: { runId: status.run.id } }]);
    }
    const before = port.messages.length;
    const answer = await core.handle(press('alex', 'show-run', { runId: status.run.id }, card));
    assert.equal(answer.immediate, undefined, 'the list stays');
    await core.idle();
    assert.equal(port.messages.length, before + 1);
    assert.equal(port.messages.at(-1)?.screen.screen, 'run-status');
  });

  it('greets a new conversation once, and a stranger not at all', async () => {
    const opened: Inbound = { kind: 'opened', user: user('alex'), conversation: conversation('c-new') };
    const welcome = screenOf((await core.handle(opened)).immediate, 'welcome');
    assert.equal(welcome.actionCount, 3);
    await core.idle();
    assert.deepEqual(await core.handle(opened), {});
    assert.deepEqual(await core.handle({ kind: 'opened', user: user('nobody'), conversation: conversation('c-x') }), {});
  });

  describe('answers before card updates', () => {
    /** Holds Bea's next action list until released: her "help" is an answer being prepared meanwhile. */
    function holdBeasList(): { release: () => void } {
      let release!: () => void;
      const held = new Promise<void>((resolve) => (release = resolve));
      const listActions = executor.listActions.bind(executor);
      executor.listActions = async (principalId: string) => {
        if (principalId === 'bea') await held;
        return listActions(principalId);
      };
      return { release };
    }
    const updatesOf = (card: string) => port.messages.find((message) => message.id === card)?.updates ?? 0;
    async function until(what: string, condition: () => boolean): Promise<void> {
      const deadline = Date.now() + 5000;
      while (!condition()) {
        if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
        await new Promise((resolve) => setImmediate(resolve));
      }
    }

    /** A core of its own whose updates wait at most `maxUpdateDelayMs` (the shared one is closed). */
    async function coreWaitingAtMost(maxUpdateDelayMs: number): Promise<BotCore> {
      await core.close();
      const conversations = await FileConversations.open(join(dataDir, `waiting-${maxUpdateDelayMs}.json`));
      core = new BotCore({ executor, logger: silentLogger(), clock: systemClock, conversations, edges: [{ channel: 'webchat', port }], maxUpdateDelayMs });
      await core.start();
      return core;
    }

    async function submittedEcho(): Promise<{ card: string; runId: string; before: number }> {
      const { formId, card } = await openForm('alex', 'echo');
      const status = screenOf((await core.handle(press('alex', 'submit-form', { actionId: 'echo', formId, values: { Message: 'x' } }, card))).immediate, 'run-status');
      await core.idle();
      return { card, runId: status.run.id, before: updatesOf(card) };
    }

    it('a run\'s card is updated once the answer someone else waits for is out', async () => {
      // A limit no machine's pauses reach: only Bea's answer can let the update go.
      await coreWaitingAtMost(60_000);
      const { card, runId, before } = await submittedEcho();
      const { release } = holdBeasList();
      const beasAnswer = core.handle(say('bea', 'help'));
      executor.advance(runId, 'succeeded');
      for (let turn = 0; turn < 20; turn++) await new Promise((resolve) => setImmediate(resolve));
      assert.equal(updatesOf(card), before, 'the update went before Bea had her answer');
      release();
      screenOf((await beasAnswer).immediate, 'action-list');
      await until('the card update', () => updatesOf(card) > before);
      assert.equal(port.messages.find((message) => message.id === card)?.screen.screen, 'run-summary');
    });

    it('waits no longer than its limit when answers keep being prepared', async () => {
      await coreWaitingAtMost(50);
      const { release } = holdBeasList();
      try {
        const { card, runId, before } = await submittedEcho();
        void core.handle(say('bea', 'help'));
        executor.advance(runId, 'succeeded');
        await until('the card update while Bea still waits', () => updatesOf(card) > before);
      } finally {
        release();
      }
    });
  });
});
