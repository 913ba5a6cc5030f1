/**
 * The Slack edge as a bot-server plugin: on when bot/config.ts found SLACK_BOT_TOKEN and
 * SLACK_SIGNING_SECRET (Socket Mode when SLACK_APP_TOKEN is set too), off with one line otherwise.
 */
import type { EdgePlugin } from '../server.ts';
import { createSlackEdge, type SlackEdgeOptions } from './edge.ts';

/** Settings beyond the environment: another Web API URL (a proxy), deadlines. */
export type SlackPluginOptions = Pick<SlackEdgeOptions, 'apiUrl' | 'commandName' | 'modalDeadlineMs' | 'submitBudgetMs' | 'ackTimeoutMs'>;

export function slackEdgePlugin(options: SlackPluginOptions = {}): EdgePlugin {
  return {
    channel: 'slack',
    offReason: (config) =>
      config.slack ? undefined : (config.platformNotices.find((notice) => notice.startsWith('Slack')) ?? 'Slack is off: SLACK_BOT_TOKEN is not set.'),
    async create({ config, handler, logger, clock }) {
      if (!config.slack) throw new Error('slackEdgePlugin.create called while Slack is off');
      const { botToken, signingSecret, appToken } = config.slack;
      return createSlackEdge({ ...options, handler, logger, clock, botToken, ...(signingSecret ? { signingSecret } : {}), ...(appToken ? { appToken } : {}) });
    },
  };
}
