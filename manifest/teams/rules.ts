/**
 * The rules the Teams manifest schema (v1.17) states, as zod: the published JSON schema lives
 * on the web, which these machines cannot reach, and is not ours to paste in. The builder
 * refuses to write a manifest that breaks them, and what passes is typed as
 * `TeamsAppManifest` (tsc checks that the rules' type fits Microsoft's).
 */
import { z } from 'zod';

const GUID = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;
/** Semantic version as the schema states it: major.minor.patch, numbers only. */
const SEMVER = /^([0-9]|[1-9][0-9]*)\.([0-9]|[1-9][0-9]*)\.([0-9]|[1-9][0-9]*)$/;
const HTTPS_URL = /^https:\/\/\S+$/i;
/** A valid domain: a host name, optionally with a leading wildcard label and a path; no scheme. */
const VALID_DOMAIN = /^(\*\.)?[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*(:\d+)?(\/\S*)?$/;
const BOT_SCOPES = ['team', 'personal', 'groupChat', 'groupchat', 'copilot'] as const;

const guid = z.string().regex(GUID, 'must be a GUID');
const httpsUrl = z.string().max(2048).regex(HTTPS_URL, 'must be an https URL');

const CommandSchema = z.object({
  title: z.string().min(1).max(32),
  description: z.string().min(1).max(128),
});

export const TeamsManifestRulesSchema = z.object({
  $schema: z.string().optional(),
  manifestVersion: z.string().regex(/^1\.(1[7-9]|[2-9]\d)$/, 'must be 1.17 or newer'),
  version: z.string().max(256).regex(SEMVER, 'must be a semantic version (major.minor.patch)'),
  id: guid,
  developer: z.object({
    name: z.string().min(1).max(32),
    websiteUrl: httpsUrl,
    privacyUrl: httpsUrl,
    termsOfUseUrl: httpsUrl,
  }),
  name: z.object({ short: z.string().min(1).max(30), full: z.string().min(1).max(100) }),
  description: z.object({ short: z.string().min(1).max(80), full: z.string().min(1).max(4000) }),
  icons: z.object({ color: z.string().min(1).max(2048), outline: z.string().min(1).max(2048) }),
  accentColor: z.string().regex(/^#[0-9a-fA-F]{6}$/, 'must be a #RRGGBB colour'),
  bots: z
    .array(
      z.object({
        botId: guid,
        scopes: z.array(z.enum(BOT_SCOPES)).min(1).max(5),
        isNotificationOnly: z.boolean().optional(),
        supportsFiles: z.boolean().optional(),
        supportsCalling: z.boolean().optional(),
        supportsVideo: z.boolean().optional(),
        commandLists: z
          .array(z.object({ scopes: z.array(z.enum(BOT_SCOPES)).min(1), commands: z.array(CommandSchema).min(1).max(10) }).strict())
          .max(3)
          .optional(),
      }).strict(),
    )
    .max(1),
  permissions: z.array(z.enum(['identity', 'messageTeamMembers'])).optional(),
  validDomains: z.array(z.string().max(2048).regex(VALID_DOMAIN, 'must be a domain without a scheme')).max(16).optional(),
  webApplicationInfo: z.object({ id: guid, resource: z.string().max(2048).optional() }).strict().optional(),
})
  // A key these rules do not know is refused rather than passed on unchecked.
  .strict();
export type TeamsManifestRules = z.infer<typeof TeamsManifestRulesSchema>;
