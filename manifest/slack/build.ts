/**
 * Builds the Slack app manifest from `manifest.yaml` and the deployment's configuration: the
 * request URLs point at `<DEPUTY_PUBLIC_URL>/slack/events`, or are dropped in Socket Mode (the
 * app then connects out and needs no public URL).
 */
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { parse, stringify } from 'yaml';
import { DeputyError } from '../../executor/contract/index.ts';
import { SlackManifestSchema, type SlackManifest } from './rules.ts';

export const SLACK_MANIFEST_PATH = fileURLToPath(new URL('./manifest.yaml', import.meta.url));

export interface SlackManifestOptions {
  /** Where Slack reaches the bot, e.g. `https://deputy.contoso.com` (HTTP mode). */
  publicUrl?: string;
  /** Socket Mode: no request URLs; set when SLACK_APP_TOKEN is configured. */
  socketMode?: boolean;
  /** The slash command, `/deputy` unless the workspace already has one by that name. */
  command?: string;
}

export async function buildSlackManifest(options: SlackManifestOptions): Promise<SlackManifest> {
  const template = SlackManifestSchema.parse(parse(await readFile(SLACK_MANIFEST_PATH, 'utf8')));
  const socketMode = options.socketMode === true;
  let eventsUrl: string | undefined;
  if (!socketMode) {
    if (!options.publicUrl) {
      throw new DeputyError('DEPUTY_E_CONFIG_INVALID', { message: 'DEPUTY_PUBLIC_URL is needed for the Slack manifest in HTTP mode (or set SLACK_APP_TOKEN for Socket Mode).' });
    }
    eventsUrl = new URL('/slack/events', options.publicUrl).toString();
  }
  const withUrl = <T extends object>(item: T & { url?: string; request_url?: string; message_menu_options_url?: string }, key: 'url' | 'request_url' | 'message_menu_options_url'): T => {
    const { [key]: _placeholder, ...rest } = item;
    return (eventsUrl ? { ...rest, [key]: eventsUrl } : rest) as T;
  };
  const manifest = {
    ...template,
    features: {
      ...template.features,
      slash_commands: template.features.slash_commands.map((command) => withUrl({ ...command, command: options.command ?? command.command }, 'url')),
    },
    settings: {
      ...template.settings,
      event_subscriptions: withUrl(template.settings.event_subscriptions, 'request_url'),
      interactivity: withUrl(withUrl(template.settings.interactivity, 'request_url'), 'message_menu_options_url'),
      socket_mode_enabled: socketMode,
    },
  };
  // The result must pass the same rules as the template, now with real URLs.
  return SlackManifestSchema.parse(manifest);
}

export function slackManifestYaml(manifest: SlackManifest): string {
  return stringify(manifest);
}
