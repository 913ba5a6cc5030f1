/**
 * Runs the real Teams edge (botbuilder CloudAdapter, real JWT verification, real MSAL token
 * request, real connector client) on a real restify server on loopback, against the fake cloud.
 */
import type { AddressInfo } from 'node:net';
import { randomUUID } from 'node:crypto';
import { ConfidentialClientApplication } from '@azure/msal-node';
import { MsalServiceClientCredentialsFactory } from 'botframework-connector';
import restify from 'restify';
import { silentLogger } from '../../../lib/logger.ts';
import type { ConversationHandler } from '../../../bot/core/model.ts';
import { TeamsEdge } from '../../../bot/teams/edge.ts';
import type { TeamsCloudEndpoints } from '../../../bot/teams/config.ts';
import { BOT_FRAMEWORK_ISSUER, type FakeBotFrameworkCloud } from './fake-cloud.ts';

export interface RunningBot {
  edge: TeamsEdge;
  url: string;
  close(): Promise<void>;
}

/** What a bot needs to know of the loopback cloud (also in another process: bench/chat-bot.ts). */
export type LoopbackCloud = Pick<FakeBotFrameworkCloud, 'openIdMetadataUrl' | 'loginUrl' | 'loginHost' | 'serviceUrl' | 'appId' | 'appPassword' | 'caPem'>;

/** botbuilder's endpoint settings, all pointed at the loopback cloud. */
export function loopbackEndpoints(cloud: LoopbackCloud): TeamsCloudEndpoints {
  return {
    ToBotFromChannelOpenIdMetadataUrl: cloud.openIdMetadataUrl,
    ToBotFromEmulatorOpenIdMetadataUrl: cloud.openIdMetadataUrl,
    ToBotFromChannelTokenIssuer: BOT_FRAMEWORK_ISSUER,
    ToChannelFromBotLoginUrl: cloud.loginUrl,
    ToChannelFromBotOAuthScope: BOT_FRAMEWORK_ISSUER,
    OAuthUrl: cloud.serviceUrl,
    CallerId: 'urn:botframework:azure',
    ValidateAuthority: true,
  };
}

/**
 * The bot's outbound credentials: MSAL's confidential client against the fake AAD. The
 * authority is listed as known (so MSAL skips instance discovery on the internet) and the fake's
 * self-signed certificate is trusted by this client's https agent only.
 */
export function loopbackCredentials(cloud: LoopbackCloud): MsalServiceClientCredentialsFactory {
  const msal = new ConfidentialClientApplication({
    auth: {
      clientId: cloud.appId,
      clientSecret: cloud.appPassword,
      authority: cloud.loginUrl,
      knownAuthorities: [cloud.loginHost],
    },
    system: { customAgentOptions: { ca: cloud.caPem } },
  });
  // The ESM and CommonJS builds of msal-node declare the same class twice; botbuilder only
  // calls acquireTokenByClientCredential on it.
  return new MsalServiceClientCredentialsFactory(cloud.appId, msal as unknown as ConstructorParameters<typeof MsalServiceClientCredentialsFactory>[1]);
}

