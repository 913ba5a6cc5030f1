/**
 * The adapter conformance suite: the same conversations, run against every chat platform's
 * real edge, real bot server and a real executor (real pwsh) with the shared test catalog
 * (`test/fixtures/catalog`).
 *
 * How to add a platform (Teams, Slack, ...):
 *   1. Write a `ConformanceTarget` whose `start()` brings up your real bot server (`startBot`
 *      with your EdgePlugin, or your edge on its own server) against `startTestExecutor()`,
 *      plus whatever loopback fakes your cloud needs.
 *   2. Give it `asPrincipal(id)`: a `ChatDriver` that talks as that fixture principal (alex,
 *      bea, cyra, rita; add your platform's identities for them to the fixture catalog if
 *      they are missing) in that person's own 1:1 conversation with the bot, and
 *      `asUnknownUser()`: an identity no principal has.
 *   3. The driver speaks your platform's real wire format and reports what a person would
 *      see: each bot message's id, visible text, inputs and buttons, with updates applied in
 *      place (test/bot/conformance/adaptive-card.ts reads Adaptive Cards; Block Kit needs its own).
 *   4. In `test/bot/<platform>/conformance.test.ts`: `runConformanceSuite('<platform>', target)`.
 */
import { strict as assert } from 'node:assert';
import { ERRORS } from '../../../executor/contract/index.ts';

export interface ObservedAction {
  title: string;
  verb: string;
  data: Record<string, unknown>;
}

export interface ObservedInput {
  id: string;
  type: string;
  label?: string;
  value?: string;
}

/** One bot message as the user sees it now (an update in place changes it, keeping its id). */
export interface ObservedMessage {
  id: string;
  text: string;
  inputs: ObservedInput[];
  actions: ObservedAction[];
  /** Names of files attached to the message. */
  files: string[];
}

export interface ChatDriver {
  sendText(text: string): Promise<void>;
  /** Presses the newest button with this verb whose data contains `match`. */
  clickAction(verb: string, match?: Record<string, unknown>): Promise<void>;
  /** Fills the newest form (by parameter name) and presses its submit button; other inputs keep their shown values. */
  submitForm(values: Record<string, string>): Promise<void>;
  /** The bot's messages in this conversation, oldest first. */
  messages(): Promise<ObservedMessage[]>;
}

export interface ConformanceHarness {
  asPrincipal(principalId: string): Promise<ChatDriver>;
  asUnknownUser(): Promise<ChatDriver>;
  /** The runs the executor holds for a principal (what the chat cannot hide: how many really started). */
  runsOf(principalId: string): Promise<{ id: string; actionId: string; inputs: Record<string, unknown> }[]>;
  close(): Promise<void>;
}

export interface ConformanceTarget {
  start(): Promise<ConformanceHarness>;
}

const WAIT_MS = 20_000;

