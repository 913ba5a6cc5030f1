/**
 * The shape of `catalog.yaml` (DESIGN.md "Catalog as code"), checked entry by entry so that
 * every problem in the file is reported at once, each with its line and key path.
 */
import { z } from 'zod';
import { ApprovalRuleSchema, FieldValueSchema, RoleSchema, ScriptStatusSchema } from '../contract/index.ts';
import { IdSchema, parseRunAs } from '../domain.ts';
import { ConnectorEntrySchema, CredentialEntrySchema, PlanEntrySchema, type AutomationEntries } from './automation.ts';
import { FingerprintSchema } from './merge.ts';
import { ActionTargetsEntrySchema, TargetEntrySchema, type TargetEntry } from './targets.ts';
import type { KeyPath, YamlSource } from './yaml-source.ts';

const HashSchema = z.string().regex(/^[0-9a-f]{64}$/, 'a SHA-256 hash (64 lower-case hex digits)');

export const TenantEntrySchema = z.strictObject({ id: IdSchema, name: z.string().min(1), parent: IdSchema.optional() });

export const PrincipalEntrySchema = z.strictObject({
  id: IdSchema,
  name: z.string().min(1),
  tenant: IdSchema,
  roles: z.array(RoleSchema).min(1),
  email: z.string().optional(),
  identities: z
    .strictObject({
      webchat: z.string().min(1).optional(),
      slack: z.strictObject({ teamId: z.string().min(1), userId: z.string().min(1) }).optional(),
      teams: z.strictObject({ tenantId: z.string().min(1), aadObjectId: z.string().min(1) }).optional(),
    })
    .optional(),
  workloads: z.array(z.string().min(1)).optional(),
});

export const ScriptEntrySchema = z.strictObject({
  id: IdSchema,
  file: z.string().min(1),
  tenant: IdSchema,
  status: ScriptStatusSchema.optional(),
  name: z.string().min(1).optional(),
  description: z.string().optional(),
  /** A clone: the script and version it was copied from. A clone may share texts with other scripts. */
  clonedFrom: z.strictObject({ id: IdSchema, hash: HashSchema }).optional(),
  /** The version `file` held when the catalog was exported: an edit of the file since is taken, an edit in the store since is a conflict. */
  basedOn: HashSchema.optional(),
  /** Earlier versions kept because something still runs them: the last approved one, and versions actions are pinned to. */
  earlier: z.array(z.strictObject({ file: z.string().min(1), approved: z.boolean().optional() })).optional(),
});

export const ActionEntrySchema = z.strictObject({
  id: IdSchema,
  script: IdSchema,
  title: z.string().min(1),
  description: z.string().optional(),
  version: z.union([z.literal('latest-approved'), HashSchema]).optional(),
  tenant: IdSchema.optional(),
  target: z.string().optional(),
  runAs: z.string().refine((text) => parseRunAs(text) !== undefined, 'expected service, pool, pool:<account> or process:<account>'),
  fixed: z.record(z.string(), FieldValueSchema).optional(),
  presets: z.record(z.string(), FieldValueSchema).optional(),
  /** Parameter name → the hint this action's form shows instead of the script's (one script, several offices). */
  hints: z.record(z.string().min(1), z.string().trim().min(1).max(500)).optional(),
  ask: z.array(z.string().min(1)).optional(),
  allow: z.strictObject({ roles: z.array(RoleSchema).optional(), principals: z.array(IdSchema).optional() }),
  approval: ApprovalRuleSchema.optional(),
  timeoutSeconds: z.number().int().min(1).max(86_400).optional(),
  notify: z.array(IdSchema).optional(),
  ownWorkloadParameter: z.string().min(1).optional(),
  /** Parameter name → id of a stored credential (see executor/credentials). */
  credentials: z.record(z.string().min(1), IdSchema).optional(),
  /** What `deputy export` wrote this action from (see executor/catalog/merge.ts). */
  basedOn: FingerprintSchema.optional(),
  /** Target systems it runs on (docs/targets.md): ids, or `{ tenant }` for every target of a tenant. */
  targets: ActionTargetsEntrySchema.optional(),
  /** Parameter name → the query whose answer are its choices, with inputs (`"$form.<field>"` refers to this form). */
  choices: z.record(z.string().min(1), z.strictObject({ query: IdSchema, inputs: z.record(z.string().min(1), FieldValueSchema).optional() })).optional(),
});

