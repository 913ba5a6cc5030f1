/** `npm run manifest` builds every platform it has settings for, and says why it skips the others. */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { buildManifests } from '../../manifest/build.ts';

describe('npm run manifest', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'deputy-manifest-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('writes the Slack manifest in HTTP mode from DEPUTY_PUBLIC_URL, and says why Teams is skipped', async () => {
    const result = await buildManifests({ DEPUTY_PUBLIC_URL: 'https://deputy.contoso.example' }, { teams: join(dir, 'teams.zip'), slack: join(dir, 'slack.yaml') });
    assert.deepEqual(result.built, ['slack']);
    const manifest = parse(readFileSync(join(dir, 'slack.yaml'), 'utf8')) as { settings: { event_subscriptions: { request_url: string }; socket_mode_enabled: boolean } };
    assert.equal(manifest.settings.event_subscriptions.request_url, 'https://deputy.contoso.example/slack/events');
    assert.equal(manifest.settings.socket_mode_enabled, false);
    assert.match(result.lines[0] ?? '', /^Teams app package skipped: MicrosoftAppId/);
    assert.ok(!existsSync(join(dir, 'teams.zip')));
  });

  it('writes a Socket Mode manifest (no request URLs) when SLACK_APP_TOKEN is set', async () => {
    await buildManifests({ SLACK_APP_TOKEN: 'xapp-1' }, { teams: join(dir, 'teams.zip'), slack: join(dir, 'slack.yaml') });
    const text = readFileSync(join(dir, 'slack.yaml'), 'utf8');
    assert.match(text, /socket_mode_enabled: true/);
    assert.doesNotMatch(text, /request_url/);
  });

  it('writes both when both are configured', async () => {
    const result = await buildManifests(
      { MicrosoftAppId: '00000000-0000-4000-8000-000000000001', DEPUTY_TEAMS_VALID_DOMAINS: 'deputy.contoso.example', DEPUTY_PUBLIC_URL: 'https://deputy.contoso.example' },
      { teams: join(dir, 'teams.zip'), slack: join(dir, 'slack.yaml') },
    );
    assert.deepEqual(result.built, ['teams', 'slack'], result.lines.join('\n'));
    assert.ok(existsSync(join(dir, 'teams.zip')));
  });
});
