/**
 * The automation sections of catalog.yaml: `connectors:`, `credentials:` (references only; a
 * secret value never lives in the catalog) and `plans:`. Each entry is checked against the
 * rest of the file, every problem reported with its line, like the other sections.
 */
import { resolve } from 'node:path';
import { Cron } from 'croner';
import { z } from 'zod';
import { isLoopbackHost } from '../../lib/http-host.ts';
import { FieldValueSchema } from '../contract/index.ts';
import {
  ConnectorSchema,
  CredentialRefSchema,
  IdSchema,
  JsonPathSchema,
  PlanSchema,
  type Action,
  type Connector,
  type CredentialRef,
  type Plan,
  type Target,
} from '../domain.ts';
import type { Located } from './file.ts';
import { checkUniqueIds } from './references.ts';
import { checkPlanTargets } from './targets.ts';
import type { KeyPath, YamlSource } from './yaml-source.ts';

export const WebhookConnectorEntrySchema = z
  .strictObject({
    id: IdSchema,
    kind: z.literal('webhook').optional(),
    principal: IdSchema,
    actions: z.array(IdSchema).min(1),
    secretEnv: z.string().regex(/^[A-Z_][A-Z0-9_]*$/, 'an environment variable name').optional(),
    secretFile: z.string().min(1).optional(),
    allowSources: z.array(z.string().min(1)).optional(),
    actionFrom: JsonPathSchema.optional(),
    mapping: z.record(IdSchema, z.record(z.string().min(1), JsonPathSchema)).optional(),
    callbackUrl: z.url({ protocol: /^https?$/ }).optional(),
  })
  .refine((entry) => (entry.secretEnv === undefined) !== (entry.secretFile === undefined), {
    message: 'name exactly one of secretEnv or secretFile for the HMAC key',
    path: ['secretEnv'],
  });

const EnvNameSchema = z.string().regex(/^[A-Z_][A-Z0-9_]*$/, 'an environment variable name');
/** `alice@contoso.example` (that address) or `@contoso.example` (the whole domain). */
export const SenderPatternSchema = z.string().regex(/^([^\s@<>]+)?@[A-Za-z0-9.-]+\.[A-Za-z0-9-]+$/, 'an address (a@b.example) or a domain (@b.example)');

/** An e-mail connector (executor/mail): an SMTP listener whose messages start the actions it names. */
export const MailConnectorEntrySchema = z.strictObject({
  id: IdSchema,
  kind: z.literal('mail'),
  principal: IdSchema,
  actions: z.array(IdSchema).min(1),
  allowSenders: z.array(SenderPatternSchema).min(1),
  listen: z.strictObject({ host: z.string().min(1).default('127.0.0.1'), port: z.number().int().min(0).max(65_535) }),
  replyVia: z.strictObject({ host: z.string().min(1), port: z.number().int().min(1).max(65_535) }),
  requireAuth: z.strictObject({ userEnv: EnvNameSchema, passwordEnv: EnvNameSchema }).optional(),
});

/** `kind: mail` picks the mail schema, anything else the web service one, so each reports its own keys. */
export const ConnectorEntrySchema = z.unknown().transform((raw, ctx): z.infer<typeof WebhookConnectorEntrySchema> | z.infer<typeof MailConnectorEntrySchema> => {
  const isMail = typeof raw === 'object' && raw !== null && (raw as Record<string, unknown>).kind === 'mail';
  const result = isMail ? MailConnectorEntrySchema.safeParse(raw) : WebhookConnectorEntrySchema.safeParse(raw);
  if (result.success) return result.data;
  for (const issue of result.error.issues) ctx.addIssue(issue as z.core.$ZodRawIssue);
  return z.NEVER;
});

export const CredentialEntrySchema = z.strictObject({
  id: IdSchema,
  tenant: IdSchema,
  kind: z.enum(['secret', 'pscredential']),
  description: z.string().optional(),
});

export const PlanEntrySchema = z
  .strictObject({
    id: IdSchema,
    tenant: IdSchema.optional(),
    principal: IdSchema,
    action: IdSchema,
    inputs: z.record(z.string(), FieldValueSchema).optional(),
    schedule: z.string().min(1).optional(),
    trigger: z.strictObject({ connector: IdSchema }).optional(),
    enabled: z.boolean().optional(),
    workloads: z.array(z.string().min(1)).optional(),
    /** For an action with targets: the targets each firing runs on. */
    targets: z.array(IdSchema).min(1).optional(),
  })
  .refine((entry) => (entry.schedule === undefined) !== (entry.trigger === undefined), {
    message: 'give a plan either a schedule (cron) or a trigger',
    path: ['schedule'],
  });

export type ConnectorEntry = z.infer<typeof ConnectorEntrySchema>;
export type CredentialEntry = z.infer<typeof CredentialEntrySchema>;
export type PlanEntry = z.infer<typeof PlanEntrySchema>;

export interface AutomationEntries {
  connectors: Located<ConnectorEntry>[];
  credentials: Located<CredentialEntry>[];
  plans: Located<PlanEntry>[];
}

export interface AutomationContext {
  source: YamlSource;
  /** The catalog folder: a relative `secretFile` is resolved against it. */
  root: string;
  tenants: ReadonlySet<string>;
  principals: ReadonlyMap<string, { tenant: string }>;
  actions: readonly Action[];
  targets: readonly Target[];
  tenantParents: ReadonlyMap<string, string | undefined>;
  problems: string[];
}

export interface Automation {
  connectors: Connector[];
  credentials: CredentialRef[];
  plans: Plan[];
}

