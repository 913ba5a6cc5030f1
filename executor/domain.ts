/**
 * The executor's internal records. The catalog importer writes them, the policy reads them,
 * the run service executes them. (The REST shapes are in contract/.)
 */
import { z } from 'zod';
import {
  ApprovalRuleSchema,
  ApprovalViewSchema,
  ClonedFromSchema,
  FieldValueSchema,
  FormFieldSchema,
  OriginSchema,
  ParameterSetSchema,
  RoleSchema,
  RunStateSchema,
  RunSummarySchema,
  ScriptStatusSchema,
  TargetRefSchema,
} from './contract/index.ts';

export const IdSchema = z.string().regex(/^[a-z0-9][a-z0-9._-]{0,79}$/i, 'an id of letters, digits, dot, dash or underscore');

export const TenantSchema = z.object({ id: IdSchema, name: z.string(), parent: IdSchema.optional() });
export type Tenant = z.infer<typeof TenantSchema>;

export const IdentitiesSchema = z.object({
  webchat: z.string().optional(),
  slack: z.object({ teamId: z.string(), userId: z.string() }).optional(),
  teams: z.object({ tenantId: z.string(), aadObjectId: z.string() }).optional(),
});

export const PrincipalSchema = z.object({
  id: IdSchema,
  name: z.string(),
  tenant: IdSchema,
  roles: z.array(RoleSchema),
  email: z.string().optional(),
  identities: IdentitiesSchema.default({}),
  /** Workloads that are the principal's own (account names, machine names): what a User may act on. */
  workloads: z.array(z.string()).default([]),
});
export type Principal = z.infer<typeof PrincipalSchema>;

export const ScriptVersionSchema = z.object({
  hash: z.string().regex(/^[0-9a-f]{64}$/),
  scriptId: IdSchema,
  text: z.string(),
  parameters: z.array(FormFieldSchema),
  /** When the script declares more than one parameter set. */
  parameterSets: z.array(ParameterSetSchema).optional(),
  synopsis: z.string().optional(),
  /** The script reads `$SRXEnv` (written for ScriptRunner). */
  usesSrxEnv: z.boolean().optional(),
  /** Which reading of param() produced `parameters` (see PARSER_VERSION); absent: the first. */
  parserVersion: z.number().int().optional(),
  createdAt: z.string(),
});
export type ScriptVersion = z.infer<typeof ScriptVersionSchema>;

export const ScriptSchema = z.object({
  id: IdSchema,
  name: z.string(),
  description: z.string().optional(),
  tenant: IdSchema,
  status: ScriptStatusSchema,
  /** The newest version's hash; the status applies to it. */
  currentHash: z.string(),
  /** The last hash that was approved, kept when a change sends the script back to Draft. */
  approvedHash: z.string().optional(),
  file: z.string().optional(),
  versions: z.array(z.string()),
  /** For a clone: the script and the exact version it was copied from. */
  clonedFrom: ClonedFromSchema.optional(),
});
export type Script = z.infer<typeof ScriptSchema>;

/**
 * Where and as whom a run executes.
 * - service: a new pwsh process per run, as the executor's own account
 * - pool: warm pwsh workers (per account, or the executor's own), a fresh runspace per job
 * - process: a new pwsh process under an allowlisted local account
 */
export const RunAsSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('service') }),
  z.object({ kind: z.literal('pool'), account: z.string().optional() }),
  z.object({ kind: z.literal('process'), account: z.string() }),
]);
export type RunAs = z.infer<typeof RunAsSchema>;

/** Parses `service`, `pool`, `pool:<account>`, `process:<account>` as written in catalog.yaml. */
export function parseRunAs(text: string): RunAs | undefined {
  const [kind, account, ...rest] = text.split(':');
  if (rest.length > 0) return undefined;
  if (kind === 'service' && account === undefined) return { kind: 'service' };
  if (kind === 'pool') return account === undefined ? { kind: 'pool' } : account ? { kind: 'pool', account } : undefined;
  if (kind === 'process' && account) return { kind: 'process', account };
  return undefined;
}

/** Written in a choice binding's inputs, `$form.<field>` stands for the value the user gave that field. */
export const FORM_REFERENCE = /^\$form\.([A-Za-z_][A-Za-z0-9_]*)$/;

/** An action parameter's choices: a query, and inputs for it (constants, or `$form.<field>` of the same form). */
export const ChoiceBindingSchema = z.object({
  query: IdSchema,
  inputs: z.record(z.string(), FieldValueSchema).default({}),
});
export type ChoiceBinding = z.infer<typeof ChoiceBindingSchema>;
/**
 * A target system: a machine an action runs on, reached over SSH as `user` with the private
 * key held in the stored credential `credential`, after checking that the host presents the
 * pinned `hostKey` (OpenSSH public key text). `owner` makes it a User's own machine.
 */
