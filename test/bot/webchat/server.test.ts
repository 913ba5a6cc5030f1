/** The bot server and the local Direct Line endpoint: configuration, health, demo-mode safety, persona binding. */
import { strict as assert } from 'node:assert';
import { request } from 'node:http';
import { loadBotConfig } from '../../../bot/config.ts';
import { startBot } from '../../../bot/server.ts';
import { slackEdgePlugin } from '../../../bot/slack/plugin.ts';
import { teamsEdgePlugin } from '../../../bot/teams/plugin.ts';
import { DeputyError } from '../../../executor/contract/index.ts';
import { createLogger, silentLogger } from '../../../lib/logger.ts';
import { waitForMessage } from '../conformance/suite.ts';
import { WebChatDriver } from './driver.ts';
import { startBotHarness, type BotHarness } from './harness.ts';
import { WEBCHAT_KEY_HEADER } from '../../../bot/webchat/edge.ts';

const TOKEN = 't'.repeat(40);

describe('bot configuration', () => {
  it('has defaults, and says in one line per platform why it is off', () => {
    const config = loadBotConfig({ DEPUTY_EXECUTOR_TOKEN: TOKEN }, '/srv/deputy');
    assert.equal(config.port, 3978);
    assert.equal(config.host, '127.0.0.1');
    assert.equal(config.executorUrl, 'http://127.0.0.1:4100');
    assert.equal(config.dataDir, '/srv/deputy/data');
    assert.equal(config.demo, false);
    assert.equal(config.teams, undefined);
    assert.equal(config.slack, undefined);
    assert.deepEqual(config.platformNotices, ['Teams is off: MicrosoftAppId is not set.', 'Slack is off: SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET are not set.']);
  });

  it('turns a platform on when its credentials are there, and speaks with the newest of two rotating tokens', () => {
    const config = loadBotConfig({
      DEPUTY_EXECUTOR_TOKEN: `old${TOKEN},new${TOKEN}`,
      MicrosoftAppId: 'app',
      MicrosoftAppPassword: 'secret',
      SLACK_BOT_TOKEN: 'xoxb-1',
      SLACK_SIGNING_SECRET: 'sign',
    });
    assert.equal(config.executorToken, `new${TOKEN}`);
    assert.equal(config.teams?.appId, 'app');
    assert.equal(config.slack?.signingSecret, 'sign');
    assert.deepEqual(config.platformNotices, []);
  });

  it('turns Slack on in Socket Mode without a signing secret, and off in HTTP mode without one', () => {
    const socket = loadBotConfig({ DEPUTY_EXECUTOR_TOKEN: TOKEN, SLACK_BOT_TOKEN: 'xoxb-1', SLACK_APP_TOKEN: 'xapp-1' });
    assert.equal(socket.slack?.appToken, 'xapp-1');
    assert.equal(socket.slack?.signingSecret, undefined);
    const http = loadBotConfig({ DEPUTY_EXECUTOR_TOKEN: TOKEN, SLACK_BOT_TOKEN: 'xoxb-1' });
    assert.equal(http.slack, undefined);
    assert.ok(http.platformNotices.includes('Slack is off: SLACK_SIGNING_SECRET is not set.'));
  });

  it('stops on a bad value, naming the variable', () => {
    assert.throws(() => loadBotConfig({ DEPUTY_EXECUTOR_TOKEN: TOKEN, DEPUTY_BOT_PORT: 'eighty' }), (error: unknown) =>
      error instanceof DeputyError && error.code === 'DEPUTY_E_CONFIG_INVALID' && error.message.startsWith('DEPUTY_BOT_PORT'));
    assert.throws(() => loadBotConfig({}), /DEPUTY_EXECUTOR_TOKEN/);
    assert.throws(() => loadBotConfig({ DEPUTY_EXECUTOR_TOKEN: TOKEN, DEPUTY_EXECUTOR_URL: 'ftp://x' }), /DEPUTY_EXECUTOR_URL/);
  });

  it('refuses demo mode on an address other than loopback', async () => {
    const config = { ...loadBotConfig({ DEPUTY_EXECUTOR_TOKEN: TOKEN, DEPUTY_DEMO: '1', DEPUTY_BOT_PORT: '0' }), host: '0.0.0.0' };
    await assert.rejects(startBot({ config, logger: silentLogger() }), (error: unknown) =>
      error instanceof DeputyError && error.code === 'DEPUTY_E_CONFIG_INVALID' && /DEPUTY_DEMO/.test(error.message) && /0\.0\.0\.0/.test(error.message));
  });
});

