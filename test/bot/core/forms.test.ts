/**
 * Forms faithful to PowerShell, as the bot core shows them (real executor, real pwsh, the forms
 * fixture catalog): help in the user's language, choices from queries loaded when the form
 * opens (and again on "Update choices"), a set chooser whose choice the run keeps, and a
 * ScriptRunner script's result message and HTML report.
 */
import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FileConversations } from '../../../bot/store/port.ts';
import { BotCore } from '../../../bot/core/core.ts';
import { ExecutorClient } from '../../../bot/core/executor-client.ts';
import type { Inbound, Screen } from '../../../bot/core/model.ts';
import { formInputId, PARAMETER_SET_KEY } from '../../../cards/form.ts';
import { PROJECT_ROOT } from '../../../executor/pwsh/locate.ts';
import { systemClock } from '../../../lib/clock.ts';
import { silentLogger } from '../../../lib/logger.ts';
import { startTestExecutor, type TestExecutor } from '../../helpers/executor.ts';
import { RecordingPort } from './recording-port.ts';

const CATALOG = join(PROJECT_ROOT, 'test', 'fixtures', 'forms-catalog');

function submit(persona: string, verb: Extract<Inbound, { kind: 'submit' }>['verb'], data: Record<string, unknown>, locale?: string, messageId?: string): Inbound {
  return {
    kind: 'submit',
    user: { identity: { channel: 'webchat', persona }, ...(locale ? { locale } : {}) },
    conversation: { channel: 'webchat', conversationId: 'c1' },
    verb,
    data,
    ...(messageId ? { messageId } : {}),
  };
}

function form(screen: Screen | undefined): Extract<Screen, { screen: 'action-form' }> {
  assert.equal(screen?.screen, 'action-form', JSON.stringify(screen)?.slice(0, 400));
  return screen as Extract<Screen, { screen: 'action-form' }>;
}