export const TargetSchema = z.object({
  id: IdSchema,
  name: z.string(),
  tenant: IdSchema,
  host: z.string(),
  port: z.number().int().min(1).max(65_535),
  user: z.string(),
  credential: IdSchema,
  hostKey: z.string(),
  owner: IdSchema.optional(),
  /** pwsh on the target: a name on the account's PATH or an absolute path. */
  pwsh: z.string(),
  description: z.string().optional(),
});
export type Target = z.infer<typeof TargetSchema>;

/** Where an action may run: the targets named, or every target of a tenant and the tenants below it. */
export const ActionTargetsSchema = z.union([z.array(IdSchema).min(1), z.object({ tenant: IdSchema })]);
export type ActionTargets = z.infer<typeof ActionTargetsSchema>;

export const ActionSchema = z.object({
  id: IdSchema,
  title: z.string(),
  description: z.string().optional(),
  scriptId: IdSchema,
  /** A pinned version hash, or the latest approved version of the script. */
  version: z.union([z.literal('latest-approved'), z.string().regex(/^[0-9a-f]{64}$/)]),
  /** Tenant whose principals may see it; defaults to the script's tenant. */
  tenant: IdSchema,
  /** What the run acts on (a machine, a mailbox domain); informative, and `own` for User-role workloads. */
  target: z.string().optional(),
  runAs: RunAsSchema,
  /** Values the user cannot change. */
  fixed: z.record(z.string(), FieldValueSchema).default({}),
  /** Prefills the user may change. */
  presets: z.record(z.string(), FieldValueSchema).default({}),
  /** Hints shown instead of the script's, per parameter: the same script serves actions of different scope. */
  hints: z.record(z.string(), z.string()).optional(),
  /** Parameters the user fills in; when absent, every parameter that is not fixed. */
  ask: z.array(z.string()).optional(),
  allow: z.object({ roles: z.array(RoleSchema).default([]), principals: z.array(IdSchema).default([]) }),
  approval: ApprovalRuleSchema.default('none'),
  timeoutSeconds: z.number().int().min(1).max(86_400).default(300),
  /** Principals told of every result besides the requester. */
  notify: z.array(IdSchema).default([]),
  /**
   * For the User role: the parameter whose value must be the requester's own workload
   * (their account name or machine), checked against the principal's `workloads`.
   */
  ownWorkloadParameter: z.string().optional(),
  /** Parameters filled from stored credentials (parameter name → credential id); never asked, never stored in runs. */
  credentials: z.record(z.string(), IdSchema).optional(),
  /** Parameters whose choices come from a query (parameter name → which query, with what inputs). */
  choices: z.record(z.string(), ChoiceBindingSchema).optional(),
  /** Target systems the action runs on (docs/targets.md); absent: it runs on the executor. */
  targets: ActionTargetsSchema.optional(),
});
export type Action = z.infer<typeof ActionSchema>;

/**
 * A query: a script whose output is a list of choices (ScriptRunner's `_QUERY_` scripts). It
 * runs through the same policy and runner as an action, as the person who opens the form.
 */
export const QuerySchema = z.object({
  id: IdSchema,
  scriptId: IdSchema,
  runAs: RunAsSchema,
  /** Values for the query script's parameters. */
  inputs: z.record(z.string(), FieldValueSchema).default({}),
  /** How long an answer is reused (per person and inputs); 0: never. */
  cacheSeconds: z.number().int().min(0).max(86_400).default(60),
  timeoutSeconds: z.number().int().min(1).max(600).default(30),
  /** Set when `deputy import` made it from a `_QUERY_` script; catalog.yaml imports keep such queries. */
  imported: z.boolean().optional(),
});
export type Query = z.infer<typeof QuerySchema>;

/** A JSON path of the small safe subset `$.a.b[0].c` (see executor/connectors/json-path.ts). */
export const JsonPathSchema = z.string().regex(/^\$(\.[A-Za-z_][A-Za-z0-9_-]*|\[\d{1,6}\])*$/, 'a JSON path like $.a.b[0].c');

const EnvNameSchema = z.string().regex(/^[A-Z_][A-Z0-9_]*$/, 'an environment variable name');
export const MailEndpointSchema = z.object({ host: z.string().min(1), port: z.number().int().min(0).max(65_535) });
export type MailEndpoint = z.infer<typeof MailEndpointSchema>;

/**
 * An inbound web service connector (`POST /v1/hooks/<id>`). It acts only as its bound principal
 * and only on the actions it names. The HMAC key is never in the catalog: it is read from an
 * environment variable or a 0600 file named here.
 */
