/**
 * The bot's routes read nothing before they know the caller (issue 14, item 3, and Slack's
 * replay window from item 12): the web chat after its Host and Direct Line token checks, Teams
 * after the Bot Framework token, Slack after well-formed, timely signature headers. No body is
 * ever inflated or parsed as multipart, and none is read past its limit.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import zlib from 'node:zlib';
import sinon from 'sinon';
import { loadBotConfig } from '../../bot/config.ts';
import { startBot, type RunningBot } from '../../bot/server.ts';
import type { ConversationHandler } from '../../bot/core/model.ts';
import { silentLogger } from '../../lib/logger.ts';
import { headFirst, rawRequest } from '../helpers/raw-http.ts';
import { startHarness, slackSignature, slashCommand, SIGNING_SECRET, type Harness } from './slack/harness.ts';
import { FakeBotFrameworkCloud } from './teams/fake-cloud.ts';
import { messageActivity, personalChat, startTeamsEdge, teamsUser, type RunningBot as TeamsBot } from './teams/harness.ts';
import { WEBCHAT_KEY_HEADER } from '../../bot/webchat/edge.ts';

const noticeHandler = (): ConversationHandler & { calls: number } => {
  const handler = {
    calls: 0,
    async handle() {
      handler.calls += 1;
      return { immediate: { screen: 'notice' as const, text: 'ok' } };
    },
  };
  return handler;
};

/** Runs `body` with TMPDIR pointing at a fresh folder, and answers what was left in it. */
async function filesLeftIn(body: () => Promise<void>): Promise<string[]> {
  const folder = mkdtempSync(join(tmpdir(), 'deputy-uploads-'));
  const previous = process.env.TMPDIR;
  process.env.TMPDIR = folder;
  try {
    await body();
    return readdirSync(folder);
  } finally {
    if (previous === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = previous;
    rmSync(folder, { recursive: true, force: true });
  }
}

function multipart(): { body: Buffer; contentType: string } {
  const boundary = 'deputy-boundary-1';
  const body = Buffer.concat([
    Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="user"\r\n\r\nalex\r\n`),
    Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="payload.bin"\r\nContent-Type: application/octet-stream\r\n\r\n`),
    Buffer.alloc(32 * 1024, 'x'),
    Buffer.from(`\r\n--${boundary}--\r\n`),
  ]);
  return { body, contentType: `multipart/form-data; boundary=${boundary}` };
}

