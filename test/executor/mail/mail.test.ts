import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { RunView } from '../../../executor/contract/index.ts';
import { startTestExecutor, type TestExecutor } from '../../helpers/executor.ts';
import type { AutomationCatalog } from '../connectors/fixture.ts';
import { MAILBOX, MailSink, prepareMailCatalog, sendMail, type OutgoingTestMail } from './fixture.ts';

const ALICE = 'alice@contoso.example';

/** Every file under a folder, as text (the data folder: audit, runs, output, ledgers). */
function allText(folder: string): string {
  return readdirSync(folder)
    .map((name) => join(folder, name))
    .map((path) => (statSync(path).isDirectory() ? allText(path) : readFileSync(path, 'utf8')))
    .join('\n');
}

describe('e-mail connector (real SMTP on loopback, real executor, real pwsh)', function () {
  this.timeout(60_000);
  const sink = new MailSink();
  let catalog: AutomationCatalog;
  let executor: TestExecutor;
  let port: number;
  let counter = 0;
  const send = (mail: Partial<OutgoingTestMail> & { subject: string }) =>
    sendMail(port, { from: ALICE, text: '', messageId: `<test-${++counter}-${Date.now()}@contoso.example>`, ...mail });
  const mailRuns = async () => {
    const { runs } = (await (await executor.operatorApi('/v1/runs?principal=mail-bot&limit=500')).json()) as { runs: RunView[] };
    return runs;
  };
  const mailAudit = async (messageId: string) => (await executor.store.audit.read({ limit: 10_000 })).filter((entry) => entry.type === 'mail.message' && entry.detail.messageId === messageId);

  before(async () => {
    await sink.start();
    catalog = prepareMailCatalog(sink.port);
    executor = await startTestExecutor({ catalog: catalog.folder });
    const address = executor.mail.address('mailbox');
    assert.ok(address, 'the mailbox listens');
    assert.equal(address.host, '127.0.0.1');
    port = address.port;
  });
  after(async () => {
    await executor?.dispose();
    await sink.close();
    catalog?.cleanup();
  });

  it('starts the action named in the subject as the bound principal and mails the result back in the same thread', async () => {
    const messageId = await send({ subject: 'Run echo', text: 'Hello Deputy,\n\nmessage: hello from mail\nTimes: 2\n-- \nMessage: not a parameter after the signature\n' });
    const reply = await sink.waitForReply(messageId);
    const [run] = (await mailRuns()).filter((candidate) => candidate.origin.conversationId === messageId);
    assert.ok(run, 'a run was started');
    assert.equal(run.state, 'succeeded');
    assert.equal(run.actionId, 'echo');
    assert.equal(run.principalId, 'mail-bot');
    assert.deepEqual(run.origin, { kind: 'mail', conversationId: messageId });
    assert.deepEqual(run.inputs, { Message: 'hello from mail', Times: 2 });

    assert.deepEqual(reply.recipients, [ALICE]);
    assert.equal(reply.parsed.from?.value[0]?.address, MAILBOX);
    assert.equal(reply.parsed.subject, 'Re: Run echo');
    assert.equal(reply.parsed.headers.get('auto-submitted'), 'auto-replied');
    assert.deepEqual(reply.parsed.references, messageId);
    const text = reply.parsed.text ?? '';
    assert.match(text, new RegExp(`Run ${run.id} of "Echo a message" \\(echo\\): succeeded`));
    assert.equal(text.split('\n').filter((line) => line === '  hello from mail').length, 2, text);
    assert.match(text, /Warnings:\n {2}echoed 2 time\(s\)/);
    assert.ok(text.includes(`Correlation id: ${run.correlationId}`));

    const [decision] = await mailAudit(messageId);
    assert.equal(decision?.outcome, 'allowed');
    assert.equal(decision?.via, 'mail:mailbox');
    assert.equal(decision?.detail.runId, run.id);
    assert.equal(decision?.correlationId, run.correlationId);
    const audit = await executor.store.audit.read({ limit: 10_000 });
    assert.equal(audit.find((entry) => entry.type === 'run.request' && entry.detail.runId === run.id)?.via, 'mail:mailbox');
    // The reply is audited once the mail server has taken it, which may be just after the sink saw it.
    let replyAudited = false;
    for (const until = Date.now() + 10_000; !replyAudited && Date.now() < until; await new Promise((resolve) => setTimeout(resolve, 50))) {
      const entries = await executor.store.audit.read({ limit: 10_000 });
      replyAudited = entries.some((entry) => entry.type === 'mail.reply' && entry.subject === run.id && entry.outcome === 'info' && entry.detail.kind === 'result');
    }
    assert.ok(replyAudited, 'the result reply is audited');
  });

  it('has no web hook: POST /v1/hooks/<mail connector> is not found', async () => {
    const response = await fetch(`${executor.url}/v1/hooks/mailbox`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    assert.equal(response.status, 404);
    assert.equal(((await response.json()) as { error: { code: string } }).error.code, 'DEPUTY_E_NOT_FOUND');
  });

  it('accepts a whole allowed domain and the [deputy] subject form', async () => {
    const messageId = await send({ from: 'night-shift@ops.contoso.example', subject: '[deputy] echo', text: 'Message: from ops' });
    const reply = await sink.waitForReply(messageId);
    assert.deepEqual(reply.recipients, ['night-shift@ops.contoso.example']);
    assert.match(reply.parsed.text ?? '', /succeeded[\s\S]*\n {2}from ops\n/);
  });

  it('answers a sender who is not allowed with a refusal and starts nothing', async () => {
    const before = (await mailRuns()).length;
    for (const from of ['mallory@evil.example', 'alice@contoso.example.evil.example']) {
      const messageId = await send({ from, subject: 'Run echo', text: 'Message: let me in' });
      const reply = await sink.waitForReply(messageId);
      assert.deepEqual(reply.recipients, [from]);
      const text = reply.parsed.text ?? '';
      assert.match(text, /did not start a run/);
      assert.match(text, /Your address is not allowed to use this mailbox\./);
      assert.ok(!text.includes('echo-admins'), 'a stranger is not told which actions exist');
      const [decision] = await mailAudit(messageId);
      assert.equal(decision?.outcome, 'denied');
      assert.equal(decision?.detail.sender, from);
    }
    // A From header that the envelope does not back up is refused too (answered at the envelope sender).
    const spoofed = await send({ from: ALICE, envelopeFrom: 'mallory@evil.example', subject: 'Run echo', text: 'Message: spoofed' });
    const reply = await sink.waitForReply(spoofed);
    assert.deepEqual(reply.recipients, ['mallory@evil.example']);
    assert.match(reply.parsed.text ?? '', /does not match the envelope sender/);
    assert.equal((await mailRuns()).length, before, 'no run was started');
  });

  it('refuses invalid inputs naming the field, and an unknown action listing the mailbox actions', async () => {
    const before = (await mailRuns()).length;
    const tooMany = await send({ subject: 'Run echo', text: 'Message: hi\nTimes: 9' });
    const refusal = (await sink.waitForReply(tooMany)).parsed.text ?? '';
    assert.match(refusal, /Some values are not valid/);
    assert.match(refusal, /Fields to correct:\n {2}Times: /);
    assert.ok(!/\n {2}Message: /.test(refusal), 'only the wrong field is named');
    assert.deepEqual((await mailAudit(tooMany))[0]?.detail.fields, ['Times']);

    const missing = await send({ subject: 'Run echo', text: 'Times: 1' });
    assert.match((await sink.waitForReply(missing)).parsed.text ?? '', /\n {2}Message: .*required/);

    const unknown = await send({ subject: 'Run reboot-everything', text: '' });
    const unknownText = (await sink.waitForReply(unknown)).parsed.text ?? '';
    assert.match(unknownText, /"reboot-everything" is not one of this mailbox's actions\./);
    assert.match(unknownText, /\n {2}echo\n {2}secret\n {2}echo-admins\n/);
    const notACommand = await send({ subject: 'Lunch on Friday?', text: 'Message: hi' });
    assert.match((await sink.waitForReply(notACommand)).parsed.text ?? '', /The subject does not name an action\./);
    assert.equal((await mailRuns()).length, before);
  });

  it('still applies the policy: an action the bound principal may not run is refused', async () => {
    const before = (await mailRuns()).length;
    const messageId = await send({ subject: 'Run echo-admins', text: 'Message: please' });
    const text = (await sink.waitForReply(messageId)).parsed.text ?? '';
    assert.match(text, /Reason: You are not allowed to do that\./);
    const [decision] = await mailAudit(messageId);
    assert.equal(decision?.outcome, 'denied');
    assert.equal(decision?.detail.code, 'DEPUTY_E_FORBIDDEN');
    assert.ok(text.includes(`Correlation id: ${decision?.correlationId}`));
    const request = (await executor.store.audit.read({ limit: 10_000 })).find((entry) => entry.type === 'run.request' && entry.correlationId === decision?.correlationId);
    assert.equal(request?.outcome, 'denied');
    assert.equal(request?.actor, 'mail-bot');
    assert.equal((await mailRuns()).length, before);
  });

  it('starts nothing for a repeated Message-ID, also when the repeats arrive together', async () => {
    const messageId = `<repeat-${Date.now()}@contoso.example>`;
    await send({ subject: 'Run echo', text: 'Message: only once', messageId });
    await sink.waitForReply(messageId);
    await Promise.all([1, 2, 3].map(() => send({ subject: 'Run echo', text: 'Message: only once', messageId })));
    await executor.runs.idle();
    await new Promise((resolve) => setTimeout(resolve, 300));
    assert.equal((await mailRuns()).filter((run) => run.origin.conversationId === messageId).length, 1);
    assert.equal(sink.repliesTo(messageId).length, 1, 'one answer only');
    const decisions = await mailAudit(messageId);
    assert.equal(decisions.length, 4);
    assert.equal(decisions.filter((entry) => entry.detail.reason === 'repeated Message-ID: already handled').length, 3);
  });

  it('does not answer bounces or automatic replies (no mail loops)', async () => {
    const before = sink.received.length;
    const auto = await send({ subject: 'Run echo', text: 'Message: out of office', headers: { 'Auto-Submitted': 'auto-replied' } });
    const bounce = await send({ subject: 'Run echo', text: 'Message: bounce', envelopeFrom: '' });
    await new Promise((resolve) => setTimeout(resolve, 300));
    assert.equal(sink.received.length, before);
    assert.match(String((await mailAudit(auto))[0]?.detail.reason), /automatic message/);
    assert.match(String((await mailAudit(bounce))[0]?.detail.reason), /bounce/);
  });

  it('never lets a secret parameter value reach the reply, the audit log or the run log', async () => {
    const secret = 'S3cret-Mail-Value-42';
    const messageId = await send({ subject: 'Run secret', text: `Password: ${secret}` });
    const reply = await sink.waitForReply(messageId);
    const [run] = (await mailRuns()).filter((candidate) => candidate.origin.conversationId === messageId);
    assert.ok(run);
    assert.equal(run.state, 'succeeded');
    const text = reply.parsed.text ?? '';
    assert.match(text, /\n {2}length=20\n/, 'the script got the value');
    assert.match(text, /leaked=\*{8}/);
    assert.ok(!reply.raw.includes(secret), 'not in the reply');
    const full = await (await executor.operatorApi(`/v1/runs/${run.id}`)).text();
    assert.ok(full.includes('leaked='), 'the run log holds the output');
    assert.ok(!full.includes(secret), 'not in the run log');
    assert.ok(!JSON.stringify(await executor.store.audit.read({ limit: 10_000 })).includes(secret), 'not in the audit log');
    await executor.runs.idle();
    assert.ok(!allText(executor.dataDir).includes(secret), 'not in any file of the data folder');
  });
});