export async function startTeamsEdge(
  cloud: FakeBotFrameworkCloud,
  handler: ConversationHandler,
  options: { invokeDeadlineMs?: number; insecureFileDownloads?: boolean; fileHosts?: readonly string[]; maxAudiences?: number; publicUrl?: string } = {},
): Promise<RunningBot> {
  const server = restify.createServer({ name: 'deputy-teams-test' });
  const edge = new TeamsEdge({
    credentials: { appId: cloud.appId, appPassword: cloud.appPassword, appTenantId: undefined, appType: 'MultiTenant' },
    handler,
    logger: silentLogger(),
    endpoints: loopbackEndpoints(cloud),
    credentialsFactory: loopbackCredentials(cloud),
    ...(options.invokeDeadlineMs === undefined ? {} : { invokeDeadlineMs: options.invokeDeadlineMs }),
    ...(options.insecureFileDownloads === undefined ? {} : { insecureFileDownloads: options.insecureFileDownloads }),
    ...(options.fileHosts === undefined ? {} : { fileHosts: options.fileHosts }),
    ...(options.maxAudiences === undefined ? {} : { maxAudiences: options.maxAudiences }),
    ...(options.publicUrl === undefined ? {} : { publicUrl: options.publicUrl }),
  });
  edge.mount(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const { port } = server.address() as AddressInfo;
  return {
    edge,
    url: `http://127.0.0.1:${port}/api/messages`,
    async close() {
      await edge.close();
      server.server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

export interface TeamsUser {
  id: string;
  aadObjectId: string;
  name: string;
}

export const TENANT_ID = '72f988bf-86f1-41af-91ab-2d7cd011db47';

export function teamsUser(name: string): TeamsUser {
  return { id: `29:${name}-${randomUUID()}`, aadObjectId: randomUUID(), name };
}

export interface ConversationSpec {
  id: string;
  conversationType: 'personal' | 'groupChat' | 'channel';
}

export const personalChat = (): ConversationSpec => ({ id: `a:personal-${randomUUID()}`, conversationType: 'personal' });
export const groupChat = (): ConversationSpec => ({ id: `19:group-${randomUUID()}@thread.v2`, conversationType: 'groupChat' });
export const channel = (): ConversationSpec => ({ id: `19:channel-${randomUUID()}@thread.tacv2`, conversationType: 'channel' });

/** The activity JSON as Teams posts it to the bot. */
interface Envelope {
  id: string;
  timestamp: string;
  channelId: 'msteams';
  serviceUrl: string;
  from: { id: string; aadObjectId?: string; name: string };
  recipient: { id: string; name: string };
  conversation: ConversationSpec & { tenantId: string };
  channelData: { tenant: { id: string } };
  locale: string;
}

export interface TeamsActivityJson extends Envelope {
  type: string;
  [more: string]: unknown;
}

function envelope(cloud: FakeBotFrameworkCloud, user: TeamsUser, conversation: ConversationSpec): Envelope {
  return {
    id: `${Date.now()}${Math.floor(Math.random() * 1000)}`,
    timestamp: new Date().toISOString(),
    channelId: 'msteams',
    serviceUrl: cloud.serviceUrl,
    from: { id: user.id, aadObjectId: user.aadObjectId, name: user.name },
    recipient: { id: `28:${cloud.appId}`, name: 'Deputy' },
    conversation: { ...conversation, tenantId: TENANT_ID },
    channelData: { tenant: { id: TENANT_ID } },
    locale: 'en-US',
  };
}

export function messageActivity(cloud: FakeBotFrameworkCloud, user: TeamsUser, conversation: ConversationSpec, text: string): TeamsActivityJson {
  const mentioned = conversation.conversationType !== 'personal';
  return {
    ...envelope(cloud, user, conversation),
    type: 'message',
    text: mentioned ? `<at>Deputy</at> ${text}` : text,
    textFormat: 'plain',
    entities: mentioned
      ? [{ type: 'mention', text: '<at>Deputy</at>', mentioned: { id: `28:${cloud.appId}`, name: 'Deputy' } }]
      : [],
  };
}

export function executeActivity(
  cloud: FakeBotFrameworkCloud,
  user: TeamsUser,
  conversation: ConversationSpec,
  action: { verb: string; data: Record<string, unknown>; replyToId: string; trigger?: 'manual' | 'automatic' },
): TeamsActivityJson {
  return {
    ...envelope(cloud, user, conversation),
    type: 'invoke',
    name: 'adaptiveCard/action',
    replyToId: action.replyToId,
    value: { action: { type: 'Action.Execute', verb: action.verb, data: action.data }, trigger: action.trigger ?? 'manual' },
  };
}

export async function send(url: string, activity: unknown, token: string | undefined): Promise<{ status: number; body: unknown; ms: number }> {
  const started = performance.now();
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token === undefined ? {} : { authorization: `Bearer ${token}` }) },
    body: JSON.stringify(activity),
  });
  const text = await response.text();
  let body: unknown = text;
  try {
    body = text ? JSON.parse(text) : undefined;
  } catch {
    // not JSON: keep the text
  }
  return { status: response.status, body, ms: performance.now() - started };
}
