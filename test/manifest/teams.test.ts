import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inflateRawSync, inflateSync } from 'node:zlib';
import type { TeamsAppManifest } from '@microsoft/teams-manifest';
import { DeputyError } from '../../executor/contract/index.ts';
import {
  buildTeamsManifest,
  buildTeamsPackage,
  TEAMS_MANIFEST_DIR,
  TEMPLATE_PATH,
  teamsManifestSettingsFromEnv,
  type TeamsManifestSettings,
} from '../../manifest/teams/build.ts';
import { drawColorIcon, drawOutlineIcon } from '../../manifest/teams/icons.ts';
import { TeamsManifestRulesSchema, type TeamsManifestRules } from '../../manifest/teams/rules.ts';

// ---- type level (checked by `tsc --noEmit`): what the rules accept is a TeamsAppManifest ...
type Assert<T extends true> = T;
export type RulesFitMicrosoftsType = Assert<TeamsManifestRules extends TeamsAppManifest ? true : false>;
// ... and Microsoft's type is strict enough to catch a bad bot scope.
export const badScope: TeamsAppManifest['bots'] = [
  // @ts-expect-error "channel" is not a bot scope
  { botId: '11111111-2222-4333-8444-555555555555', scopes: ['channel'] },
];

const BOT_ID = '3f2504e0-4f89-41d3-9a0c-0305e82c3301';
const ENV = { MicrosoftAppId: BOT_ID, DEPUTY_TEAMS_VALID_DOMAINS: 'https://deputy.contoso.com/, *.contoso.net' };

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

interface PngInfo {
  width: number;
  height: number;
  colourType: number;
  bitDepth: number;
  pixels: Buffer;
}

/** Reads a PNG: signature, IHDR and the pixels (only filter type 0, which our encoder writes). */
function readPng(data: Buffer): PngInfo {
  assert.deepEqual([...data.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a], 'PNG signature');
  assert.equal(data.toString('ascii', 12, 16), 'IHDR');
  const width = data.readUInt32BE(16);
  const height = data.readUInt32BE(20);
  const bitDepth = data[24]!;
  const colourType = data[25]!;
  const idat: Buffer[] = [];
  for (let offset = 8; offset < data.length; ) {
    const length = data.readUInt32BE(offset);
    if (data.toString('ascii', offset + 4, offset + 8) === 'IDAT') idat.push(data.subarray(offset + 8, offset + 8 + length));
    offset += length + 12;
  }
  const raw = inflateSync(Buffer.concat(idat));
  const rowBytes = width * 4;
  const pixels = Buffer.alloc(rowBytes * height);
  for (let y = 0; y < height; y++) {
    assert.equal(raw[y * (rowBytes + 1)], 0, 'filter type 0');
    raw.copy(pixels, y * rowBytes, y * (rowBytes + 1) + 1, (y + 1) * (rowBytes + 1));
  }
  return { width, height, colourType, bitDepth, pixels };
}

/** Reads a zip's central directory and inflates each entry. */
function readZip(zip: Buffer): Map<string, Buffer> {
  const end = zip.lastIndexOf(Buffer.from([0x50, 0x4b, 0x05, 0x06]));
  assert.ok(end >= 0, 'end of central directory');
  const count = zip.readUInt16LE(end + 10);
  let offset = zip.readUInt32LE(end + 16);
  const entries = new Map<string, Buffer>();
  for (let i = 0; i < count; i++) {
    assert.equal(zip.readUInt32LE(offset), 0x02014b50);
    const method = zip.readUInt16LE(offset + 10);
    const compressedSize = zip.readUInt32LE(offset + 20);
    const nameLength = zip.readUInt16LE(offset + 28);
    const extraLength = zip.readUInt16LE(offset + 30);
    const commentLength = zip.readUInt16LE(offset + 32);
    const localOffset = zip.readUInt32LE(offset + 42);
    const name = zip.toString('utf8', offset + 46, offset + 46 + nameLength);
    const localNameLength = zip.readUInt16LE(localOffset + 26);
    const localExtraLength = zip.readUInt16LE(localOffset + 28);
    const start = localOffset + 30 + localNameLength + localExtraLength;
    const stored = zip.subarray(start, start + compressedSize);
    entries.set(name, method === 8 ? inflateRawSync(stored) : stored);
    offset += 46 + nameLength + extraLength + commentLength;
  }
  return entries;
}