/** Polls the driver until `check` finds what it looks for. */
export async function waitForMessage(
  driver: ChatDriver,
  description: string,
  check: (messages: ObservedMessage[]) => ObservedMessage | undefined,
  timeoutMs = WAIT_MS,
): Promise<ObservedMessage> {
  const deadline = Date.now() + timeoutMs;
  let last: ObservedMessage[] = [];
  for (;;) {
    last = await driver.messages();
    const found = check(last);
    if (found) return found;
    if (Date.now() > deadline) {
      assert.fail(`timed out waiting for ${description}; messages:\n${JSON.stringify(last.map((m) => ({ id: m.id, text: m.text, verbs: m.actions.map((a) => a.verb) })), null, 2)}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

const withAction = (verb: string, match: Record<string, unknown> = {}) => (message: ObservedMessage) =>
  message.actions.some((action) => action.verb === verb && Object.entries(match).every(([key, value]) => action.data[key] === value));

const newest = (messages: ObservedMessage[], predicate: (message: ObservedMessage) => boolean) => messages.filter(predicate).at(-1);

async function openForm(driver: ChatDriver, actionId: string): Promise<ObservedMessage> {
  await driver.sendText('help');
  await waitForMessage(driver, 'the action list', (messages) => newest(messages, withAction('open-form', { actionId })));
  await driver.clickAction('open-form', { actionId });
  return waitForMessage(driver, `the form of ${actionId}`, (messages) => newest(messages, withAction('submit-form', { actionId })));
}

export function runConformanceSuite(platform: string, target: ConformanceTarget): void {
  describe(`conformance: ${platform}`, function () {
    this.timeout(90_000);
    let harness: ConformanceHarness;

    before(async () => {
      harness = await target.start();
    });
    after(async () => {
      await harness?.close();
    });

    it('lists the actions a user may run, and none to a read-only user', async () => {
      const alex = await harness.asPrincipal('alex');
      await alex.sendText('help');
      const list = await waitForMessage(alex, 'the action list', (messages) => newest(messages, withAction('open-form')));
      const offered = list.actions.filter((action) => action.verb === 'open-form').map((action) => action.data.actionId);
      assert.ok(offered.includes('echo') && offered.includes('sleep'), `alex may run echo and sleep: ${JSON.stringify(offered)}`);
      assert.ok(!offered.includes('draft'), 'a draft script is never offered');
      assert.match(list.text, /Echo a message/);

      const rita = await harness.asPrincipal('rita');
      await rita.sendText('help');
      const ritaList = await waitForMessage(rita, 'an answer for rita', (messages) => messages.at(-1));
      assert.deepEqual(ritaList.actions.filter((action) => action.verb === 'open-form'), [], 'the read-only persona can run nothing');
    });

    it('opens a form, submits it, and turns the same message into the result summary', async () => {
      const alex = await harness.asPrincipal('alex');
      const form = await openForm(alex, 'echo');
      assert.ok(form.inputs.some((input) => input.label?.includes('message') || input.id.endsWith('Message')), 'the form asks for the message');
      const countBefore = (await alex.messages()).length;
      await alex.submitForm({ Message: 'conformance says hello', Times: '2' });
      const summary = await waitForMessage(alex, 'the summary in place of the form', (messages) =>
        messages.find((message) => message.id === form.id && /Succeeded/.test(message.text)));
      assert.match(summary.text, /conformance says hello/);
      assert.equal((await alex.messages()).length, countBefore, 'the status and the summary replace the form; no new message');
    });

    it('shows a validation error on the form and keeps the values', async () => {
      const alex = await harness.asPrincipal('alex');
      const form = await openForm(alex, 'echo');
      await alex.submitForm({ Message: 'keep me', Times: '9' });
      const again = await waitForMessage(alex, 'the form with an error', (messages) =>
        messages.find((message) => message.id === form.id && message.text !== form.text && message.actions.some((action) => action.verb === 'submit-form')));
      const message = again.inputs.find((input) => input.id.endsWith('Message'));
      assert.equal(message?.value, 'keep me', 'the entered value is kept');
      const added = again.text.split('\n').filter((line) => !form.text.split('\n').includes(line));
      assert.ok(added.length > 0, 'an error message is shown');
      assert.ok(!/Succeeded|Queued|Running/.test(again.text), 'nothing ran');
    });

    it('shows a running run with Cancel, which is never the first button and asks once before cancelling', async () => {
      const alex = await harness.asPrincipal('alex');
      const form = await openForm(alex, 'sleep');
      await alex.submitForm({ Seconds: '20' });
      const status = await waitForMessage(alex, 'the status with Cancel', (messages) => messages.find((message) => message.id === form.id && withAction('cancel-run')(message)));
      // A second press on Run lands where Run was: the first button. It must not be Cancel.
      assert.notEqual(status.actions[0]?.verb, 'cancel-run', 'Cancel takes Run’s place');
      const cancel = status.actions.find((action) => action.verb === 'cancel-run');
      if (cancel?.data.confirmed !== true) {
        // Cards ask in the card; Slack asks with its own confirm dialog, so its button arrives confirmed.
        await alex.clickAction('cancel-run');
        const asking = await waitForMessage(alex, 'the question before cancelling', (messages) =>
          messages.find((message) => message.id === form.id && withAction('cancel-run', { confirmed: true })(message)));
        assert.match(asking.text, /Cancel this run\?/);
        assert.ok(!/Cancelled/i.test(asking.text), 'nothing is cancelled by the first press');
      }
      await alex.clickAction('cancel-run', { confirmed: true });
      const summary = await waitForMessage(alex, 'the cancelled summary', (messages) =>
        messages.find((message) => message.id === form.id && /Cancelled/i.test(message.text)));
      assert.ok(!summary.actions.some((action) => action.verb === 'cancel-run'), 'a finished run has no Cancel');
    });

    it('one press runs once: Run pressed twice at once starts one run', async () => {
      const alex = await harness.asPrincipal('alex');
      const form = await openForm(alex, 'echo');
      const message = `pressed twice ${Date.now()}`;
      await Promise.all([alex.submitForm({ Message: message }), alex.submitForm({ Message: message })]);
      await waitForMessage(alex, 'the summary', (messages) => messages.find((shown) => shown.id === form.id && /Succeeded/.test(shown.text)));
      const started = (await harness.runsOf('alex')).filter((run) => run.inputs.Message === message);
      assert.equal(started.length, 1, `runs started: ${started.length}`);
    });

    it('an empty required field says it is required, and nothing runs', async () => {
      const alex = await harness.asPrincipal('alex');
      const form = await openForm(alex, 'echo');
      const before = (await harness.runsOf('alex')).length;
      await alex.submitForm({ Message: '' });
      const again = await waitForMessage(alex, 'the form saying "required"', (messages) =>
        messages.find((message) => message.id === form.id && /required/i.test(message.text) && message.actions.some((action) => action.verb === 'submit-form')));
      assert.ok(!/expected format/i.test(again.text), again.text);
      assert.equal((await harness.runsOf('alex')).length, before);
    });

    it('"runs" lists my recent runs, and each opens its card again with its result', async () => {
      const alex = await harness.asPrincipal('alex');
      const form = await openForm(alex, 'echo');
      const message = `for the history ${Date.now()}`;
      await alex.submitForm({ Message: message });
      await waitForMessage(alex, 'the summary', (messages) => messages.find((shown) => shown.id === form.id && /Succeeded/.test(shown.text)));
      const [run] = (await harness.runsOf('alex')).filter((candidate) => candidate.inputs.Message === message);
      assert.ok(run);
      for (const command of ['runs', 'history']) {
        await alex.sendText(command);
        await waitForMessage(alex, `the list of runs for "${command}"`, (messages) => newest(messages, withAction('show-run', { runId: run.id })));
      }
      const count = (await alex.messages()).length;
      await alex.clickAction('show-run', { runId: run.id });
      const reopened = await waitForMessage(alex, 'the run’s card, opened again', (messages) =>
        messages.slice(count).find((shown) => /Succeeded/.test(shown.text) && shown.text.includes(message)));
      assert.ok(reopened.actions.some((action) => action.verb === 'open-form' && action.data.fromRunId === run.id), 'my own run offers "Run again"');
    });

    it('unknown text says what was not understood and offers the closest actions, prefilled', async () => {
      const alex = await harness.asPrincipal('alex');
      await alex.sendText('echo message hello-there');
      const answer = await waitForMessage(alex, 'the suggestions', (messages) => newest(messages, (message) => /did not understand/i.test(message.text)));
      assert.match(answer.text, /echo message hello-there/);
      const offered = answer.actions.filter((action) => action.verb === 'open-form');
      assert.equal(offered[0]?.data.actionId, 'echo', JSON.stringify(offered));
      assert.ok(!offered.some((action) => action.data.actionId === 'sleep'), 'unrelated actions are not suggested');
      await alex.clickAction('open-form', { actionId: 'echo' });
      const form = await waitForMessage(alex, 'the prefilled form', (messages) => newest(messages, withAction('submit-form', { actionId: 'echo' })));
      assert.equal(form.inputs.find((input) => input.id.endsWith('Message'))?.value, 'hello-there');

      await alex.sendText('hello');
      const nothing = await waitForMessage(alex, 'the answer to "hello"', (messages) => newest(messages, (message) => /did not understand “hello”/.test(message.text)));
      assert.ok(nothing.actions.some((action) => action.verb === 'show-actions'), 'it offers the list instead');
    });

    it('notifies a second principal named by the action, who approves; the requester sees the result', async () => {
      const cyra = await harness.asPrincipal('cyra');
      await cyra.sendText('hello');
      await waitForMessage(cyra, 'cyra’s first answer', (messages) => messages.at(-1));
      const cyraCount = (await cyra.messages()).length;

      const alex = await harness.asPrincipal('alex');
      const form = await openForm(alex, 'echo-four-eyes');
      await alex.submitForm({ Message: 'four eyes please' });
      const waiting = await waitForMessage(alex, 'the request waiting for approval', (messages) =>
        messages.find((message) => message.id === form.id && !withAction('submit-form')(message)));
      assert.ok(!waiting.actions.some((action) => action.verb === 'decide-run'), 'the requester cannot approve their own run');
      // The requester's options are real ones: withdraw the request (no "Show my options" that does nothing).
      assert.ok(waiting.actions.some((action) => action.verb === 'cancel-run'), `the requester may withdraw: ${JSON.stringify(waiting.actions)}`);
      assert.ok(!waiting.actions.some((action) => action.verb === 'refresh-run' && /options/i.test(action.title)), 'no "Show my options" for the requester');
      assert.match(waiting.text, /The message/, 'inputs are shown with the form’s labels');

      const request = await waitForMessage(cyra, 'the approval request for cyra', (messages) =>
        messages.slice(cyraCount).find(withAction('decide-run', { decision: 'approve' })));
      assert.match(request.text, /four eyes please/);
      await cyra.clickAction('decide-run', { decision: 'approve' });

      await waitForMessage(alex, 'the summary after approval', (messages) =>
        messages.find((message) => message.id === form.id && /Succeeded/.test(message.text)));
      const result = await waitForMessage(cyra, 'the result notification for cyra', (messages) =>
        messages.slice(cyraCount).find((message) => /Succeeded/.test(message.text) && /four eyes please/.test(message.text)));
      assert.ok(!result.actions.some((action) => action.verb === 'open-form'), 'no "Run again" on someone else’s run');
    });

    it('answers an unknown user with one sentence and nothing else', async () => {
      const stranger = await harness.asUnknownUser();
      await stranger.sendText('help');
      const answer = await waitForMessage(stranger, 'the not-enrolled answer', (messages) => messages.at(-1));
      assert.equal(answer.text.trim(), ERRORS.DEPUTY_E_NOT_ENROLLED.message);
      assert.deepEqual(answer.actions, []);
      await stranger.clickAction('open-form', { actionId: 'echo' }).then(
        () => assert.fail('there is no button to press'),
        () => undefined,
      );
      await new Promise((resolve) => setTimeout(resolve, 500));
      assert.equal((await stranger.messages()).length, 1, 'exactly one message');
    });
  });
}
