/**
 * The chat platforms `deputy bot` and `deputy start` serve: Teams and Slack as edge plugins.
 * Each is loaded only when its credentials are configured, so a bot without Teams never loads
 * botbuilder, and one without Slack never loads Bolt. The local web chat is built into
 * startBot (demo mode only).
 */
import type { BotConfig } from './config.ts';
import { startBot, type EdgePlugin, type RunningBot, type StartBotOptions } from './server.ts';

export const teamsPlugin: EdgePlugin = {
  channel: 'teams',
  offReason: (config: BotConfig) => (config.teams ? undefined : config.platformNotices.find((line) => line.startsWith('Teams'))),
  async create({ config, handler, logger, clock }) {
    const credentials = config.teams;
    if (!credentials) throw new Error('Teams credentials are missing');
    const { TeamsEdge } = await import('./teams/edge.ts');
    return new TeamsEdge({ credentials, handler, logger, clock, maxBodyBytes: config.maxBodyBytes });
  },
};

export const slackPlugin: EdgePlugin = {
  channel: 'slack',
  offReason: (config: BotConfig) => (config.slack ? undefined : config.platformNotices.find((line) => line.startsWith('Slack'))),
  async create({ config, handler, logger, clock }) {
    const credentials = config.slack;
    if (!credentials) throw new Error('Slack credentials are missing');
    const { SlackEdge } = await import('./slack/edge.ts');
    return SlackEdge.create({
      handler,
      botToken: credentials.botToken,
      signingSecret: credentials.signingSecret,
      ...(credentials.appToken ? { appToken: credentials.appToken } : {}),
      logger,
      clock,
    });
  },
};

export const PLATFORM_PLUGINS: readonly EdgePlugin[] = [teamsPlugin, slackPlugin];

/** The bot with every platform whose credentials are set (what `deputy bot` runs). */
export function startBotWithPlatforms(options: Omit<StartBotOptions, 'edges'>): Promise<RunningBot> {
  return startBot({ ...options, edges: [...PLATFORM_PLUGINS] });
}
