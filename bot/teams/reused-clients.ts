/**
 * botbuilder builds a new ConnectorClient and UserTokenClient, each with an HTTP pipeline of
 * its own, for every activity it receives and for every proactive message. That costs a
 * millisecond or two of CPU per turn; under a burst of invokes it is the bot's largest cost
 * after the cards, and Node accepts one new connection per turn of its event loop, so every
 * millisecond a turn takes delays the next caller (issue 12, item 8). The clients hold nothing
 * of a conversation (the credentials cache their tokens per audience), so they are built once
 * per app id, service URL and audience and reused, as botbuilder's own samples keep one adapter.
 */
import { ConfigurationBotFrameworkAuthentication } from 'botbuilder';
import { LRUCache } from 'lru-cache';

type ConnectorFactory = ReturnType<ConfigurationBotFrameworkAuthentication['createConnectorFactory']>;
type ConnectorClient = Awaited<ReturnType<ConnectorFactory['create']>>;
type ClaimsIdentity = Parameters<ConfigurationBotFrameworkAuthentication['createConnectorFactory']>[0];
type UserTokenClient = Awaited<ReturnType<ConfigurationBotFrameworkAuthentication['createUserTokenClient']>>;
type AuthenticateRequestResult = Awaited<ReturnType<ConfigurationBotFrameworkAuthentication['authenticateRequest']>>;

/** Service URLs a bot talks to are few (one per region Teams routes it through); this bounds them anyway. */
const MAX_CONNECTORS = 64;
const MAX_TOKEN_CLIENTS = 8;

/** The bot app id botbuilder addresses outbound calls as (its `getAppId`): the audience, else the appid claim. */
function appIdOf(identity: ClaimsIdentity): string {
  return identity.getClaimValue('aud') ?? identity.getClaimValue('appid') ?? '';
}

export class ReusedClientsAuthentication extends ConfigurationBotFrameworkAuthentication {
  private readonly connectors = new LRUCache<string, Promise<ConnectorClient>>({ max: MAX_CONNECTORS });
  private readonly tokenClients = new LRUCache<string, Promise<UserTokenClient>>({ max: MAX_TOKEN_CLIENTS });

  override async authenticateRequest(...args: Parameters<ConfigurationBotFrameworkAuthentication['authenticateRequest']>): Promise<AuthenticateRequestResult> {
    const result = await super.authenticateRequest(...args);
    if (!result.connectorFactory) return result;
    return { ...result, connectorFactory: this.reusing(result.connectorFactory, appIdOf(result.claimsIdentity)) };
  }

  override createConnectorFactory(claimsIdentity: ClaimsIdentity): ConnectorFactory {
    return this.reusing(super.createConnectorFactory(claimsIdentity), appIdOf(claimsIdentity));
  }

  override createUserTokenClient(claimsIdentity: ClaimsIdentity): Promise<UserTokenClient> {
    return once(this.tokenClients, appIdOf(claimsIdentity), () => super.createUserTokenClient(claimsIdentity));
  }

  private reusing(factory: ConnectorFactory, appId: string): ConnectorFactory {
    return {
      create: (serviceUrl: string, audience?: string) => once(this.connectors, JSON.stringify([appId, serviceUrl, audience ?? null]), () => factory.create(serviceUrl, audience)),
    };
  }
}

/** The cached promise for `key`, else `build`'s; a failed build is forgotten, so the next call tries again. */
function once<T extends object>(cache: LRUCache<string, Promise<T>>, key: string, build: () => Promise<T>): Promise<T> {
  const known = cache.get(key);
  if (known) return known;
  const built = build();
  cache.set(key, built);
  built.catch(() => {
    if (cache.get(key) === built) cache.delete(key);
  });
  return built;
}
