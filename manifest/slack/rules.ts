/**
 * Slack's documented app manifest rules as a zod schema (the published JSON schema is on the
 * web, which this project does not fetch): field lengths, the slash command's form, https URLs,
 * known bot scopes, events that need a scope, URLs present unless Socket Mode is on.
 */
import { z } from 'zod';

/** The bot scopes Slack documents that an app like this could ask for; anything else is a typo. */
export const KNOWN_BOT_SCOPES = [
  'app_mentions:read', 'channels:history', 'channels:join', 'channels:read', 'chat:write', 'chat:write.customize',
  'chat:write.public', 'commands', 'files:read', 'files:write', 'groups:history', 'groups:read', 'im:history',
  'im:read', 'im:write', 'mpim:history', 'mpim:read', 'mpim:write', 'reactions:read', 'reactions:write',
  'team:read', 'users:read', 'users:read.email', 'users.profile:read',
] as const;

/** Bot events and the scope each one needs (none for app_home_opened). */
export const EVENT_SCOPES: Record<string, string | undefined> = {
  app_home_opened: undefined,
  app_mention: 'app_mentions:read',
  'message.im': 'im:history',
  'message.channels': 'channels:history',
  'message.groups': 'groups:history',
  'message.mpim': 'mpim:history',
};

const httpsUrl = z.url({ protocol: /^https$/ });

const SlashCommandSchema = z.object({
  command: z.string().regex(/^\/[a-z0-9_-]+$/, 'a slash command starts with "/" and uses lower-case letters, digits, "-" or "_"').max(32),
  url: httpsUrl.optional(),
  description: z.string().min(1).max(2000),
  usage_hint: z.string().max(1000).optional(),
  should_escape: z.boolean().optional(),
});

export const SlackManifestSchema = z
  .object({
    _metadata: z.object({ major_version: z.number().int(), minor_version: z.number().int() }).optional(),
    display_information: z.object({
      name: z.string().min(1).max(35),
      description: z.string().max(140).optional(),
      long_description: z.string().min(175).max(4000).optional(),
      background_color: z.string().regex(/^#[0-9a-fA-F]{3}([0-9a-fA-F]{3})?$/).optional(),
    }),
    features: z.object({
      app_home: z.object({
        home_tab_enabled: z.boolean(),
        messages_tab_enabled: z.boolean(),
        messages_tab_read_only_enabled: z.boolean(),
      }),
      bot_user: z.object({
        display_name: z.string().min(1).max(80).regex(/^[a-z0-9._-]+$/, 'a bot display name uses lower-case letters, digits, ".", "-" or "_"'),
        always_online: z.boolean(),
      }),
      slash_commands: z.array(SlashCommandSchema).max(50),
    }),
    oauth_config: z.object({
      scopes: z.object({ bot: z.array(z.enum(KNOWN_BOT_SCOPES)).min(1).max(255) }),
    }),
    settings: z.object({
      event_subscriptions: z.object({
        request_url: httpsUrl.optional(),
        bot_events: z.array(z.string()).max(100),
      }),
      interactivity: z.object({ is_enabled: z.boolean(), request_url: httpsUrl.optional(), message_menu_options_url: httpsUrl.optional() }),
      org_deploy_enabled: z.boolean(),
      socket_mode_enabled: z.boolean(),
      token_rotation_enabled: z.boolean(),
    }),
  })
  .superRefine((manifest, context) => {
    const scopes = new Set<string>(manifest.oauth_config.scopes.bot);
    for (const event of manifest.settings.event_subscriptions.bot_events) {
      if (!(event in EVENT_SCOPES)) {
        context.addIssue({ code: 'custom', path: ['settings', 'event_subscriptions', 'bot_events'], message: `unknown bot event ${event}` });
        continue;
      }
      const needed = EVENT_SCOPES[event];
      if (needed && !scopes.has(needed)) {
        context.addIssue({ code: 'custom', path: ['oauth_config', 'scopes', 'bot'], message: `event ${event} needs the ${needed} scope` });
      }
    }
    if (manifest.features.slash_commands.length > 0 && !scopes.has('commands')) {
      context.addIssue({ code: 'custom', path: ['oauth_config', 'scopes', 'bot'], message: 'slash commands need the commands scope' });
    }
    if (!manifest.settings.socket_mode_enabled) {
      // Over HTTP, Slack has to know where to send everything.
      if (manifest.settings.interactivity.is_enabled && !manifest.settings.interactivity.request_url) {
        context.addIssue({ code: 'custom', path: ['settings', 'interactivity', 'request_url'], message: 'interactivity needs a request URL unless Socket Mode is on' });
      }
      // Deputy's forms have external selects (choices from queries): Slack needs to know where to ask for their options.
      if (manifest.settings.interactivity.is_enabled && !manifest.settings.interactivity.message_menu_options_url) {
        context.addIssue({ code: 'custom', path: ['settings', 'interactivity', 'message_menu_options_url'], message: 'external selects need an options load URL unless Socket Mode is on' });
      }
      if (manifest.settings.event_subscriptions.bot_events.length > 0 && !manifest.settings.event_subscriptions.request_url) {
        context.addIssue({ code: 'custom', path: ['settings', 'event_subscriptions', 'request_url'], message: 'events need a request URL unless Socket Mode is on' });
      }
      manifest.features.slash_commands.forEach((command, index) => {
        if (!command.url) context.addIssue({ code: 'custom', path: ['features', 'slash_commands', index, 'url'], message: 'a slash command needs a URL unless Socket Mode is on' });
      });
    }
  });

export type SlackManifest = z.infer<typeof SlackManifestSchema>;