/** Checks the credential references first: actions bind to them before connectors and plans are built. */
export function buildCredentials(source: YamlSource, entries: Located<CredentialEntry>[], tenants: ReadonlySet<string>, problems: string[]): CredentialRef[] {
  checkUniqueIds(source, 'credentials', entries, problems);
  const credentials: CredentialRef[] = [];
  for (const { index, entry } of entries) {
    if (!tenants.has(entry.tenant)) problems.push(source.problem(['credentials', index, 'tenant'], `unknown tenant "${entry.tenant}"`));
    else credentials.push(CredentialRefSchema.parse(entry));
  }
  return credentials;
}

export function buildConnectorsAndPlans(entries: AutomationEntries, context: AutomationContext): Pick<Automation, 'connectors' | 'plans'> {
  const { source, problems } = context;
  const report = (path: KeyPath, message: string) => problems.push(source.problem(path, message));
  const actionIds = new Set(context.actions.map((action) => action.id));
  checkUniqueIds(source, 'connectors', entries.connectors, problems);
  checkUniqueIds(source, 'plans', entries.plans, problems);

  const connectors: Connector[] = [];
  for (const { index, entry } of entries.connectors) {
    const at = (...path: (string | number)[]): KeyPath => ['connectors', index, ...path];
    const before = problems.length;
    if (!context.principals.has(entry.principal)) report(at('principal'), `unknown principal "${entry.principal}"`);
    entry.actions.forEach((id, i) => {
      if (!actionIds.has(id)) report(at('actions', i), `unknown action "${id}"`);
    });
    if (entry.kind === 'mail') {
      // No SPF/DKIM here: on a reachable address, only a login tells who is really sending.
      if (!isLoopbackHost(entry.listen.host) && !entry.requireAuth) report(at('listen', 'host'), `"${entry.listen.host}" is not a loopback address: set requireAuth to listen there`);
      if (problems.length > before) continue;
      connectors.push(ConnectorSchema.parse(entry));
      continue;
    }
    for (const id of Object.keys(entry.mapping ?? {})) {
      if (!entry.actions.includes(id)) report(at('mapping', id), `"${id}" is not one of this connector's actions`);
    }
    if (entry.actions.length > 1 && entry.actionFrom === undefined) report(at('actionFrom'), 'a connector with several actions needs actionFrom (where the payload names the action)');
    if (problems.length > before) continue;
    connectors.push(
      ConnectorSchema.parse({ ...entry, ...(entry.secretFile !== undefined ? { secretFile: resolve(context.root, entry.secretFile) } : {}) }),
    );
  }
  checkMailListeners(entries.connectors, report);

  const connectorsById = new Map(entries.connectors.map(({ entry }) => [entry.id, entry]));
  /** A hook starts at most one plan per action: its answer names one run. */
  const triggeredBy = new Map<string, string>();
  const plans: Plan[] = [];
  for (const { index, entry } of entries.plans) {
    const at = (...path: (string | number)[]): KeyPath => ['plans', index, ...path];
    const before = problems.length;
    const principal = context.principals.get(entry.principal);
    if (!principal) report(at('principal'), `unknown principal "${entry.principal}"`);
    if (!actionIds.has(entry.action)) report(at('action'), `unknown action "${entry.action}"`);
    if (entry.tenant !== undefined && !context.tenants.has(entry.tenant)) report(at('tenant'), `unknown tenant "${entry.tenant}"`);
    if (entry.trigger) {
      const connector = connectorsById.get(entry.trigger.connector);
      const trigger = `${entry.trigger.connector}\u0000${entry.action}`;
      if (!connector) report(at('trigger', 'connector'), `unknown connector "${entry.trigger.connector}"`);
      else if (connector.kind === 'mail') report(at('trigger', 'connector'), `"${connector.id}" is a mail connector; plans are triggered by web service connectors only`);
      else if (!connector.actions.includes(entry.action)) report(at('action'), `"${entry.action}" is not one of connector "${connector.id}"'s actions`);
      else if (triggeredBy.has(trigger)) report(at('trigger', 'connector'), `plan "${triggeredBy.get(trigger)}" already runs "${entry.action}" for connector "${connector.id}"`);
      else triggeredBy.set(trigger, entry.id);
    }
    if (entry.schedule !== undefined) {
      const problem = cronProblem(entry.schedule);
      if (problem) report(at('schedule'), problem);
    }
    checkPlanTargets(entry, context.actions.find((action) => action.id === entry.action), { at, targets: context.targets, tenantParents: context.tenantParents }, report);
    if (problems.length > before || !principal) continue;
    plans.push(PlanSchema.parse({ ...entry, tenant: entry.tenant ?? principal.tenant }));
  }
  return { connectors, plans };
}

/** Two mail connectors cannot listen on the same fixed address and port. */
function checkMailListeners(entries: Located<ConnectorEntry>[], report: (path: KeyPath, message: string) => void): void {
  const taken = new Map<string, string>();
  for (const { index, entry } of entries) {
    if (entry.kind !== 'mail' || entry.listen.port === 0) continue;
    const address = `${entry.listen.host}:${entry.listen.port}`;
    const owner = taken.get(address);
    if (owner) report(['connectors', index, 'listen', 'port'], `connector "${owner}" already listens on ${address}`);
    else taken.set(address, entry.id);
  }
}

/** croner's own parser decides what a valid pattern is. */
export function cronProblem(pattern: string): string | undefined {
  try {
    new Cron(pattern, { paused: true });
    return undefined;
  } catch (error) {
    return `not a valid cron pattern: ${(error as Error).message}`;
  }
}
