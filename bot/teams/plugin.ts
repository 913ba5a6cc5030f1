/**
 * The Teams edge as a bot-server plugin: on when bot/config.ts found MicrosoftAppId (and the
 * password or tenant its app type needs), off with one line otherwise.
 */
import type { EdgePlugin } from '../server.ts';
import { TeamsEdge, type TeamsEdgeOptions } from './edge.ts';

/** Settings beyond the environment: a private cloud's endpoints, a custom token source, the invoke deadline, the file hosts, (tests) http file downloads. */
export type TeamsPluginOptions = Pick<TeamsEdgeOptions, 'endpoints' | 'credentialsFactory' | 'invokeDeadlineMs' | 'insecureFileDownloads' | 'fileHosts'>;

export function teamsEdgePlugin(options: TeamsPluginOptions = {}): EdgePlugin {
  return {
    channel: 'teams',
    offReason: (config) =>
      config.teams ? undefined : (config.platformNotices.find((notice) => notice.startsWith('Teams')) ?? 'Teams is off: MicrosoftAppId is not set.'),
    async create({ config, handler, logger, clock }) {
      if (!config.teams) throw new Error('teamsEdgePlugin.create called while Teams is off');
      return new TeamsEdge({ ...options, credentials: config.teams, handler, logger, clock, maxBodyBytes: config.maxBodyBytes, ...(config.publicUrl ? { publicUrl: config.publicUrl } : {}) });
    },
  };
}