describe('bot server', function () {
  this.timeout(60_000);
  let harness: BotHarness;

  before(async () => {
    harness = await startBotHarness();
  });
  after(async () => {
    await harness?.close();
  });

  it('answers /healthz, and /readyz while the executor is reachable', async () => {
    assert.equal((await fetch(`${harness.bot.url}/healthz`)).status, 200);
    const ready = await fetch(`${harness.bot.url}/readyz`);
    assert.equal(ready.status, 200);
    assert.deepEqual(await ready.json(), { status: 'ready', checks: { executor: { ok: true }, webchat: { ok: true } } });
  });

  it('refuses a body over the limit before reading it', async () => {
    const response = await fetch(`${harness.bot.url}/v3/directline/tokens/generate`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', [WEBCHAT_KEY_HEADER]: harness.bot.webChat?.key ?? '' },
      body: JSON.stringify({ user: { id: 'alex' }, padding: 'x'.repeat(300 * 1024) }),
    });
    assert.equal(response.status, 413);
  });

  it('gives a persona only for the key in the address deputy start printed, which anything else on the machine lacks', async () => {
    const ask = (key?: string) =>
      fetch(`${harness.bot.url}/v3/directline/tokens/generate`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...(key === undefined ? {} : { [WEBCHAT_KEY_HEADER]: key }) },
        body: JSON.stringify({ user: { id: 'cyra' } }),
      });
    for (const key of [undefined, '', 'not-the-key', `${harness.bot.webChat?.key ?? ''}x`]) assert.equal((await ask(key)).status, 403, String(key));
    assert.equal((await ask(harness.bot.webChat?.key)).status, 200);
    assert.match(harness.bot.webChat?.url ?? '', /^http:\/\/127\.0\.0\.1:\d+\/#key=[\w-]{24}$/);
    const page = await (await fetch(`${harness.bot.url}/`)).text();
    assert.ok(!page.includes(harness.bot.webChat?.key ?? 'no key'), 'the page itself does not carry the key');
  });

  it('serves the page with the personas, and the Web Chat bundle from its own package', async () => {
    const page = await (await fetch(`${harness.bot.url}/`)).text();
    assert.match(page, /Demo mode: local only/);
    // The executor's own line on run isolation, as /readyz gives it (HTML-escaped).
    const isolation = harness.executor.isolation.headline.replace(/'/g, '&#39;');
    assert.ok(page.includes(`Run isolation: ${isolation}.`), isolation);
    assert.match(page, /<option value="alex" title="administrator; tenant hamburg">Alex \(helpdesk\)<\/option>/);
    assert.match(page, /<option value="rita" /);
    assert.doesNotMatch(page, /https?:\/\/(?!127)/, 'nothing is loaded from elsewhere');
    const bundle = await fetch(`${harness.bot.url}/webchat/webchat.js`);
    assert.equal(bundle.status, 200);
    assert.match(bundle.headers.get('content-type') ?? '', /javascript/);
    assert.ok((await bundle.arrayBuffer()).byteLength > 1_000_000);
  });

  it('answers only to a loopback Host header (no DNS rebinding)', async () => {
    const status = await new Promise<number>((resolve, reject) => {
      const url = new URL(harness.bot.url);
      request({ host: url.hostname, port: url.port, path: '/', headers: { host: 'evil.example:3978' } }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      }).on('error', reject).end();
    });
    assert.equal(status, 403);
  });

  it('binds the speaker to the token’s persona, whatever the activity’s `from` says', async () => {
    const rita = await WebChatDriver.connect(harness.bot, 'rita');
    await rita.postActivity({ type: 'message', text: 'help', from: { id: 'alex', name: 'Alex' } });
    const answer = await waitForMessage(rita, 'an answer', (messages) => messages.at(-1));
    assert.match(answer.text, /Rita/);
    assert.ok(!answer.actions.some((action) => action.verb === 'open-form'), 'rita stays read-only');
    const echoed = (await rita.rawActivities()).find((activity) => activity.from.role === 'user');
    assert.equal(echoed?.from.id, 'rita');
  });

  it('keeps each conversation to its own token', async () => {
    const alex = await WebChatDriver.connect(harness.bot, 'alex');
    const rita = await WebChatDriver.connect(harness.bot, 'rita');
    const grant = await (await fetch(`${harness.bot.url}/v3/directline/tokens/generate`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', [WEBCHAT_KEY_HEADER]: harness.bot.webChat?.key ?? '' },
      body: JSON.stringify({ user: { id: 'rita' } }),
    })).json() as { token: string };
    const read = await fetch(`${harness.bot.url}/v3/directline/conversations/${alex.conversationId}/activities`, { headers: { authorization: `Bearer ${grant.token}` } });
    assert.equal(read.status, 403);
    const write = await fetch(`${harness.bot.url}/v3/directline/conversations/${alex.conversationId}/activities`, {
      method: 'POST',
      headers: { authorization: `Bearer ${grant.token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ type: 'message', text: 'help' }),
    });
    assert.equal(write.status, 403);
    assert.notEqual(rita.conversationId, alex.conversationId);
  });

  it('updates a card by re-delivering its activity id, and serves posted files for download', async () => {
    const alex = await WebChatDriver.connect(harness.bot, 'alex');
    // Alex's conversation is greeted once, whenever it first starts: count after the greeting.
    await waitForMessage(alex, 'the welcome card', (messages) => messages.find((message) => /Hello, Alex/.test(message.text)));
    const before = (await alex.rawActivities()).filter((activity) => activity.from.role === 'bot').length;
    await alex.sendText('help');
    const list = await waitForMessage(alex, 'the list', (messages) => messages.slice(before).find((message) => message.actions.some((action) => action.verb === 'open-form')));
    await alex.clickAction('open-form', { actionId: 'count' });
    await waitForMessage(alex, 'the form', (messages) => messages.find((message) => message.id === list.id && message.actions.some((action) => action.verb === 'submit-form')));
    await alex.submitForm({ Upto: '45' });
    await waitForMessage(alex, 'the summary', (messages) => messages.find((message) => message.id === list.id && /Succeeded/.test(message.text)));
    const raw = await alex.rawActivities();
    const file = await waitForMessage(alex, 'the output file', (messages) => messages.slice(before).find((message) => message.files.length > 0));
    const contentUrl = (await alex.rawActivities()).find((activity) => activity.id === file.id)?.attachments?.[0]?.contentUrl;
    // Absolute, at the page's own origin: Web Chat shows it as a link that opens.
    assert.ok(contentUrl && contentUrl.startsWith(`${harness.bot.url}/webchat/files/`), String(contentUrl));
    const download = await fetch(contentUrl);
    assert.equal(download.status, 200);
    assert.match(download.headers.get('content-disposition') ?? '', /attachment; filename="count-run_/);
    const text = await download.text();
    assert.equal(text.split('\n').length, 45);
    assert.ok(raw.filter((activity) => activity.from.role === 'bot').length - before <= 2, 'one card, updated in place (and the file)');
  });

  it('never keeps a card’s inputs in the history: a typed secret is not echoed on any poll', async () => {
    const alex = await WebChatDriver.connect(harness.bot, 'alex');
    await alex.postActivity({ type: 'message', value: { verb: 'submit-form', actionId: 'echo', 'field.Message': 'hi', 'field.Password': 'hunter2-typed-secret' }, channelData: { postBack: true } });
    const raw = await alex.rawActivities();
    assert.ok(raw.some((activity) => activity.from.role === 'user'), 'the echo is there for Web Chat');
    assert.ok(!JSON.stringify(raw).includes('hunter2-typed-secret'), 'the secret is not');
    const again = await WebChatDriver.connect(harness.bot, 'alex');
    assert.ok(!JSON.stringify(await again.rawActivities()).includes('hunter2-typed-secret'), 'not after a reload either');
  });

  it('continues a persona’s conversation with a new token (a reload, a switch back), greeting it once', async () => {
    const first = await WebChatDriver.connect(harness.bot, 'bea');
    const welcome = await waitForMessage(first, 'the welcome card', (messages) => messages.find((message) => /Hello, Bea/.test(message.text)));
    assert.ok(welcome.actions.some((action) => action.verb === 'show-actions'));
    await first.sendText('runs');
    await waitForMessage(first, 'the runs list', (messages) => messages.find((message) => /Your recent runs/.test(message.text)));
    const reloaded = await WebChatDriver.connect(harness.bot, 'bea');
    assert.equal(reloaded.conversationId, first.conversationId);
    const history = await reloaded.messages();
    assert.ok(history.some((message) => /Your recent runs/.test(message.text)), 'the history comes back');
    assert.equal(history.filter((message) => /Hello, Bea/.test(message.text)).length, 1, 'greeted once');
  });

  it('serves the Web Chat bundle gzipped, cached for good under its version, and a favicon', async () => {
    const page = await (await fetch(`${harness.bot.url}/`)).text();
    const bundlePath = /<script src="(\/webchat\/webchat\.js\?v=[^"]+)"/.exec(page)?.[1];
    assert.ok(bundlePath, 'the page asks for the bundle under its version');
    assert.match(page, /<link rel="icon" type="image\/svg\+xml" href="\/favicon\.svg">/);
    const raw = await new Promise<{ status: number; headers: Record<string, unknown>; bytes: number }>((resolve, reject) => {
      const url = new URL(harness.bot.url);
      request({ host: url.hostname, port: url.port, path: bundlePath, headers: { 'accept-encoding': 'gzip, br' } }, (res) => {
        let bytes = 0;
        res.on('data', (chunk: Buffer) => (bytes += chunk.length));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, bytes }));
      }).on('error', reject).end();
    });
    assert.equal(raw.status, 200);
    assert.equal(raw.headers['content-encoding'], 'gzip');
    assert.ok(raw.bytes < 1_500_000, `${raw.bytes} bytes on the wire`);
    assert.match(String(raw.headers['cache-control']), /max-age=31536000, immutable/);
    const cached = await fetch(`${harness.bot.url}${bundlePath}`, { headers: { 'if-none-match': String(raw.headers.etag) } });
    assert.equal(cached.status, 304);
    const icon = await fetch(`${harness.bot.url}/favicon.svg`);
    assert.equal(icon.status, 200);
    assert.match(icon.headers.get('content-type') ?? '', /image\/svg\+xml/);
  });

  it('has no web chat at all outside demo mode, and is alive but not ready without its executor', async () => {
    const config = loadBotConfig({ DEPUTY_EXECUTOR_TOKEN: TOKEN, DEPUTY_EXECUTOR_URL: 'http://127.0.0.1:9', DEPUTY_BOT_PORT: '0', DEPUTY_DATA_DIR: harness.botDataDir });
    const bot = await startBot({ config, logger: silentLogger() });
    try {
      assert.equal((await fetch(`${bot.url}/`)).status, 404);
      assert.equal((await fetch(`${bot.url}/v3/directline/tokens/generate`, { method: 'POST' })).status, 404);
      assert.equal((await fetch(`${bot.url}/healthz`)).status, 200);
      assert.equal((await fetch(`${bot.url}/readyz`)).status, 503);
      assert.deepEqual(bot.edges, []);
    } finally {
      await bot.close();
    }
  });

  it('starts the platforms whose credentials are set and says in one line each which are off', async () => {
    const lines: string[] = [];
    const logger = createLogger({ destination: { write: (line: string) => void lines.push(line) } });
    const config = loadBotConfig({ DEPUTY_EXECUTOR_TOKEN: harness.executor.token, DEPUTY_EXECUTOR_URL: harness.executor.url, DEPUTY_BOT_PORT: '0', DEPUTY_DATA_DIR: harness.botDataDir, DEPUTY_DEMO: '1' });
    const bot = await startBot({ config, logger, edges: [teamsEdgePlugin(), slackEdgePlugin()] });
    try {
      assert.deepEqual(bot.edges.map((edge) => edge.channel), ['webchat']);
      const messages = lines.map((line) => (JSON.parse(line) as { msg: string }).msg);
      assert.ok(messages.includes('Teams is off: MicrosoftAppId is not set.'), messages.join('\n'));
      assert.ok(messages.includes('Slack is off: SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET are not set.'));
      const webChatLine = messages.find((message) => message.startsWith('Web chat (demo, local only) on http://127.0.0.1:'));
      assert.ok(webChatLine, messages.join('\n'));
      assert.ok(!lines.some((line) => line.includes(bot.webChat?.key ?? '#key=')), 'the web chat key is never logged');
    } finally {
      await bot.close();
    }
  });
});