export const QueryEntrySchema = z.strictObject({
  id: IdSchema,
  script: IdSchema,
  runAs: z.string().refine((text) => parseRunAs(text) !== undefined, 'expected service, pool, pool:<account> or process:<account>'),
  inputs: z.record(z.string().min(1), FieldValueSchema).optional(),
  cacheSeconds: z.number().int().min(0).max(86_400).optional(),
  timeoutSeconds: z.number().int().min(1).max(600).optional(),
  /** Written by `deputy export` for a query a script-tree import made: later imports keep it when the file stops naming it. */
  imported: z.boolean().optional(),
});

export type TenantEntry = z.infer<typeof TenantEntrySchema>;
export type PrincipalEntry = z.infer<typeof PrincipalEntrySchema>;
export type ScriptEntry = z.infer<typeof ScriptEntrySchema>;
export type ActionEntry = z.infer<typeof ActionEntrySchema>;
export type QueryEntry = z.infer<typeof QueryEntrySchema>;

/** An entry that passed its schema, with its index in the file (for messages). */
export interface Located<T> {
  index: number;
  entry: T;
}

export interface CatalogEntries extends AutomationEntries {
  tenants: Located<TenantEntry>[];
  principals: Located<PrincipalEntry>[];
  scripts: Located<ScriptEntry>[];
  actions: Located<ActionEntry>[];
  queries: Located<QueryEntry>[];
  targets: Located<TargetEntry>[];
}

const SECTIONS = ['tenants', 'principals', 'scripts', 'queries', 'actions', 'connectors', 'credentials', 'plans', 'targets'] as const;
const TopLevelSchema = z.strictObject({
  tenants: z.array(z.unknown()).optional(),
  principals: z.array(z.unknown()).optional(),
  scripts: z.array(z.unknown()).optional(),
  actions: z.array(z.unknown()).optional(),
  queries: z.array(z.unknown()).optional(),
  connectors: z.array(z.unknown()).optional(),
  credentials: z.array(z.unknown()).optional(),
  plans: z.array(z.unknown()).optional(),
  targets: z.array(z.unknown()).optional(),
});
const ENTRY_SCHEMAS = {
  tenants: TenantEntrySchema,
  principals: PrincipalEntrySchema,
  scripts: ScriptEntrySchema,
  actions: ActionEntrySchema,
  queries: QueryEntrySchema,
  connectors: ConnectorEntrySchema,
  credentials: CredentialEntrySchema,
  plans: PlanEntrySchema,
  targets: TargetEntrySchema,
} as const;

/** Entries that fit their schema; the others are reported in `problems` and left out. */
export function readEntries(source: YamlSource, problems: string[]): CatalogEntries {
  const entries: CatalogEntries = { tenants: [], principals: [], scripts: [], actions: [], queries: [], connectors: [], credentials: [], plans: [], targets: [] };
  const top = TopLevelSchema.safeParse(source.data ?? {});
  if (!top.success) {
    problems.push(...describeIssues(source, [], source.data, top.error.issues));
    return entries;
  }
  for (const section of SECTIONS) {
    (top.data[section] ?? []).forEach((raw, index) => {
      const result = ENTRY_SCHEMAS[section].safeParse(raw);
      if (result.success) (entries[section] as Located<unknown>[]).push({ index, entry: result.data });
      else problems.push(...describeIssues(source, [section, index], raw, result.error.issues));
    });
  }
  return entries;
}

function describeIssues(source: YamlSource, base: KeyPath, raw: unknown, issues: z.core.$ZodIssue[]): string[] {
  return issues.flatMap((issue) => {
    const path: KeyPath = [...base, ...issue.path.filter((part): part is string | number => typeof part !== 'symbol')];
    if (issue.code === 'unrecognized_keys') return issue.keys.map((key) => source.keyProblem(path, key, 'unknown key'));
    const missing = valueAt(raw, issue.path) === undefined;
    return [source.problem(path, missing ? 'is required' : issueMessage(issue))];
  });
}

function issueMessage(issue: z.core.$ZodIssue): string {
  if (issue.code === 'invalid_value') return `must be one of: ${issue.values.map(String).join(', ')}`;
  if (issue.code === 'invalid_type') return `must be ${issue.expected === 'array' ? 'a list' : issue.expected === 'object' ? 'a mapping' : `a ${issue.expected}`}`;
  return issue.message;
}

function valueAt(raw: unknown, path: readonly PropertyKey[]): unknown {
  let value = raw;
  for (const part of path) {
    if (typeof value !== 'object' || value === null) return undefined;
    value = (value as Record<PropertyKey, unknown>)[part];
  }
  return value;
}