describe('bot core: forms faithful to PowerShell', function () {
  this.timeout(90_000);
  let executor: TestExecutor;
  let dataDir: string;
  let port: RecordingPort;
  let core: BotCore;

  before(async () => {
    executor = await startTestExecutor({ catalog: CATALOG });
    dataDir = mkdtempSync(join(tmpdir(), 'deputy-core-forms-'));
    port = new RecordingPort();
    const conversations = await FileConversations.open(join(dataDir, 'bot-conversations.json'));
    core = new BotCore({ executor: new ExecutorClient({ baseUrl: executor.url, token: executor.token }), logger: silentLogger(), clock: systemClock, conversations, edges: [{ channel: 'webchat', port }] });
    await core.start();
  });
  after(async () => {
    await core.close();
    await executor.dispose();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('shows the help in the user\'s language, and the default elsewhere', async () => {
    const german = form((await core.handle(submit('alex', 'open-form', { actionId: 'move-user' }, 'de-DE'))).immediate);
    assert.deepEqual(german.action.form.fields.map((field) => field.label), ['Büro, zu dem der Benutzer jetzt gehört', 'Der Benutzer, der umzieht', 'Das neue Büro']);
    const swiss = form((await core.handle(submit('alex', 'open-form', { actionId: 'move-user' }, 'de-CH'))).immediate);
    assert.equal(swiss.action.form.fields[0]?.label, 'Büro, zu dem der Benutzer jetzt gehört');
    const french = form((await core.handle(submit('alex', 'open-form', { actionId: 'move-user' }, 'fr-FR'))).immediate);
    assert.deepEqual(french.action.form.fields.map((field) => field.label), ['Office the user belongs to now', 'The user to move', 'The new office']);
    assert.ok(!JSON.stringify(german).includes('[sr-'));
  });

  it('loads the choices a form can have when it opens, and those that depend on a field once it has a value', async () => {
    const opened = form((await core.handle(submit('alex', 'open-form', { actionId: 'move-user' }))).immediate);
    assert.deepEqual(opened.choices?.Office?.map((choice) => choice.value), ['HAM', 'MUC', 'BER']);
    assert.equal(opened.choices?.User, undefined);
    assert.deepEqual(opened.waitingFor, { User: ['Office the user belongs to now'] });
    const updated = form((await core.handle(submit('alex', 'update-form', { actionId: 'move-user', [formInputId('Office')]: 'MUC' }))).immediate);
    assert.equal(updated.values?.Office, 'MUC');
    assert.deepEqual(updated.choices?.User?.map((choice) => choice.value), ['mmaier@contoso.example', 'kkoch@contoso.example']);
    assert.equal(updated.waitingFor, undefined);
  });

  it('answers a client\'s search (Teams typeahead, Slack external select) with the choices it may see', async () => {
    const user = { identity: { channel: 'webchat' as const, persona: 'alex' } };
    assert.deepEqual(await core.choices(user, { actionId: 'move-user', parameter: 'Office', search: 'ber', values: {} }), [{ value: 'BER', title: 'Berlin' }]);
    assert.deepEqual((await core.choices(user, { actionId: 'move-user', parameter: 'User', values: { Office: 'HAM' } })).length, 3);
    // Not hers to run: nothing, and no error reaches the client.
    assert.deepEqual(await core.choices({ identity: { channel: 'webchat', persona: 'bea' } }, { actionId: 'move-user-uncached', parameter: 'Office', values: {} }), []);
  });

  it('a choice the query does not offer comes back on the form, next to its field', async () => {
    const answer = form(
      (await core.handle(submit('alex', 'submit-form', { actionId: 'move-user', [formInputId('Office')]: 'HAM', [formInputId('User')]: 'mmaier@contoso.example' }))).immediate,
    );
    assert.match(answer.errors?.User ?? '', /not one of the choices/);
    assert.deepEqual(answer.choices?.User?.map((choice) => choice.value), ['awagner@contoso.example', 'bberger@contoso.example', 'upatel@contoso.example']);
  });

  it('runs the set whose Run button was pressed, reading only that set\'s part of the card', async () => {
    const opened = form((await core.handle(submit('alex', 'open-form', { actionId: 'auto-reply' }))).immediate);
    assert.deepEqual(opened.action.form.parameterSets?.map((set) => set.name), ['Enable', 'Disable', 'Schedule']);
    const scheduleIndex = 2;
    // The card sends every input, the other parts' too: only the pressed set's values count.
    const data = {
      actionId: 'auto-reply',
      [PARAMETER_SET_KEY]: 'Schedule',
      [formInputId('Mailbox')]: 'a.b@contoso.example',
      [formInputId('Message', 0)]: 'typed in Enable, then left',
      [formInputId('Message', scheduleIndex)]: 'Back on Monday',
      [formInputId('Start', scheduleIndex)]: '2026-04-01',
      [formInputId('End', scheduleIndex)]: '2026-04-03',
      [formInputId('Disable', 1)]: 'false',
    };
    const shown = (await core.handle(submit('alex', 'submit-form', data, undefined, 'card-1'))).immediate;
    assert.ok(shown && (shown.screen === 'run-status' || shown.screen === 'run-summary'), JSON.stringify(shown));
    const runId = shown.run.id;
    const run = await executor.waitForRun(runId);
    assert.equal(run.parameterSet, 'Schedule');
    assert.deepEqual(run.inputs, { Mailbox: 'a.b@contoso.example', Message: 'Back on Monday', Start: '2026-04-01', End: '2026-04-03' });
    assert.equal(run.summary?.message, 'Automatic replies of a.b@contoso.example from 2026-04-01 to 2026-04-03: Back on Monday');
  });

  it('an incomplete set comes back with that set open and its missing fields named', async () => {
    const answer = form((await core.handle(submit('alex', 'submit-form', { actionId: 'auto-reply', [PARAMETER_SET_KEY]: 'Schedule', [formInputId('Mailbox')]: 'a.b@contoso.example' }))).immediate);
    assert.equal(answer.parameterSet, 'Schedule');
    assert.deepEqual(Object.keys(answer.errors ?? {}).sort(), ['End', 'Message', 'Start']);
  });

  it('posts a ScriptRunner script\'s HTML report as a file in the run\'s conversation', async () => {
    const posted = await port.post({ channel: 'webchat', conversationId: 'c2' }, { screen: 'notice', text: 'form' });
    const data = { actionId: 'auto-reply', [formInputId('Mailbox')]: 'c.d@contoso.example', [formInputId('Message', 0)]: 'Away', [PARAMETER_SET_KEY]: 'Enable' };
    await core.handle({ ...submit('alex', 'submit-form', data, undefined, posted), conversation: { channel: 'webchat', conversationId: 'c2' } });
    const deadline = Date.now() + 30_000;
    while (!port.files.some((item) => item.conversationId === 'c2') && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
    const file = port.files.find((item) => item.conversationId === 'c2')?.file;
    assert.equal(file?.contentType, 'text/html');
    assert.match(file?.content ?? '', /^<p>Enable for c\.d@contoso\.example, started by alex\.wagner@contoso\.example: Started from the web chat for Alex Wagner<\/p>$/);
    const summary = port.in('c2').find((message) => message.id === posted)?.screen;
    assert.equal(summary?.screen, 'run-summary');
    if (summary?.screen === 'run-summary') assert.equal(summary.run.summary?.message, 'Automatic replies of c.d@contoso.example are on: Away');
  });
});
