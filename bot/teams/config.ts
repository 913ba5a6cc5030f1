/**
 * Teams authentication settings, handed to botbuilder under its own names (DESIGN.md "Fixed
 * points"). bot/config.ts reads MicrosoftAppId & co. from the environment; this module turns
 * them into botbuilder's configuration and refuses what would switch verification off:
 * botbuilder treats an empty app id as "authentication disabled", so an edge is never built
 * without one.
 */
import type { ConfigurationBotFrameworkAuthenticationOptions } from 'botbuilder';
import { z } from 'zod';
import { DeputyError } from '../../executor/contract/index.ts';

/** The same shape as bot/config.ts `TeamsCredentials`. */
export interface TeamsCredentials {
  appId: string;
  appPassword: string | undefined;
  appTenantId: string | undefined;
  appType: 'MultiTenant' | 'SingleTenant' | 'UserAssignedMSI';
}

/**
 * Where botbuilder finds the Bot Framework: its public-cloud defaults unless set. For sovereign
 * or private clouds, and for the tests' loopback cloud. botbuilder takes all of these as
 * intentional once any is set, so they go together.
 */
export const TeamsCloudEndpointsSchema = z
  .object({
    ToBotFromChannelOpenIdMetadataUrl: z.url(),
    ToBotFromEmulatorOpenIdMetadataUrl: z.url(),
    ToBotFromChannelTokenIssuer: z.string().min(1),
    ToChannelFromBotLoginUrl: z.url(),
    ToChannelFromBotOAuthScope: z.string().min(1),
    OAuthUrl: z.url(),
    CallerId: z.string().min(1),
    ValidateAuthority: z.boolean(),
  })
  .strict();
export type TeamsCloudEndpoints = z.infer<typeof TeamsCloudEndpointsSchema>;

const CredentialsSchema = z.object({
  appId: z.guid({ message: 'MicrosoftAppId must be the bot registration\'s application (client) id, a GUID' }),
  appPassword: z.string().min(1).optional(),
  appTenantId: z.string().min(1).optional(),
  appType: z.enum(['MultiTenant', 'SingleTenant', 'UserAssignedMSI']),
});

/** botbuilder's ConfigurationBotFrameworkAuthentication options, verification always on. */
export function botFrameworkAuthOptions(
  credentials: TeamsCredentials,
  endpoints?: TeamsCloudEndpoints,
): ConfigurationBotFrameworkAuthenticationOptions {
  const parsed = CredentialsSchema.safeParse(credentials);
  if (!parsed.success) {
    throw new DeputyError('DEPUTY_E_CONFIG_INVALID', { message: parsed.error.issues[0]?.message ?? 'MicrosoftAppId is invalid' });
  }
  const checkedEndpoints = endpoints === undefined ? {} : TeamsCloudEndpointsSchema.parse(endpoints);
  const { appId, appPassword, appTenantId, appType } = parsed.data;
  return {
    MicrosoftAppId: appId,
    ...(appPassword === undefined ? {} : { MicrosoftAppPassword: appPassword }),
    ...(appTenantId === undefined ? {} : { MicrosoftAppTenantId: appTenantId }),
    MicrosoftAppType: appType,
    ...checkedEndpoints,
  } as ConfigurationBotFrameworkAuthenticationOptions;
}
