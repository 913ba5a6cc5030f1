import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import sinon from 'sinon';
import type { RunView } from '../../../executor/contract/index.ts';
import type { ConversationHandler, ConversationRef, HandleResult, Inbound, Screen } from '../../../bot/core/model.ts';
import { isAllowedFileHost, TEAMS_FILE_HOSTS } from '../../../bot/teams/edge.ts';
import { TEAMS_FILE_DOWNLOAD_INFO } from '../../../bot/teams/translate.ts';
import { FakeBotFrameworkCloud, type RecordedCall } from './fake-cloud.ts';
import {
  channel,
  executeActivity,
  groupChat,
  messageActivity,
  personalChat,
  send,
  startTeamsEdge,
  teamsUser,
  TENANT_ID,
  type RunningBot,
} from './harness.ts';

const notice = (text: string): Screen => ({ screen: 'notice', text });

function run(overrides: Partial<RunView> = {}): RunView {
  return {
    id: 'run_1',
    actionId: 'set-ooo',
    actionTitle: 'Set an out-of-office reply',
    principalId: 'alex',
    state: 'awaiting-approval',
    inputs: { Mailbox: 'kim@contoso.com' },
    origin: { kind: 'teams' },
    correlationId: 'c0ffee00-0000-4000-8000-000000000001',
    scriptHash: 'a'.repeat(64),
    createdAt: '2026-01-01T00:00:00.000Z',
    updatedAt: '2026-01-01T00:00:00.000Z',
    approval: { required: true },
    ...overrides,
  };
}

/** A handler whose answer the test decides; a sinon spy records every Inbound that reached it. */
function handlerAnswering(answer: (event: Inbound) => Promise<HandleResult> | HandleResult) {
  const handle = sinon.spy(async (event: Inbound) => answer(event));
  const handler: ConversationHandler = { handle };
  return { handler, handle };
}

function attachmentCard(call: RecordedCall): Record<string, unknown> {
  const attachments = call.body.attachments as { contentType: string; content: Record<string, unknown> }[];
  assert.equal(attachments[0]?.contentType, 'application/vnd.microsoft.card.adaptive');
  return attachments[0]!.content;
}

function cardText(card: unknown): string {
  return JSON.stringify(card);
}