describe('bot routes read bodies only after the caller is known', function () {
  this.timeout(60_000);
  let inflaters: sinon.SinonSpy[] = [];
  beforeEach(() => {
    inflaters = (['createGunzip', 'createInflate', 'createUnzip', 'createBrotliDecompress', 'createInflateRaw'] as const).map((name) => sinon.spy(zlib, name));
  });
  afterEach(() => sinon.restore());
  const inflated = () => inflaters.filter((spy) => spy.called).map((spy) => spy.toString());

  describe('the local web chat (demo bot server)', () => {
    let bot: RunningBot;
    let dataDir: string;
    before(async () => {
      dataDir = mkdtempSync(join(tmpdir(), 'deputy-bot-bodies-'));
      // No executor is needed for what these requests reach (or do not reach).
      const config = loadBotConfig({ DEPUTY_DATA_DIR: dataDir, DEPUTY_EXECUTOR_URL: 'http://127.0.0.1:9', DEPUTY_EXECUTOR_TOKEN: 'x'.repeat(43), DEPUTY_BOT_PORT: '0', DEPUTY_DEMO: '1' });
      bot = await startBot({ config, logger: silentLogger() });
    });
    after(async () => {
      await bot?.close();
      rmSync(dataDir, { recursive: true, force: true });
    });
    const host = () => `127.0.0.1:${new URL(bot.url).port}`;

    it('checks the Host before reading a body: a rebinding page posting a multipart upload leaves nothing behind', async () => {
      const { body, contentType } = multipart();
      const statuses: number[] = [];
      const left = await filesLeftIn(async () => {
        for (const requestHost of ['rebound.evil.example', host()]) {
          statuses.push((await rawRequest(bot.url, 'POST', '/v3/directline/tokens/generate', { host: requestHost, 'content-type': contentType, [WEBCHAT_KEY_HEADER]: bot.webChat?.key ?? '' }, body)).status);
        }
      });
      assert.deepEqual(left, []);
      assert.deepEqual(statuses, [403, 415], 'refused for its Host, then (from loopback) for its type');
    });

    it('checks the Direct Line token before reading an activity: no token, no read', async () => {
      const answer = await headFirst(bot.url, [
        'POST /v3/directline/conversations/any/activities HTTP/1.1',
        `Host: ${host()}`,
        'Authorization: Bearer not-a-token',
        'Content-Type: application/json',
        'Content-Length: 200000',
      ]);
      assert.equal(answer.status, 403, answer.text || 'no answer: the server waited for the body');
    });

    it('never inflates: a compressed body is 415 before routing, whoever sends it', async () => {
      const bomb = zlib.gzipSync(Buffer.from(JSON.stringify({ user: { id: 'alex' }, padding: 'a'.repeat(50 * 1024 * 1024) })));
      const answer = await rawRequest(bot.url, 'POST', '/v3/directline/tokens/generate', { host: host(), 'content-type': 'application/json', 'content-encoding': 'gzip' }, bomb);
      assert.equal(answer.status, 415, answer.body);
      assert.match(answer.body, /DEPUTY_E_UNSUPPORTED_MEDIA_TYPE/);
      assert.deepEqual(inflated(), []);
      const plain = await rawRequest(bot.url, 'POST', '/v3/directline/tokens/generate', { host: host(), 'content-type': 'application/json', [WEBCHAT_KEY_HEADER]: bot.webChat?.key ?? '' }, JSON.stringify({ user: { id: 'alex' } }));
      assert.equal(plain.status, 200, 'uncompressed JSON still works');
    });
  });

  describe('Slack (POST /slack/events)', () => {
    let harness: Harness;
    const handler = noticeHandler();
    before(async () => {
      harness = await startHarness(handler);
    });
    after(async () => harness?.close());
    const now = () => Math.floor(harness.clock.now() / 1000);

    it('answers 401 to a request without valid signature headers before reading its body', async () => {
      const { port } = new URL(harness.url);
      for (const signatureLines of [[], [`X-Slack-Request-Timestamp: ${now()}`, 'X-Slack-Signature: v0=nothex']]) {
        const answer = await headFirst(harness.url, [
          'POST /slack/events HTTP/1.1',
          `Host: 127.0.0.1:${port}`,
          'Content-Type: application/x-www-form-urlencoded',
          'Content-Length: 200000',
          ...signatureLines,
        ]);
        assert.equal(answer.status, 401, answer.text || 'no answer: the receiver waited for the body');
      }
    });

    it('refuses a correctly signed request from the future (more than 5 minutes ahead) and accepts one just inside', async () => {
      const body = new URLSearchParams(slashCommand('help')).toString();
      const ahead = await harness.send(body, 'application/x-www-form-urlencoded', { timestampSec: now() + 301 });
      assert.equal(ahead.status, 401);
      const callsBefore = handler.calls;
      const inside = await harness.send(body, 'application/x-www-form-urlencoded', { timestampSec: now() + 290 });
      assert.equal(inside.status, 200);
      assert.equal(handler.calls, callsBefore + 1);
    });

    it('refuses an exact replay within the window; after it, the request is stale anyway', async () => {
      const body = new URLSearchParams(slashCommand('help', 'U1')).toString();
      const timestampSec = now();
      const send = () =>
        fetch(harness.url, {
          method: 'POST',
          headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-slack-request-timestamp': String(timestampSec), 'x-slack-signature': slackSignature(SIGNING_SECRET, timestampSec, body) },
          body,
        });
      const callsBefore = handler.calls;
      assert.equal((await send()).status, 200);
      assert.equal((await send()).status, 401, 'the same signed request a second time');
      harness.clock.advance(60_000);
      assert.equal((await send()).status, 401, 'still inside its window');
      assert.equal(handler.calls, callsBefore + 1, 'the core saw it once');
      harness.clock.advance(5 * 60_000);
      assert.equal((await send()).status, 401, 'outside the window it is stale anyway');
    });

    it('refuses compressed and multipart bodies with 415, unread', async () => {
      const { port } = new URL(harness.url);
      for (const lines of [
        ['Content-Type: application/json', 'Content-Encoding: gzip'],
        ['Content-Type: multipart/form-data; boundary=x'],
      ]) {
        const answer = await headFirst(harness.url, ['POST /slack/events HTTP/1.1', `Host: 127.0.0.1:${port}`, 'Content-Length: 100000', `X-Slack-Request-Timestamp: ${now()}`, `X-Slack-Signature: v0=${'0'.repeat(64)}`, ...lines]);
        assert.equal(answer.status, 415, `${lines.join(' | ')}: ${answer.text || 'no answer'}`);
      }
      assert.deepEqual(inflated(), []);
    });
  });

  describe('Teams (POST /api/messages)', () => {
    let cloud: FakeBotFrameworkCloud;
    let teams: TeamsBot;
    const handler = noticeHandler();
    before(async () => {
      cloud = await new FakeBotFrameworkCloud().start();
      teams = await startTeamsEdge(cloud, handler);
    });
    after(async () => {
      await teams?.close();
      await cloud?.close();
    });

    it('checks the Bot Framework token before reading the body: none, or a forged one, gets 401 unread', async () => {
      sinon.stub(console, 'error'); // botbuilder logs every refusal to the console
      const { port } = new URL(teams.url);
      for (const authorization of [[], ['Authorization: Bearer eyJhbGciOiJSUzI1NiJ9.eyJhdWQiOiJ4In0.c2lnbmF0dXJl']]) {
        const answer = await headFirst(teams.url, ['POST /api/messages HTTP/1.1', `Host: 127.0.0.1:${port}`, 'Content-Type: application/json', 'Content-Length: 200000', ...authorization]);
        assert.equal(answer.status, 401, answer.text || 'no answer: the edge waited for the body');
      }
      assert.equal(handler.calls, 0);
    });

    it('refuses a compressed body with 415, also from an authenticated sender, and still takes plain JSON', async () => {
      const token = await cloud.token();
      const activity = JSON.stringify(messageActivity(cloud, teamsUser('kim'), personalChat(), 'help'));
      const compressed = await fetch(teams.url, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', 'content-encoding': 'gzip' }, body: zlib.gzipSync(activity) });
      assert.equal(compressed.status, 415);
      assert.deepEqual(inflated(), []);
      const plain = await fetch(teams.url, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: activity });
      assert.equal(plain.status, 200, await plain.text());
      assert.equal(handler.calls, 1);
    });
  });
});