export const ConnectorSchema = z.object({
  id: IdSchema,
  principal: IdSchema,
  actions: z.array(IdSchema).min(1),
  secretEnv: z.string().regex(/^[A-Z_][A-Z0-9_]*$/).optional(),
  secretFile: z.string().optional(),
  /** Addresses or CIDR ranges a hook may come from; empty: any. */
  allowSources: z.array(z.string()).default([]),
  /** Where in the payload the action id is, when the connector names more than one action. */
  actionFrom: JsonPathSchema.optional(),
  /** Per action: parameter name → JSON path into the payload. */
  mapping: z.record(IdSchema, z.record(z.string(), JsonPathSchema)).default({}),
  /** Receives the finished run, signed with the connector's key. */
  callbackUrl: z.url({ protocol: /^https?$/ }).optional(),
  /** Absent: a web service connector. `mail`: an SMTP listener (executor/mail); the fields below are its own. */
  kind: z.enum(['webhook', 'mail']).optional(),
  /** Mail: sender addresses (`a@b.example`) or whole domains (`@b.example`) whose messages are read. */
  allowSenders: z.array(z.string()).optional(),
  /** Mail: where the SMTP listener binds (loopback unless `requireAuth` is set). */
  listen: MailEndpointSchema.optional(),
  /** Mail: the SMTP relay that carries replies and results back to the sender. */
  replyVia: MailEndpointSchema.optional(),
  /** Mail: senders must log in (AUTH PLAIN/LOGIN) with this user and password, read from the environment. */
  requireAuth: z.object({ userEnv: EnvNameSchema, passwordEnv: EnvNameSchema }).optional(),
});
export type Connector = z.infer<typeof ConnectorSchema>;

/** A stored credential as the catalog names it: a reference, never a value. */
export const CredentialRefSchema = z.object({
  id: IdSchema,
  tenant: IdSchema,
  kind: z.enum(['secret', 'pscredential']),
  description: z.string().optional(),
});
export type CredentialRef = z.infer<typeof CredentialRefSchema>;

/** A scripting plan: one action run as a named principal on a cron schedule or a connector trigger. */
export const PlanSchema = z.object({
  id: IdSchema,
  tenant: IdSchema,
  principal: IdSchema,
  action: IdSchema,
  inputs: z.record(z.string(), FieldValueSchema).default({}),
  schedule: z.string().optional(),
  trigger: z.object({ connector: IdSchema }).optional(),
  enabled: z.boolean().default(true),
  /** The workloads (accounts, machines) the plan is applied to; what the User role's limit checks. */
  workloads: z.array(z.string()).default([]),
  /** For an action with targets: the targets each firing runs on (one run, a line per target). */
  targets: z.array(IdSchema).optional(),
});
export type Plan = z.infer<typeof PlanSchema>;

export const RunRecordSchema = z.object({
  id: z.string(),
  actionId: z.string(),
  actionTitle: z.string(),
  principalId: z.string(),
  tenant: z.string(),
  state: RunStateSchema,
  /** Inputs with secrets already masked: the real secret values are never persisted. */
  inputs: z.record(z.string(), z.unknown()),
  /** The parameter set PowerShell binds, when the script has several. */
  parameterSet: z.string().optional(),
  origin: OriginSchema,
  correlationId: z.string(),
  scriptId: z.string(),
  scriptHash: z.string(),
  /** A run on target systems: each target's id and name as they were when the run was requested. */
  targets: z.array(TargetRefSchema).optional(),
  runAs: RunAsSchema,
  timeoutSeconds: z.number(),
  notify: z.array(z.string()),
  createdAt: z.string(),
  updatedAt: z.string(),
  startedAt: z.string().optional(),
  endedAt: z.string().optional(),
  durationMs: z.number().optional(),
  /** The executor that took the run from the queue (docs/store.md, "Leases"): the one to cancel it, or to lose it when it dies. */
  executor: z.string().optional(),
  approval: ApprovalViewSchema.extend({
    /** SHA-256 over script hash + canonical inputs (+ the targets): an approval is for these exact inputs, on these targets. */
    bindingHash: z.string().optional(),
  }).optional(),
  summary: RunSummarySchema.optional(),
  error: z.object({ code: z.string(), message: z.string() }).optional(),
});
export type RunRecord = z.infer<typeof RunRecordSchema>;

export const AuditEntrySchema = z.object({
  seq: z.number().int(),
  at: z.string(),
  /** e.g. `run.create`, `run.state`, `catalog.import`, `identity.resolve`, `policy.decision`. */
  type: z.string(),
  outcome: z.enum(['allowed', 'denied', 'info', 'error']),
  correlationId: z.string(),
  /** Principal, connector or token that caused it. */
  actor: z.string().optional(),
  /** Which bearer token (its label, never its value) made the request. */
  via: z.string().optional(),
  subject: z.string().optional(),
  detail: z.record(z.string(), z.unknown()).default({}),
  prevHash: z.string(),
  hash: z.string(),
});
export type AuditEntry = z.infer<typeof AuditEntrySchema>;

/**
 * What the catalog folder said at its last import, per authorable record: a script's text
 * (its hash) and a fingerprint of each action and plan. An import compares folder, store and
 * this baseline, so a change made through the API since then is kept and reported, never
 * silently overwritten by an older folder (executor/catalog/merge.ts).
 */
export const CatalogBaselineSchema = z.object({
  scripts: z.record(z.string(), z.string()).default({}),
  actions: z.record(z.string(), z.string()).default({}),
  plans: z.record(z.string(), z.string()).default({}),
});
export type CatalogBaseline = z.infer<typeof CatalogBaselineSchema>;
export type AuditInput = Omit<AuditEntry, 'seq' | 'at' | 'prevHash' | 'hash' | 'detail'> & { detail?: Record<string, unknown> };