describe('Teams edge (real botbuilder against a loopback Bot Framework)', function () {
  this.timeout(20_000);
  let cloud: FakeBotFrameworkCloud;
  const members = new Map<string, { id: string; aadObjectId: string; name: string }[]>();
  let bot: RunningBot | undefined;

  before(async () => {
    cloud = await new FakeBotFrameworkCloud({ members: (id) => members.get(id.replace(/;messageid=\d+$/, '')) ?? [] }).start();
  });
  after(async () => {
    await cloud.close();
  });
  afterEach(async () => {
    await bot?.close();
    bot = undefined;
    sinon.restore();
  });

  it('hands a verified message to the core once, without the @mention, and posts its card as a reply', async () => {
    const { handler, handle } = handlerAnswering(() => ({ immediate: notice('Here are your actions') }));
    bot = await startTeamsEdge(cloud, handler);
    const user = teamsUser('alex');
    const conversation = groupChat();
    const activity = messageActivity(cloud, user, conversation, '  help ');

    const response = await send(bot.url, activity, await cloud.token());

    assert.equal(response.status, 200);
    assert.equal(handle.callCount, 1);
    const inbound = handle.firstCall.args[0];
    assert.equal(inbound.kind, 'message');
    assert.equal(inbound.kind === 'message' && inbound.text, 'help');
    assert.deepEqual(inbound.user.identity, { channel: 'teams', tenantId: TENANT_ID, aadObjectId: user.aadObjectId });
    assert.equal(inbound.conversation.conversationId, conversation.id);
    assert.equal((inbound.conversation.platform?.serviceUrl as string | undefined), cloud.serviceUrl);

    const reply = await cloud.waitForCall((call) => call.conversationId === conversation.id);
    assert.equal(reply.method, 'POST');
    assert.equal(reply.activityId, activity.id, 'the card is a reply to the message');
    assert.ok(cloud.issuedTokens.has(reply.authorization!.replace('Bearer ', '')), 'the bot used the token the fake AAD issued');
    assert.match(cardText(attachmentCard(reply)), /Here are your actions/);
  });

  describe('a file attached in a personal chat', () => {
    const withFile = (downloadUrl: string, name = 'Tool.ps1') => {
      const activity = messageActivity(cloud, teamsUser('alex'), personalChat(), '');
      return { ...activity, attachments: [{ contentType: TEAMS_FILE_DOWNLOAD_INFO, contentUrl: downloadUrl, name, content: { downloadUrl, uniqueId: 'u1', fileType: 'ps1' } }] };
    };

    it('is downloaded from its pre-authorized address and handed to the core as a file', async () => {
      const { handler, handle } = handlerAnswering(() => ({ immediate: notice('got it') }));
      bot = await startTeamsEdge(cloud, handler, { insecureFileDownloads: true, fileHosts: ['127.0.0.1'] });
      const address = cloud.hostFile('Tool.ps1', 'param()\n"tool"\n');
      assert.equal((await send(bot.url, withFile(address), await cloud.token())).status, 200);
      const inbound = handle.firstCall.args[0];
      assert.equal(inbound.kind, 'file');
      assert.deepEqual(inbound.kind === 'file' && inbound.file, { name: 'Tool.ps1', text: 'param()\n"tool"\n' });
      assert.ok(cloud.downloads.includes(new URL(address).pathname));
    });

    it('is not fetched from a host that is not a file host (an address inside the network), nor for a sender without a Teams identity', async () => {
      const { handler, handle } = handlerAnswering(() => ({ immediate: notice('got it') }));
      bot = await startTeamsEdge(cloud, handler, { insecureFileDownloads: true });
      const address = cloud.hostFile('Tool.ps1', 'param()\n"tool"\n');
      assert.equal((await send(bot.url, withFile(address), await cloud.token())).status, 200);
      const inbound = handle.firstCall.args[0];
      assert.deepEqual(inbound.kind === 'file' && inbound.file, { name: 'Tool.ps1', problem: 'unreadable' });

      await bot.close();
      bot = await startTeamsEdge(cloud, handler, { insecureFileDownloads: true, fileHosts: ['127.0.0.1'] });
      const anonymous = withFile(address);
      const sent = await send(bot.url, { ...anonymous, from: { id: anonymous.from.id, name: 'someone' } }, await cloud.token());
      assert.equal(sent.status, 200);
      assert.equal(handle.callCount, 1, 'the core never saw the unidentified sender');
      assert.ok(!cloud.downloads.includes(new URL(address).pathname), 'nothing was downloaded');
    });

    it('is read only in a personal chat: in a group chat or channel the message is a message', async () => {
      const { handler, handle } = handlerAnswering(() => ({ immediate: notice('got it') }));
      bot = await startTeamsEdge(cloud, handler, { insecureFileDownloads: true, fileHosts: ['127.0.0.1'] });
      const address = cloud.hostFile('Tool.ps1', 'param()\n"tool"\n');
      const inGroup = { ...messageActivity(cloud, teamsUser('alex'), groupChat(), 'look'), attachments: withFile(address).attachments };
      assert.equal((await send(bot.url, inGroup, await cloud.token())).status, 200);
      assert.equal(handle.firstCall.args[0].kind, 'message');
      assert.ok(!cloud.downloads.includes(new URL(address).pathname), 'nothing was downloaded');
    });

    it('takes only the file hosts it is given: the hosts below a domain, never a look-alike', () => {
      for (const host of ['contoso-my.sharepoint.com', 'Contoso.SharePoint.com', 'contoso.sharepoint.com.']) assert.ok(isAllowedFileHost(host, TEAMS_FILE_HOSTS), host);
      for (const host of ['sharepoint.com', 'evilsharepoint.com', 'contoso.sharepoint.com.evil.example', '127.0.0.1', 'localhost', 'metadata.google.internal']) {
        assert.equal(isAllowedFileHost(host, TEAMS_FILE_HOSTS), false, host);
      }
    });

    it('is not fetched from a plain-http address unless a test says so', async () => {
      const { handler, handle } = handlerAnswering(() => ({ immediate: notice('got it') }));
      bot = await startTeamsEdge(cloud, handler);
      const address = cloud.hostFile('Tool.ps1', 'param()\n"tool"\n');
      assert.equal((await send(bot.url, withFile(address), await cloud.token())).status, 200);
      const inbound = handle.firstCall.args[0];
      assert.deepEqual(inbound.kind === 'file' && inbound.file, { name: 'Tool.ps1', problem: 'unreadable' });
      assert.ok(!cloud.downloads.includes(new URL(address).pathname), 'nothing was downloaded');
    });
  });

  describe('refuses what botbuilder cannot verify, before the core sees it', () => {
    const otherKey = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
    const cases: [string, () => Promise<string | undefined>][] = [
      ['a forged token (signed with another key)', () => cloud.token({ signingKey: otherKey })],
      ['an expired token', () => cloud.token({ expiresIn: -600 })],
      ['a token for another bot (wrong audience)', () => cloud.token({ audience: '00000000-0000-4000-8000-000000000000' })],
      ['a token from another issuer', () => cloud.token({ issuer: 'https://login.example.invalid' })],
      ['a token minted for another service URL', () => cloud.token({ serviceUrl: 'https://smba.trafficmanager.net/emea/' })],
      ['no token at all', async () => undefined],
    ];
    for (const [name, token] of cases) {
      it(`401 for ${name}`, async () => {
        sinon.stub(console, 'error'); // botbuilder logs every refusal to the console
        const { handler, handle } = handlerAnswering(() => ({ immediate: notice('should not happen') }));
        bot = await startTeamsEdge(cloud, handler);
        const callsBefore = cloud.calls.length;
        const user = teamsUser('mallory');

        const message = await send(bot.url, messageActivity(cloud, user, personalChat(), 'help'), await token());
        const invoke = await send(
          bot.url,
          executeActivity(cloud, user, personalChat(), { verb: 'decide-run', data: { runId: 'run_1', decision: 'approve' }, replyToId: '1' }),
          await token(),
        );

        assert.equal(message.status, 401);
        assert.equal(invoke.status, 401);
        assert.equal(handle.callCount, 0, 'nothing reached the core');
        assert.equal(cloud.calls.length, callsBefore, 'nothing was sent to the connector');
      });
    }
  });

  it('answers an Action.Execute invoke with the core\'s card in the invoke response', async () => {
    const { handler, handle } = handlerAnswering(() => ({ immediate: notice('Form for set-ooo') }));
    bot = await startTeamsEdge(cloud, handler);
    const user = teamsUser('alex');
    const activity = executeActivity(cloud, user, personalChat(), { verb: 'open-form', data: { actionId: 'set-ooo' }, replyToId: '1700000000001' });

    const response = await send(bot.url, activity, await cloud.token());

    assert.equal(response.status, 200);
    const body = response.body as { statusCode: number; type: string; value: unknown };
    assert.equal(body.statusCode, 200);
    assert.equal(body.type, 'application/vnd.microsoft.card.adaptive');
    assert.match(cardText(body.value), /Form for set-ooo/);
    const inbound = handle.firstCall.args[0];
    assert.deepEqual(
      { kind: inbound.kind, verb: inbound.kind === 'submit' && inbound.verb, data: inbound.kind === 'submit' && inbound.data, messageId: inbound.kind === 'submit' && inbound.messageId },
      { kind: 'submit', verb: 'open-form', data: { actionId: 'set-ooo' }, messageId: '1700000000001' },
    );
  });

  it('rejects an invoke with an unknown verb without bothering the core', async () => {
    const { handler, handle } = handlerAnswering(() => ({ immediate: notice('no') }));
    bot = await startTeamsEdge(cloud, handler);
    const activity = executeActivity(cloud, teamsUser('alex'), personalChat(), { verb: 'format-disk', data: {}, replyToId: '1' });

    const response = await send(bot.url, activity, await cloud.token());

    assert.equal(response.status, 200);
    assert.equal((response.body as { statusCode: number }).statusCode, 400);
    assert.equal(handle.callCount, 0);
  });

  it('answers within the deadline while the core is still working, then updates the card in place', async () => {
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    const { handler } = handlerAnswering(async () => {
      await released;
      return { immediate: notice('Run queued') };
    });
    bot = await startTeamsEdge(cloud, handler, { invokeDeadlineMs: 300 });
    const conversation = personalChat();
    const activity = executeActivity(cloud, teamsUser('alex'), conversation, { verb: 'submit-form', data: { actionId: 'set-ooo' }, replyToId: '1700000000002' });

    const response = await send(bot.url, activity, await cloud.token());

    assert.equal(response.status, 200);
    assert.ok(response.ms < 2000, `answered in ${Math.round(response.ms)} ms, inside Teams' five seconds`);
    assert.match(cardText((response.body as { value: unknown }).value), /Working on it/);
    release();
    const update = await cloud.waitForCall((call) => call.method === 'PUT' && call.conversationId === conversation.id);
    assert.equal(update.activityId, '1700000000002');
    assert.match(cardText(attachmentCard(update)), /Run queued/);
  });

  it('answers first and lets the core update the card later through the port', async () => {
    const conversation = personalChat();
    let background: Promise<void> | undefined;
    let edgeRef: RunningBot | undefined;
    const { handler } = handlerAnswering((event) => {
      // The core's slow part (the run) goes on after it answered.
      background = new Promise((resolve) => setTimeout(resolve, 400)).then(() =>
        edgeRef!.edge.port.update(event.conversation, (event as { messageId: string }).messageId, notice('Run succeeded')),
      );
      return { immediate: notice('Run queued') };
    });
    bot = edgeRef = await startTeamsEdge(cloud, handler);
    const activity = executeActivity(cloud, teamsUser('alex'), conversation, { verb: 'submit-form', data: { actionId: 'set-ooo' }, replyToId: '1700000000003' });

    const response = await send(bot.url, activity, await cloud.token());

    assert.match(cardText((response.body as { value: unknown }).value), /Run queued/);
    assert.equal(cloud.calls.filter((call) => call.conversationId === conversation.id).length, 0, 'the slow part had not finished when Teams got its answer');
    await background;
    const update = await cloud.waitForCall((call) => call.method === 'PUT' && call.activityId === '1700000000003');
    assert.match(cardText(attachmentCard(update)), /Run succeeded/);
  });

  it('refreshes a per-user card for each member of a small chat, and answers each refresh for that user', async () => {
    const approver = teamsUser('pat');
    const requester = teamsUser('alex');
    const conversation = groupChat();
    members.set(conversation.id, [approver, requester, teamsUser('kim')]);
    const { handler, handle } = handlerAnswering((event) => ({
      immediate: {
        screen: 'approval-request',
        run: run(),
        requester: 'Alex',
        viewerMayDecide: event.user.identity.channel === 'teams' && event.user.identity.aadObjectId === approver.aadObjectId,
      },
    }));
    bot = await startTeamsEdge(cloud, handler);

    // Someone's message makes the core answer with a per-user card (an approval request).
    const seen = await send(bot.url, messageActivity(cloud, requester, conversation, 'runs'), await cloud.token());
    assert.equal(seen.status, 200);
    const posted = await cloud.waitForCall((call) => call.conversationId === conversation.id);
    const refresh = attachmentCard(posted).refresh as { action: { verb: string; data: unknown }; userIds: string[] };
    assert.deepEqual(new Set(refresh.userIds), new Set([approver.id, requester.id, members.get(conversation.id)![2]!.id]));
    assert.equal(refresh.action.verb, 'refresh-run');

    // Each user's client refreshes on its own: the approver sees the buttons, the requester does not.
    const forApprover = await send(
      bot.url,
      executeActivity(cloud, approver, conversation, { verb: 'refresh-run', data: { runId: 'run_1' }, replyToId: '1', trigger: 'automatic' }),
      await cloud.token(),
    );
    const forRequester = await send(
      bot.url,
      executeActivity(cloud, requester, conversation, { verb: 'refresh-run', data: { runId: 'run_1' }, replyToId: '1', trigger: 'automatic' }),
      await cloud.token(),
    );
    assert.match(cardText((forApprover.body as { value: unknown }).value), /"verb":"decide-run"/);
    assert.doesNotMatch(cardText((forRequester.body as { value: unknown }).value), /"verb":"decide-run"/);
    const refreshes = handle.getCalls().map((call) => call.args[0]).filter((event) => event.kind === 'submit');
    assert.deepEqual(
      refreshes.map((event) => event.user.identity.channel === 'teams' && event.user.identity.aadObjectId),
      [approver.aadObjectId, requester.aadObjectId],
    );
  });

  it('keeps the member lists of a bounded number of conversations (the oldest is listed again)', async () => {
    const chats = [groupChat(), groupChat()];
    const listed: string[] = [];
    const counting = await new FakeBotFrameworkCloud({ members: (id) => (listed.push(id.replace(/;messageid=\d+$/, '')), [teamsUser('kim')]) }).start();
    const { handler } = handlerAnswering(() => ({ immediate: { screen: 'approval-request', run: run(), requester: 'Alex', viewerMayDecide: false } }));
    const edge = await startTeamsEdge(counting, handler, { maxAudiences: 1 });
    try {
      for (const chat of [chats[0], chats[0], chats[1], chats[0]]) {
        const before = counting.calls.length;
        await send(edge.url, messageActivity(counting, teamsUser('alex'), chat!, 'runs'), await counting.token());
        await counting.waitForCall((call) => counting.calls.indexOf(call) >= before && call.conversationId === chat!.id);
      }
      // The second message in the first chat used the cached list; after the other chat took the one place, it is listed again.
      assert.deepEqual(listed, [chats[0]!.id, chats[1]!.id, chats[0]!.id]);
    } finally {
      await edge.close();
      await counting.close();
    }
  });

  it('offers "Show my options" instead of an automatic refresh when a channel has more than 60 members', async () => {
    const conversation = channel();
    members.set(conversation.id, Array.from({ length: 61 }, (_, index) => teamsUser(`member${index}`)));
    const { handler } = handlerAnswering(() => ({
      immediate: { screen: 'approval-request', run: run(), requester: 'Alex', viewerMayDecide: false },
    }));
    bot = await startTeamsEdge(cloud, handler);
    const activity = messageActivity(cloud, teamsUser('alex'), conversation, 'runs');

    await send(bot.url, activity, await cloud.token());

    const posted = await cloud.waitForCall((call) => call.conversationId.startsWith(conversation.id));
    const card = attachmentCard(posted);
    assert.equal(card.refresh, undefined, 'no automatic refresh for an audience Teams would not serve');
    const actions = card.actions as { verb?: string; title?: string }[];
    assert.ok(actions.some((action) => action.verb === 'refresh-run' && action.title === 'Show my options'));
  });

  it('posts proactively after a restart, from the stored reference, into the channel thread', async () => {
    let stored = '';
    const first = handlerAnswering((event) => {
      stored = JSON.stringify(event.conversation); // what the core persists
      return {};
    });
    const conversation = channel();
    bot = await startTeamsEdge(cloud, first.handler);
    const message = messageActivity(cloud, teamsUser('alex'), conversation, 'actions');
    assert.equal((await send(bot.url, message, await cloud.token())).status, 200);
    await bot.close();

    // A new process: a new adapter and a new MSAL client, with only the stored reference.
    const second = handlerAnswering(() => ({}));
    bot = await startTeamsEdge(cloud, second.handler);
    const ref = JSON.parse(stored) as ConversationRef;
    assert.equal(ref.threadId, message.id, 'a top-level channel post starts the reply chain');

    const messageId = await bot.edge.port.post(ref, notice('Your run succeeded'));
    await bot.edge.port.update(ref, messageId, notice('Your run succeeded (updated)'));
    await bot.edge.port.postFile(ref, { name: 'output.txt', contentType: 'text/plain', content: 'line 1\nline 2' });

    const threadId = `${conversation.id};messageid=${message.id}`;
    const calls = cloud.calls.filter((call) => call.conversationId === threadId);
    assert.deepEqual(calls.map((call) => [call.method, call.activityId]), [
      ['POST', message.id],
      ['PUT', messageId],
      ['POST', message.id],
    ]);
    assert.match(cardText(attachmentCard(calls[0]!)), /Your run succeeded/);
    assert.match(cardText(attachmentCard(calls[1]!)), /updated/);
    const file = (calls[2]!.body.attachments as { name: string; contentUrl: string }[])[0]!;
    assert.equal(file.name, 'output.txt');
    assert.equal(Buffer.from(file.contentUrl.split(',')[1]!, 'base64').toString(), 'line 1\nline 2');
    assert.equal(second.handle.callCount, 0);
  });

  it('links long output at DEPUTY_PUBLIC_URL (an absolute, unguessable, expiring link) when it is set', async () => {
    let stored: ConversationRef | undefined;
    const { handler } = handlerAnswering((event) => {
      stored = event.conversation;
      return {};
    });
    const conversation = personalChat();
    bot = await startTeamsEdge(cloud, handler, { publicUrl: 'https://deputy.contoso.example/' });
    await send(bot.url, messageActivity(cloud, teamsUser('alex'), conversation, 'help'), await cloud.token());
    assert.ok(stored);
    await bot.edge.port.postFile(stored, { name: 'output.csv', contentType: 'text/csv', content: 'Log,Line\r\ndpkg,1\r\n' });
    const posted = cloud.calls.filter((call) => call.conversationId === conversation.id).at(-1);
    const link = (posted?.body.attachments as { contentUrl: string }[])[0]?.contentUrl ?? '';
    assert.match(link, /^https:\/\/deputy\.contoso\.example\/api\/files\/[\w-]{22}$/);
    const download = await fetch(`${bot.url.replace(/\/api\/messages$/, '')}${new URL(link).pathname}`);
    assert.equal(download.status, 200);
    assert.match(download.headers.get('content-disposition') ?? '', /filename="output.csv"/);
    assert.equal(await download.text(), 'Log,Line\r\ndpkg,1\r\n');

    // A script's HTML report: a download that, opened anyway, runs nothing with the bot's origin.
    await bot.edge.port.postFile(stored, { name: 'report.html', contentType: 'text/html', content: '<script>alert(document.domain)</script>' });
    const report = cloud.calls.filter((call) => call.conversationId === conversation.id).at(-1);
    const reportLink = (report?.body.attachments as { contentUrl: string }[])[0]?.contentUrl ?? '';
    const html = await fetch(`${bot.url.replace(/\/api\/messages$/, '')}${new URL(reportLink).pathname}`);
    assert.equal(html.headers.get('content-security-policy'), 'sandbox');
    assert.match(html.headers.get('content-disposition') ?? '', /^attachment;/);
    assert.equal((await fetch(`${bot.url.replace(/\/api\/messages$/, '')}/api/files/not-a-file-id-at-all0`)).status, 404);
  });

  it('opens a personal chat with a user seen in a channel, for notifications', async () => {
    let stored: ConversationRef | undefined;
    const { handler } = handlerAnswering((event) => {
      stored = event.conversation;
      return {};
    });
    bot = await startTeamsEdge(cloud, handler);
    const user = teamsUser('alex');
    await send(bot.url, messageActivity(cloud, user, channel(), 'hello'), await cloud.token());

    const personal = await bot.edge.personalConversationFor(stored!);
    await bot.edge.port.post(personal, notice('Direct note'));

    const created = await cloud.waitForCall((call) => call.path === '/v3/conversations');
    assert.deepEqual((created.body.members as { id: string }[]).map((member) => member.id), [user.id]);
    assert.equal(created.body.isGroup, false);
    const note = await cloud.waitForCall((call) => call.conversationId === personal.conversationId && call.path.endsWith('/activities'));
    assert.match(cardText(attachmentCard(note)), /Direct note/);
  });

  it('tells a user without an Entra identity so, and does not call the core', async () => {
    const { handler, handle } = handlerAnswering(() => ({ immediate: notice('no') }));
    bot = await startTeamsEdge(cloud, handler);
    const conversation = personalChat();
    const activity = messageActivity(cloud, teamsUser('guest'), conversation, 'help');
    delete activity.from.aadObjectId;

    await send(bot.url, activity, await cloud.token());

    const reply = await cloud.waitForCall((call) => call.conversationId === conversation.id);
    assert.match(cardText(attachmentCard(reply)), /could not read your Microsoft Entra identity/);
    assert.equal(handle.callCount, 0);
  });
});
