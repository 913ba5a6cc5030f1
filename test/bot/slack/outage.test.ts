/**
 * One platform's outage never takes the bot down (issue 12, item 7): with Slack's API down the
 * bot starts at once, the web chat works, `/readyz` reports Slack, `/slack/events` answers 503
 * until Slack is back, and Slack's retries of an event are answered once.
 */
import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadBotConfig } from '../../../bot/config.ts';
import { startBot, type RunningBot } from '../../../bot/server.ts';
import { slackEdgePlugin } from '../../../bot/slack/plugin.ts';
import { systemClock } from '../../../lib/clock.ts';
import { silentLogger } from '../../../lib/logger.ts';
import { FakeSlackApi } from './fake-slack.ts';
import { SIGNING_SECRET, TEAM, signedSlackClient, startHarness } from './harness.ts';
import { ScriptedHandler } from './fixtures.ts';

/** A loopback port nothing listens on. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe('Slack outage and retries', function () {
  this.timeout(60_000);
  let dataDir: string;
  const bots: RunningBot[] = [];

  before(() => {
    dataDir = mkdtempSync(join(tmpdir(), 'deputy-slack-outage-'));
  });
  after(async () => {
    await Promise.all(bots.map((bot) => bot.close()));
    rmSync(dataDir, { recursive: true, force: true });
  });

  function config(extra: Record<string, string>) {
    return loadBotConfig({
      DEPUTY_DATA_DIR: dataDir,
      DEPUTY_EXECUTOR_URL: `http://127.0.0.1:9`,
      DEPUTY_EXECUTOR_TOKEN: 'x'.repeat(40),
      DEPUTY_BOT_PORT: '0',
      DEPUTY_DEMO: '1',
      SLACK_BOT_TOKEN: 'xoxb-outage',
      SLACK_SIGNING_SECRET: SIGNING_SECRET,
      ...extra,
    });
  }

  it('starts at once with Slack unreachable (DEPUTY_SLACK_API_URL), serves the web chat, and reports Slack in /readyz', async () => {
    const started = Date.now();
    const bot = await startBot({ config: config({ DEPUTY_SLACK_API_URL: `http://127.0.0.1:${await closedPort()}/api/` }), logger: silentLogger(), edges: [slackEdgePlugin({ initialBackoffMs: 60_000 })] });
    bots.push(bot);
    assert.ok(Date.now() - started < 10_000, `started in ${Date.now() - started} ms`);
    assert.equal((await fetch(`${bot.url}/healthz`)).status, 200);
    const ready = (await (await fetch(`${bot.url}/readyz`)).json()) as { checks: Record<string, { ok: boolean; detail?: string }> };
    assert.equal(ready.checks.slack?.ok, false);
    assert.match(ready.checks.slack?.detail ?? '', /not connected/);
    assert.equal(ready.checks.webchat?.ok, true);
    const events = await signedSlackClient(`${bot.url}/slack/events`, systemClock).event({ type: 'app_mention', user: 'U1', text: 'help', channel: 'C1', ts: '1.1' });
    assert.equal(events.status, 503, 'Slack is asked to retry later');
  });

  it('keeps trying in the background and connects once Slack answers', async () => {
    const slack = new FakeSlackApi();
    const apiUrl = await slack.start();
    let down = true;
    slack.answer('auth.test', () => (down ? { ok: false, error: 'service_unavailable' } : { ok: true, team_id: TEAM, user_id: 'UBOT', bot_id: 'BBOT' }));
    try {
      const bot = await startBot({ config: config({ DEPUTY_SLACK_API_URL: apiUrl }), logger: silentLogger(), clock: systemClock, edges: [slackEdgePlugin({ initialBackoffMs: 50, maxBackoffMs: 200 })] });
      bots.push(bot);
      const readiness = async () => ((await (await fetch(`${bot.url}/readyz`)).json()) as { checks: Record<string, { ok: boolean }> }).checks.slack?.ok;
      assert.equal(await readiness(), false);
      await until('a few attempts', async () => (slack.callsTo('auth.test').length >= 3 ? true : undefined));
      down = false;
      await until('Slack connected', async () => ((await readiness()) ? true : undefined));
      const client = signedSlackClient(`${bot.url}/slack/events`, systemClock);
      assert.equal((await client.send(JSON.stringify({ type: 'url_verification', challenge: 'c-1' }), 'application/json')).status, 200);
    } finally {
      await slack.stop();
    }
  });

  it('answers Slack’s retries of an event (same event_id, X-Slack-Retry-Num) once', async () => {
    const handler = new ScriptedHandler(() => ({ immediate: { screen: 'notice', text: 'ok' } }));
    const harness = await startHarness(handler);
    try {
      const body = JSON.stringify({
        type: 'event_callback', team_id: TEAM, api_app_id: 'A1', event_id: 'Ev-retried-1', event_time: 1767268800,
        event: { type: 'message', channel: 'D1', channel_type: 'im', user: 'U1', text: 'help', ts: '1767268800.000100', event_ts: '1767268800.000100' },
      });
      for (let attempt = 0; attempt < 3; attempt++) {
        // Slack signs each retry anew, a little later: a new timestamp, the same event_id.
        const response = await harness.send(body, 'application/json');
        assert.equal(response.status, 200);
        harness.clock.advance(60_000);
      }
      await until('the first delivery handled', async () => (handler.received.length > 0 ? true : undefined));
      await new Promise((resolve) => setTimeout(resolve, 300));
      assert.equal(handler.received.length, 1, 'handled once');
    } finally {
      await harness.close();
    }
  });
});
