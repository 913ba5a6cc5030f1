/**
 * `npm run manifest`: builds what each chat platform needs to install Deputy, from the
 * environment:
 * - Teams: the app package (manifest/teams/build/deputy-teams.zip) from MicrosoftAppId and
 *   DEPUTY_TEAMS_*;
 * - Slack: the app manifest (manifest/slack/build/deputy-slack.yaml), HTTP mode with request
 *   URLs at DEPUTY_PUBLIC_URL, or Socket Mode when SLACK_APP_TOKEN is set. Paste it into
 *   "Create an app → From a manifest".
 * A platform whose settings are missing is skipped with one line saying which; the command fails
 * only when neither could be built. `--write-icons` also redraws the checked-in Teams icons.
 * Usage: npm run manifest [-- --out <path.zip>] [--slack-out <path.yaml>] [--write-icons]
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isDeputyError } from '../executor/contract/index.ts';
import { buildSlackManifest, slackManifestYaml } from './slack/build.ts';
import { DEFAULT_PACKAGE_PATH, TEAMS_MANIFEST_DIR, teamsManifestSettingsFromEnv, writeTeamsPackage } from './teams/build.ts';

export const DEFAULT_SLACK_MANIFEST_PATH = fileURLToPath(new URL('./slack/build/deputy-slack.yaml', import.meta.url));

export interface ManifestResult {
  /** One line per platform: what was written, or why it was skipped. */
  lines: string[];
  built: ('teams' | 'slack')[];
}

function reason(error: unknown): string {
  return isDeputyError(error) || error instanceof Error ? error.message : String(error);
}

export async function buildManifests(
  env: NodeJS.ProcessEnv,
  paths: { teams?: string; slack?: string; writeIcons?: boolean } = {},
): Promise<ManifestResult> {
  const result: ManifestResult = { lines: [], built: [] };
  const teamsPath = paths.teams ?? DEFAULT_PACKAGE_PATH;
  try {
    const built = await writeTeamsPackage(teamsManifestSettingsFromEnv(env), teamsPath);
    if (paths.writeIcons) {
      for (const file of built.files) if (file.name !== 'manifest.json') await writeFile(join(TEAMS_MANIFEST_DIR, file.name), file.data);
    }
    result.built.push('teams');
    result.lines.push(`Teams app package written to ${teamsPath} (app ${built.manifest.id}, bot ${built.manifest.bots?.[0]?.botId}, version ${built.manifest.version})`);
  } catch (error) {
    result.lines.push(`Teams app package skipped: ${reason(error)}`);
  }
  const slackPath = paths.slack ?? DEFAULT_SLACK_MANIFEST_PATH;
  try {
    const socketMode = Boolean(env.SLACK_APP_TOKEN);
    const manifest = await buildSlackManifest({ ...(env.DEPUTY_PUBLIC_URL ? { publicUrl: env.DEPUTY_PUBLIC_URL } : {}), socketMode });
    await mkdir(dirname(slackPath), { recursive: true });
    await writeFile(slackPath, slackManifestYaml(manifest));
    result.built.push('slack');
    result.lines.push(`Slack app manifest written to ${slackPath} (${socketMode ? 'Socket Mode' : `HTTP mode, requests to ${new URL('/slack/events', env.DEPUTY_PUBLIC_URL).toString()}`})`);
  } catch (error) {
    result.lines.push(`Slack app manifest skipped: ${reason(error)}`);
  }
  return result;
}

async function main(argv: string[]): Promise<void> {
  const option = (name: string) => {
    const index = argv.indexOf(name);
    if (index < 0) return undefined;
    const value = argv[index + 1];
    if (!value) throw new Error(`${name} needs a path`);
    return value;
  };
  const teams = option('--out');
  const slack = option('--slack-out');
  const result = await buildManifests(process.env, { ...(teams ? { teams } : {}), ...(slack ? { slack } : {}), writeIcons: argv.includes('--write-icons') });
  for (const line of result.lines) process.stdout.write(`${line}\n`);
  if (result.built.length === 0) process.exitCode = 1;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  main(process.argv.slice(2)).catch((error: unknown) => {
    console.error(reason(error));
    process.exitCode = 1;
  });
}
