/**
 * Builds the Teams app package: manifest.json (from the template, ids and domains filled from
 * the environment) plus the two icons, zipped with the three files at the root, as Teams
 * requires. The manifest is checked against the schema's stated rules before anything is
 * written.
 */
import { readFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { TeamsAppManifest } from '@microsoft/teams-manifest';
import { z } from 'zod';
import { DeputyError } from '../../executor/contract/index.ts';
import { drawColorIcon, drawOutlineIcon } from './icons.ts';
import { TeamsManifestRulesSchema } from './rules.ts';
import { writeZip } from './zip.ts';

export const TEAMS_MANIFEST_DIR = dirname(fileURLToPath(import.meta.url));
export const TEMPLATE_PATH = join(TEAMS_MANIFEST_DIR, 'manifest.json');
export const DEFAULT_PACKAGE_PATH = join(TEAMS_MANIFEST_DIR, 'build', 'deputy-teams.zip');

const guid = z.guid();
/** A host (and optional path) the Teams client may open; a URL is reduced to its host. */
const domain = z
  .string()
  .trim()
  .min(1)
  .transform((value) => value.replace(/^[a-z]+:\/\//i, '').replace(/\/+$/, ''));

/** Environment variables the build reads. MicrosoftAppId is botbuilder's name for the bot id. */
export const TeamsManifestEnvSchema = z.object({
  MicrosoftAppId: guid,
  /** The Teams app's own id; the bot id when not set (one registration, one app). */
  DEPUTY_TEAMS_APP_ID: guid.optional(),
  DEPUTY_TEAMS_APP_VERSION: z.string().optional(),
  /** Comma-separated domains the Teams client may open (the bot's public host first). */
  DEPUTY_TEAMS_VALID_DOMAINS: z.string().optional(),
  DEPUTY_TEAMS_DEVELOPER_NAME: z.string().min(1).max(32).optional(),
  DEPUTY_TEAMS_WEBSITE_URL: z.url({ protocol: /^https$/ }).optional(),
  DEPUTY_TEAMS_PRIVACY_URL: z.url({ protocol: /^https$/ }).optional(),
  DEPUTY_TEAMS_TERMS_URL: z.url({ protocol: /^https$/ }).optional(),
  /** Set to add webApplicationInfo (single sign-on resource, e.g. api://deputy.example.com/<app id>). */
  DEPUTY_TEAMS_SSO_RESOURCE: z.string().min(1).optional(),
});

export interface TeamsManifestSettings {
  botId: string;
  teamsAppId: string;
  version: string;
  validDomains: string[];
  developerName: string;
  websiteUrl: string;
  privacyUrl: string;
  termsOfUseUrl: string;
  ssoResource: string | undefined;
}

function packageVersion(): string {
  const pkg = JSON.parse(readFileSync(join(TEAMS_MANIFEST_DIR, '..', '..', 'package.json'), 'utf8')) as { version: string };
  return pkg.version;
}

function invalid(message: string, detail?: string): DeputyError {
  return new DeputyError('DEPUTY_E_CONFIG_INVALID', { message, ...(detail ? { detail } : {}) });
}

/** Reads the settings from the environment; a bad value names its variable. */
export function teamsManifestSettingsFromEnv(env: NodeJS.ProcessEnv): TeamsManifestSettings {
  const present = Object.fromEntries(Object.entries(env).filter(([, value]) => value !== undefined && value !== ''));
  const parsed = TeamsManifestEnvSchema.safeParse(present);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw invalid(`${issue?.path.join('.') ?? 'environment'}: ${issue?.message ?? 'invalid'}`, parsed.error.message);
  }
  const settings = parsed.data;
  const validDomains = (settings.DEPUTY_TEAMS_VALID_DOMAINS ?? '')
    .split(',')
    .filter((entry) => entry.trim() !== '')
    .map((entry) => domain.parse(entry));
  const site = settings.DEPUTY_TEAMS_WEBSITE_URL ?? (validDomains[0] ? `https://${validDomains[0]}/` : undefined);
  if (!site) throw invalid('DEPUTY_TEAMS_WEBSITE_URL: set it, or DEPUTY_TEAMS_VALID_DOMAINS, so the manifest can name a website');
  return {
    botId: settings.MicrosoftAppId,
    teamsAppId: settings.DEPUTY_TEAMS_APP_ID ?? settings.MicrosoftAppId,
    version: settings.DEPUTY_TEAMS_APP_VERSION ?? packageVersion(),
    validDomains,
    developerName: settings.DEPUTY_TEAMS_DEVELOPER_NAME ?? 'Deputy',
    websiteUrl: site,
    privacyUrl: settings.DEPUTY_TEAMS_PRIVACY_URL ?? new URL('privacy', site).toString(),
    termsOfUseUrl: settings.DEPUTY_TEAMS_TERMS_URL ?? new URL('terms', site).toString(),
    ssoResource: settings.DEPUTY_TEAMS_SSO_RESOURCE,
  };
}

/** Replaces `{{name}}` in every string of the template; a placeholder left unfilled is an error. */
function fill(value: unknown, values: Record<string, string>): unknown {
  if (typeof value === 'string') {
    return value.replace(/\{\{(\w+)\}\}/g, (_match, name: string) => {
      const replacement = values[name];
      if (replacement === undefined) throw invalid(`manifest template: no value for {{${name}}}`);
      return replacement;
    });
  }
  if (Array.isArray(value)) return value.map((item) => fill(item, values));
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, fill(item, values)]));
  }
  return value;
}

export function buildTeamsManifest(settings: TeamsManifestSettings, templateText = readFileSync(TEMPLATE_PATH, 'utf8')): TeamsAppManifest {
  const filled = fill(JSON.parse(templateText), {
    version: settings.version,
    teamsAppId: settings.teamsAppId,
    botId: settings.botId,
    developerName: settings.developerName,
    websiteUrl: settings.websiteUrl,
    privacyUrl: settings.privacyUrl,
    termsOfUseUrl: settings.termsOfUseUrl,
  }) as Record<string, unknown>;
  const checked = TeamsManifestRulesSchema.safeParse({
    ...filled,
    validDomains: settings.validDomains,
    ...(settings.ssoResource ? { webApplicationInfo: { id: settings.botId, resource: settings.ssoResource } } : {}),
  });
  if (!checked.success) {
    const issue = checked.error.issues[0];
    throw invalid(`manifest ${issue?.path.join('.') ?? ''}: ${issue?.message ?? 'invalid'}`, checked.error.message);
  }
  // No cast: tsc checks that what the rules accept is a TeamsAppManifest.
  const manifest: TeamsAppManifest = checked.data;
  return manifest;
}

export interface TeamsPackage {
  manifest: TeamsAppManifest;
  files: { name: 'manifest.json' | 'color.png' | 'outline.png'; data: Buffer }[];
  zip: Buffer;
}

export function buildTeamsPackage(settings: TeamsManifestSettings): TeamsPackage {
  const manifest = buildTeamsManifest(settings);
  const files: TeamsPackage['files'] = [
    { name: 'manifest.json', data: Buffer.from(`${JSON.stringify(manifest, null, 2)}\n`, 'utf8') },
    { name: 'color.png', data: drawColorIcon() },
    { name: 'outline.png', data: drawOutlineIcon() },
  ];
  return { manifest, files, zip: writeZip(files) };
}

export async function writeTeamsPackage(settings: TeamsManifestSettings, path = DEFAULT_PACKAGE_PATH): Promise<TeamsPackage> {
  const built = buildTeamsPackage(settings);
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, built.zip);
  return built;
}
