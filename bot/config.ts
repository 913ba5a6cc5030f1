/**
 * Bot configuration, parsed once at start-up from the environment. A bad value stops start-up
 * with a message naming the variable. A chat platform whose credentials are absent is off.
 */
import { isAbsolute, resolve } from 'node:path';
import { z } from 'zod';
import { envFlag } from '../lib/env.ts';
import type { LogFormat } from '../lib/logger.ts';
import { DeputyError } from '../executor/contract/index.ts';


const optionalText = z.string().min(1).optional();

export const BotEnvSchema = z.object({
  DEPUTY_DATA_DIR: z.string().min(1).default('./data'),
  DEPUTY_EXECUTOR_URL: z.url({ protocol: /^https?$/ }).default('http://127.0.0.1:4100'),
  /** The bot's bearer token. During a rotation the executor accepts two; the bot speaks with the last one listed. */
  DEPUTY_EXECUTOR_TOKEN: optionalText,
  DEPUTY_BOT_HOST: z.string().min(1).default('127.0.0.1'),
  DEPUTY_BOT_PORT: z.coerce.number().int().min(0).max(65535).default(3978),
  DEPUTY_DEMO: envFlag.default(false),
  /** Largest request body the bot accepts on any route. */
  DEPUTY_BOT_MAX_BODY_BYTES: z.coerce.number().int().min(1024).max(10 * 1_048_576).default(256 * 1024),
  DEPUTY_LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  DEPUTY_LOG_FORMAT: z.enum(['json', 'pretty']).default('json'),
  // Teams: botbuilder's own names.
  MicrosoftAppId: optionalText,
  MicrosoftAppPassword: optionalText,
  MicrosoftAppTenantId: optionalText,
  MicrosoftAppType: z.enum(['MultiTenant', 'SingleTenant', 'UserAssignedMSI']).optional(),
  // Slack.
  SLACK_BOT_TOKEN: optionalText,
  SLACK_SIGNING_SECRET: optionalText,
  SLACK_APP_TOKEN: optionalText,
  /** Slack's Web API base (GovSlack, a proxy); Slack's own when absent. */
  DEPUTY_SLACK_API_URL: z.url({ protocol: /^https?$/ }).optional(),
  /** Where people reach the bot (https://deputy.example.com): absolute links to output files. */
  DEPUTY_PUBLIC_URL: z.url({ protocol: /^https?$/ }).optional(),
  /** PostgreSQL for the bot's conversation store, shared by several bots behind one URL (docs/bot.md); absent: a file in the data folder. */
  DEPUTY_DATABASE_URL: z
    .string()
    .regex(/^postgres(ql)?:\/\/\S+$/, 'a postgres:// or postgresql:// URL')
    .optional(),
});

export interface TeamsCredentials {
  appId: string;
  appPassword: string | undefined;
  appTenantId: string | undefined;
  appType: 'MultiTenant' | 'SingleTenant' | 'UserAssignedMSI';
}

export interface SlackCredentials {
  botToken: string;
  /** Needed for HTTP mode only. */
  signingSecret: string | undefined;
  appToken: string | undefined;
}

export interface BotConfig {
  dataDir: string;
  executorUrl: string;
  executorToken: string;
  host: string;
  port: number;
  demo: boolean;
  maxBodyBytes: number;
  logLevel: string;
  logFormat: LogFormat;
  /** Absent when the platform is off; `platformNotices` says why. */
  teams: TeamsCredentials | undefined;
  slack: SlackCredentials | undefined;
  /** One line per platform that is off, for the start-up log. */
  platformNotices: string[];
  /** `DEPUTY_SLACK_API_URL`, ending in `/`. */
  slackApiUrl?: string;
  /** `DEPUTY_PUBLIC_URL`, without a trailing `/`. */
  publicUrl?: string;
  /** `DEPUTY_DATABASE_URL`: the conversation store in PostgreSQL (schema `deputy_bot`). */
  databaseUrl?: string;
}

