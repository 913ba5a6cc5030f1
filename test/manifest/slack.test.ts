import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { parse } from 'yaml';
import { buildSlackManifest, SLACK_MANIFEST_PATH, slackManifestYaml } from '../../manifest/slack/build.ts';
import { SlackManifestSchema } from '../../manifest/slack/rules.ts';

/** Parsed YAML the cases below bend freely; its shape is what the schema under test checks. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type LooseManifest = Record<string, any>;

async function template(): Promise<LooseManifest> {
  return parse(await readFile(SLACK_MANIFEST_PATH, 'utf8')) as LooseManifest;
}

function problems(manifest: unknown): string[] {
  const result = SlackManifestSchema.safeParse(manifest);
  return result.success ? [] : result.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`);
}

describe('Slack app manifest', () => {
  it('the checked-in manifest follows Slack\'s rules', async () => {
    assert.deepEqual(problems(await template()), []);
  });

  it('asks for exactly the scopes the edge uses, and the three events', async () => {
    const manifest = await template();
    // chat.postMessage/update/postEphemeral, the slash command, files.uploadV2, message.im, conversations.open, app_mention,
    // files shared with the bot (authoring), users.info (the user's locale, for help in their language)
    assert.deepEqual([...manifest['oauth_config'].scopes.bot].sort(), ['app_mentions:read', 'chat:write', 'commands', 'files:read', 'files:write', 'im:history', 'im:write', 'users:read']);
    assert.deepEqual(manifest['settings'].event_subscriptions.bot_events, ['app_home_opened', 'app_mention', 'message.im']);
    assert.equal(manifest['features'].app_home.home_tab_enabled, true);
    assert.equal(manifest['features'].slash_commands[0].command, '/deputy');
  });

  it('fills every request URL from the public URL in HTTP mode', async () => {
    const manifest = await buildSlackManifest({ publicUrl: 'https://deputy.contoso.com' });
    const url = 'https://deputy.contoso.com/slack/events';
    assert.equal(manifest.features.slash_commands[0]?.url, url);
    assert.equal(manifest.settings.event_subscriptions.request_url, url);
    assert.equal(manifest.settings.interactivity.request_url, url);
    assert.equal(manifest.settings.interactivity.message_menu_options_url, url);
    assert.equal(manifest.settings.socket_mode_enabled, false);
    assert.match(slackManifestYaml(manifest), /deputy\.contoso\.com\/slack\/events/);
  });

  it('drops the URLs and turns Socket Mode on when asked', async () => {
    const manifest = await buildSlackManifest({ socketMode: true });
    assert.equal(manifest.settings.socket_mode_enabled, true);
    assert.equal(manifest.settings.interactivity.request_url, undefined);
    assert.equal(manifest.features.slash_commands[0]?.url, undefined);
  });

  it('refuses HTTP mode without a public URL, and a public URL that is not https', async () => {
    await assert.rejects(buildSlackManifest({}), /DEPUTY_PUBLIC_URL/);
    await assert.rejects(buildSlackManifest({ publicUrl: 'http://deputy.contoso.com' }));
  });

  describe('the rules catch what Slack would reject', () => {
    const cases: Array<[string, (manifest: LooseManifest) => void, RegExp]> = [
      ['a display name over 35 characters', (m) => (m['display_information'].name = 'D'.repeat(36)), /display_information\.name/],
      ['a description over 140 characters', (m) => (m['display_information'].description = 'd'.repeat(141)), /display_information\.description/],
      ['a long description under 175 characters', (m) => (m['display_information'].long_description = 'too short'), /long_description/],
      ['a command without the slash', (m) => (m['features'].slash_commands[0].command = 'deputy'), /slash_commands\.0\.command/],
      ['a command over 32 characters', (m) => (m['features'].slash_commands[0].command = '/' + 'd'.repeat(32)), /slash_commands\.0\.command/],
      ['an http URL', (m) => (m['settings'].interactivity.request_url = 'http://deputy.example.com/slack/events'), /interactivity\.request_url/],
      ['an unknown scope', (m) => m['oauth_config'].scopes.bot.push('chat:write:everything'), /oauth_config\.scopes\.bot/],
      ['an event without its scope', (m) => (m['oauth_config'].scopes.bot = m['oauth_config'].scopes.bot.filter((s: string) => s !== 'im:history')), /message\.im needs the im:history scope/],
      ['interactivity without a URL over HTTP', (m) => delete m['settings'].interactivity.request_url, /interactivity needs a request URL/],
      ['a bot display name with capitals', (m) => (m['features'].bot_user.display_name = 'Deputy Bot'), /bot_user\.display_name/],
    ];
    for (const [name, breakIt, expected] of cases) {
      it(name, async () => {
        const manifest = await template();
        breakIt(manifest);
        const found = problems(manifest);
        assert.ok(found.some((problem) => expected.test(problem)), `expected ${expected}, got ${JSON.stringify(found)}`);
      });
    }

    it('accepts interactivity without a URL in Socket Mode', async () => {
      const manifest = await template();
      manifest['settings'].socket_mode_enabled = true;
      delete manifest['settings'].interactivity.request_url;
      delete manifest['settings'].event_subscriptions.request_url;
      delete manifest['features'].slash_commands[0].url;
      assert.deepEqual(problems(manifest), []);
    });
  });
});
