/**
 * `npm run manifest`: builds the Teams app package (manifest/teams/build/deputy-teams.zip)
 * from the environment (MicrosoftAppId, DEPUTY_TEAMS_*). `--write-icons` also redraws the
 * checked-in icons in manifest/teams/ (after a change to icons.ts).
 * Usage: npm run manifest [-- --out <path.zip>] [--write-icons]
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { isDeputyError } from '../executor/contract/index.ts';
import { DEFAULT_PACKAGE_PATH, TEAMS_MANIFEST_DIR, teamsManifestSettingsFromEnv, writeTeamsPackage } from './teams/build.ts';

async function main(argv: string[]): Promise<void> {
  const outIndex = argv.indexOf('--out');
  const out = outIndex >= 0 ? argv[outIndex + 1] : DEFAULT_PACKAGE_PATH;
  if (!out) throw new Error('--out needs a path');
  const built = await writeTeamsPackage(teamsManifestSettingsFromEnv(process.env), out);
  if (argv.includes('--write-icons')) {
    for (const file of built.files) {
      if (file.name !== 'manifest.json') await writeFile(join(TEAMS_MANIFEST_DIR, file.name), file.data);
    }
  }
  process.stdout.write(`Teams app package written to ${out} (app ${built.manifest.id}, bot ${built.manifest.bots?.[0]?.botId}, version ${built.manifest.version})\n`);
}

main(process.argv.slice(2)).catch((error: unknown) => {
  console.error(isDeputyError(error) ? error.message : error);
  process.exitCode = 1;
});