function teamsFrom(settings: z.infer<typeof BotEnvSchema>): TeamsCredentials | string {
  const appType = settings.MicrosoftAppType ?? 'MultiTenant';
  if (!settings.MicrosoftAppId) return 'Teams is off: MicrosoftAppId is not set.';
  // A managed identity needs no password; every other app type does.
  if (appType !== 'UserAssignedMSI' && !settings.MicrosoftAppPassword) return 'Teams is off: MicrosoftAppPassword is not set.';
  if (appType !== 'MultiTenant' && !settings.MicrosoftAppTenantId) return `Teams is off: MicrosoftAppTenantId is required for ${appType}.`;
  return {
    appId: settings.MicrosoftAppId,
    appPassword: settings.MicrosoftAppPassword,
    appTenantId: settings.MicrosoftAppTenantId,
    appType,
  };
}

function slackFrom(settings: z.infer<typeof BotEnvSchema>): SlackCredentials | string {
  // Socket Mode receives events over Slack's own authenticated socket: no request to sign.
  const required = settings.SLACK_APP_TOKEN ? (['SLACK_BOT_TOKEN'] as const) : (['SLACK_BOT_TOKEN', 'SLACK_SIGNING_SECRET'] as const);
  const missing = required.filter((name) => !settings[name]);
  if (missing.length > 0 || !settings.SLACK_BOT_TOKEN) {
    return `Slack is off: ${missing.join(' and ')} ${missing.length === 1 ? 'is' : 'are'} not set.`;
  }
  return { botToken: settings.SLACK_BOT_TOKEN, signingSecret: settings.SLACK_SIGNING_SECRET, appToken: settings.SLACK_APP_TOKEN };
}

/** Reads the bot's settings; throws DEPUTY_E_CONFIG_INVALID naming the first bad variable. */
export function loadBotConfig(env: NodeJS.ProcessEnv, cwd: string = process.cwd()): BotConfig {
  const present = Object.fromEntries(Object.entries(env).filter(([, value]) => value !== undefined && value !== ''));
  const result = BotEnvSchema.safeParse(present);
  if (!result.success) {
    const issue = result.error.issues[0];
    const variable = issue?.path.join('.') || 'configuration';
    throw new DeputyError('DEPUTY_E_CONFIG_INVALID', { message: `${variable}: ${issue?.message ?? 'invalid value'}` });
  }
  const settings = result.data;
  const tokens = (settings.DEPUTY_EXECUTOR_TOKEN ?? '').split(',').map((token) => token.trim()).filter(Boolean);
  const executorToken = tokens.at(-1);
  if (executorToken === undefined) {
    throw new DeputyError('DEPUTY_E_CONFIG_INVALID', { message: 'DEPUTY_EXECUTOR_TOKEN: the bot needs the executor bearer token' });
  }
  const teams = teamsFrom(settings);
  const slack = slackFrom(settings);
  return {
    dataDir: isAbsolute(settings.DEPUTY_DATA_DIR) ? settings.DEPUTY_DATA_DIR : resolve(cwd, settings.DEPUTY_DATA_DIR),
    executorUrl: settings.DEPUTY_EXECUTOR_URL.replace(/\/+$/, ''),
    executorToken,
    host: settings.DEPUTY_BOT_HOST,
    port: settings.DEPUTY_BOT_PORT,
    demo: settings.DEPUTY_DEMO,
    maxBodyBytes: settings.DEPUTY_BOT_MAX_BODY_BYTES,
    logLevel: settings.DEPUTY_LOG_LEVEL,
    logFormat: settings.DEPUTY_LOG_FORMAT,
    teams: typeof teams === 'string' ? undefined : teams,
    slack: typeof slack === 'string' ? undefined : slack,
    platformNotices: [teams, slack].filter((value): value is string => typeof value === 'string'),
    ...(settings.DEPUTY_SLACK_API_URL ? { slackApiUrl: settings.DEPUTY_SLACK_API_URL.replace(/\/*$/, '/') } : {}),
    ...(settings.DEPUTY_PUBLIC_URL ? { publicUrl: settings.DEPUTY_PUBLIC_URL.replace(/\/+$/, '') } : {}),
    ...(settings.DEPUTY_DATABASE_URL ? { databaseUrl: settings.DEPUTY_DATABASE_URL } : {}),
  };
}