function settings(overrides: Partial<TeamsManifestSettings> = {}): TeamsManifestSettings {
  return { ...teamsManifestSettingsFromEnv(ENV), ...overrides };
}

function rejects(change: (template: Record<string, unknown>) => void, message: RegExp): void {
  const template = JSON.parse(readFileSync(TEMPLATE_PATH, 'utf8')) as Record<string, unknown>;
  change(template);
  assert.throws(() => buildTeamsManifest(settings(), JSON.stringify(template)), (error: unknown) => {
    assert.ok(error instanceof DeputyError);
    assert.equal(error.code, 'DEPUTY_E_CONFIG_INVALID');
    assert.match(error.message, message);
    return true;
  });
}

describe('Teams app manifest', () => {
  it('fills ids, version and domains from the environment', () => {
    const manifest = buildTeamsManifest(settings());
    assert.equal(manifest.id, BOT_ID, 'the Teams app id defaults to the bot id');
    assert.equal(manifest.bots?.[0]?.botId, BOT_ID);
    assert.equal(manifest.version, (JSON.parse(readFileSync(join(TEAMS_MANIFEST_DIR, '..', '..', 'package.json'), 'utf8')) as { version: string }).version);
    assert.deepEqual(manifest.validDomains, ['deputy.contoso.com', '*.contoso.net'], 'schemes and trailing slashes are dropped');
    assert.equal(manifest.developer.websiteUrl, 'https://deputy.contoso.com/');
    assert.equal(manifest.developer.privacyUrl, 'https://deputy.contoso.com/privacy');
    assert.equal(manifest.webApplicationInfo, undefined);
    const withSso = teamsManifestSettingsFromEnv({ ...ENV, DEPUTY_TEAMS_APP_ID: '9b0c1f7e-6a3d-4c2b-8e5f-1a2b3c4d5e6f', DEPUTY_TEAMS_SSO_RESOURCE: `api://deputy.contoso.com/${BOT_ID}` });
    const sso = buildTeamsManifest(withSso);
    assert.equal(sso.id, '9b0c1f7e-6a3d-4c2b-8e5f-1a2b3c4d5e6f');
    assert.deepEqual(sso.webApplicationInfo, { id: BOT_ID, resource: `api://deputy.contoso.com/${BOT_ID}` });
  });

  it('satisfies the rules the Teams schema states', () => {
    const manifest = buildTeamsManifest(settings());
    const rules = TeamsManifestRulesSchema.parse(manifest);
    assert.match(rules.id, GUID);
    assert.match(rules.version, /^\d+\.\d+\.\d+$/);
    assert.ok(rules.name.short.length <= 30);
    assert.ok(rules.description.short.length <= 80 && rules.description.full.length <= 4000);
    const [bot] = rules.bots;
    assert.ok(bot);
    assert.match(bot.botId, GUID);
    assert.deepEqual(bot.scopes, ['personal', 'team', 'groupChat']);
    const commands = bot.commandLists?.flatMap((list) => list.commands) ?? [];
    assert.deepEqual(commands.map((command) => command.title), ['help', 'actions', 'runs', 'plans', 'new plan']);
    assert.ok(commands.every((command) => command.title.length <= 32));
    assert.ok(rules.validDomains?.every((domain) => !domain.includes('://')));
    assert.deepEqual(rules.icons, { color: 'color.png', outline: 'outline.png' });
  });

  it('refuses a manifest that breaks a stated rule', () => {
    rejects((t) => ((t.name as { short: string }).short = 'Deputy, the delegated PowerShell runner'), /name\.short/);
    rejects((t) => ((t.description as { short: string }).short = 'x'.repeat(81)), /description\.short/);
    rejects((t) => ((t.description as { full: string }).full = 'x'.repeat(4001)), /description\.full/);
    rejects((t) => (t.version = '1.0'), /version/);
    rejects((t) => (t.id = 'deputy'), /id: must be a GUID/);
    rejects((t) => ((t.bots as { scopes: string[] }[])[0]!.scopes = ['channel']), /scopes/);
    rejects((t) => {
      const list = (t.bots as { commandLists: { commands: unknown[] }[] }[])[0]!.commandLists[0]!;
      list.commands = Array.from({ length: 11 }, (_, i) => ({ title: `command ${i}`, description: 'too many' }));
    }, /commands/);
    rejects((t) => {
      const list = (t.bots as { commandLists: { commands: { title: string }[] }[] }[])[0]!.commandLists[0]!;
      list.commands[0]!.title = 'a command title longer than thirty-two';
    }, /title/);
    rejects((t) => (t.staticTabs = []), /staticTabs|Unrecognized/);
    assert.throws(() => buildTeamsManifest(settings({ validDomains: ['https://with.scheme'] })), /validDomains/);
  });

  it('names the variable when the environment is wrong', () => {
    assert.throws(() => teamsManifestSettingsFromEnv({ MicrosoftAppId: 'not-a-guid' }), /^DeputyError: MicrosoftAppId/);
    assert.throws(() => teamsManifestSettingsFromEnv({}), /MicrosoftAppId/);
    assert.throws(() => teamsManifestSettingsFromEnv({ MicrosoftAppId: BOT_ID }), /DEPUTY_TEAMS_WEBSITE_URL/);
    assert.throws(() => teamsManifestSettingsFromEnv({ ...ENV, DEPUTY_TEAMS_WEBSITE_URL: 'http://insecure.example' }), /DEPUTY_TEAMS_WEBSITE_URL/);
  });

  it('draws a 192×192 colour icon and a 32×32 white-on-transparent outline icon, as checked in', () => {
    const color = readPng(drawColorIcon());
    assert.deepEqual([color.width, color.height, color.bitDepth, color.colourType], [192, 192, 8, 6]);
    const outline = readPng(drawOutlineIcon());
    assert.deepEqual([outline.width, outline.height], [32, 32]);
    let opaque = 0;
    for (let i = 0; i < outline.pixels.length; i += 4) {
      const [r, g, b, a] = [outline.pixels[i], outline.pixels[i + 1], outline.pixels[i + 2], outline.pixels[i + 3]];
      assert.deepEqual([r, g, b], [255, 255, 255], 'the outline icon is white only');
      if (a === 255) opaque++;
    }
    assert.equal(outline.pixels[3], 0, 'its background is transparent');
    assert.ok(opaque > 20, 'and it draws something');
    assert.deepEqual(readFileSync(join(TEAMS_MANIFEST_DIR, 'color.png')), drawColorIcon(), 'checked-in color.png is current (npm run manifest -- --write-icons)');
    assert.deepEqual(readFileSync(join(TEAMS_MANIFEST_DIR, 'outline.png')), drawOutlineIcon(), 'checked-in outline.png is current');
  });

  it('zips exactly the manifest and the two icons at the root', () => {
    const built = buildTeamsPackage(settings());
    const entries = readZip(built.zip);
    assert.deepEqual([...entries.keys()].sort(), ['color.png', 'manifest.json', 'outline.png']);
    assert.deepEqual(JSON.parse(entries.get('manifest.json')!.toString('utf8')), built.manifest);
    assert.deepEqual(readPng(entries.get('color.png')!).width, 192);
    assert.deepEqual(readPng(entries.get('outline.png')!).width, 32);
  });

  it('npm run manifest writes a zip that unzip reads and tests clean', function () {
    this.timeout(30_000);
    const dir = mkdtempSync(join(tmpdir(), 'deputy-manifest-'));
    try {
      const out = join(dir, 'deputy-teams.zip');
      const result = spawnSync(process.execPath, ['--import', 'tsx', join(TEAMS_MANIFEST_DIR, '..', 'build.ts'), '--out', out], {
        env: { PATH: process.env.PATH, ...ENV },
        encoding: 'utf8',
        shell: false,
      });
      assert.equal(result.status, 0, result.stderr);
      assert.match(result.stdout, new RegExp(`bot ${BOT_ID}`));
      const listing = spawnSync('unzip', ['-Z1', out], { encoding: 'utf8', shell: false });
      assert.equal(listing.status, 0, listing.stderr);
      assert.deepEqual(listing.stdout.trim().split('\n').sort(), ['color.png', 'manifest.json', 'outline.png']);
      const check = spawnSync('unzip', ['-t', out], { encoding: 'utf8', shell: false });
      assert.equal(check.status, 0, check.stdout);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
