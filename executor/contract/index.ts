/**
 * The executor's public contract: zod schemas and types of its REST API. This is the only
 * module of executor/ that bot/ and cards/ may import.
 */
import { z } from 'zod';
import { ERROR_CODES } from './errors.ts';

export * from './errors.ts';

export const ROLES = ['company-admin', 'cyber-admin', 'administrator', 'read-only', 'user'] as const;
export const RoleSchema = z.enum(ROLES);
export type Role = z.infer<typeof RoleSchema>;

export const SCRIPT_STATUSES = ['draft', 'testing', 'approved'] as const;
export const ScriptStatusSchema = z.enum(SCRIPT_STATUSES);
export type ScriptStatus = z.infer<typeof ScriptStatusSchema>;

// ---------------------------------------------------------------- forms

/** How a PowerShell parameter is shown and validated. Derived from the param() block by PowerShell's parser. */
export const FIELD_KINDS = ['text', 'choice', 'toggle', 'number', 'date', 'multi', 'secret'] as const;
export const FieldKindSchema = z.enum(FIELD_KINDS);
export type FieldKind = z.infer<typeof FieldKindSchema>;

export const FieldValueSchema = z.union([z.string(), z.number(), z.boolean(), z.array(z.string())]);
export type FieldValue = z.infer<typeof FieldValueSchema>;

export const FormFieldSchema = z.object({
  /** The PowerShell parameter name, used as the input key. */
  name: z.string().min(1),
  /** From comment-based help `.PARAMETER` (first sentence), else the name split into words. */
  label: z.string(),
  /** The rest of the `.PARAMETER` help text, if any. */
  hint: z.string().optional(),
  kind: FieldKindSchema,
  /** The declared PowerShell type, lower-cased without brackets: `string`, `int`, `switch`, `string[]`, `datetime`, `securestring`, `pscredential`. */
  psType: z.string(),
  required: z.boolean(),
  /** `[ValidateSet]` values. */
  choices: z.array(z.string()).optional(),
  /** `[ValidatePattern]`, a .NET regular expression; PowerShell matches it case-insensitively. */
  pattern: z.string().optional(),
  /** `[ValidateRange]` bounds. */
  min: z.number().optional(),
  max: z.number().optional(),
  /** `[ValidateLength]` bounds. */
  minLength: z.number().int().optional(),
  maxLength: z.number().int().optional(),
  /** True for `[int]`/`[long]` numbers. */
  integer: z.boolean().optional(),
  /** The default value from the param() block or the action's preset, as a prefill. Never set for secrets. */
  default: FieldValueSchema.optional(),
});
export type FormField = z.infer<typeof FormFieldSchema>;

export const FormSchemaSchema = z.object({ fields: z.array(FormFieldSchema) });
export type FormSchema = z.infer<typeof FormSchemaSchema>;

// ---------------------------------------------------------------- principals

export const CHANNELS = ['teams', 'slack', 'webchat'] as const;
export const ChannelSchema = z.enum(CHANNELS);
export type Channel = z.infer<typeof ChannelSchema>;

/** A verified chat identity, as the bot saw it at the edge. */
export const ChatIdentitySchema = z.discriminatedUnion('channel', [
  z.object({ channel: z.literal('teams'), tenantId: z.string().min(1).max(256), aadObjectId: z.string().min(1).max(256) }),
  z.object({ channel: z.literal('slack'), teamId: z.string().min(1).max(256), userId: z.string().min(1).max(256) }),
  z.object({ channel: z.literal('webchat'), persona: z.string().min(1).max(256) }),
]);
export type ChatIdentity = z.infer<typeof ChatIdentitySchema>;

export const PrincipalViewSchema = z.object({
  id: z.string(),
  name: z.string(),
  tenant: z.string(),
  roles: z.array(RoleSchema),
});
export type PrincipalView = z.infer<typeof PrincipalViewSchema>;

/** `POST /v1/identities/resolve` body → `{ principal }`, or 403 DEPUTY_E_NOT_ENROLLED. */
export const ResolveIdentityRequestSchema = z.object({ identity: ChatIdentitySchema });
export const ResolveIdentityResponseSchema = z.object({ principal: PrincipalViewSchema });

/** `GET /v1/personas` (demo mode): the principals that have a web chat persona. */
export const PersonaSchema = z.object({
  persona: z.string(),
  principalId: z.string(),
  name: z.string(),
  roles: z.array(RoleSchema),
  tenant: z.string(),
});
export type Persona = z.infer<typeof PersonaSchema>;
export const PersonaListSchema = z.object({
  personas: z.array(PersonaSchema),
  /** How runs are isolated on this executor, for the demo banner (docs/security.md, "Run isolation"). */
  runIsolation: z.string().optional(),
});
export type PersonaList = z.infer<typeof PersonaListSchema>;

// ---------------------------------------------------------------- actions

export const ApprovalRuleSchema = z.enum(['none', 'four-eyes']);
export type ApprovalRule = z.infer<typeof ApprovalRuleSchema>;

/**
 * The form field an action with targets shows for choosing where it runs. Its name cannot be a
 * PowerShell parameter of the script; the bot sends its value as the run request's `target`.
 */
export const TARGET_FIELD = '@target';

/** A target system as a chat user sees it: its id and its display name. */
export const TargetRefSchema = z.object({ id: z.string(), name: z.string() });
export type TargetRef = z.infer<typeof TargetRefSchema>;

export const ActionViewSchema = z.object({
  id: z.string(),
  title: z.string(),
  description: z.string().optional(),
  scriptId: z.string(),
  scriptStatus: ScriptStatusSchema,
  versionHash: z.string(),
  tenant: z.string(),
  approval: ApprovalRuleSchema,
  timeoutSeconds: z.number(),
  form: FormSchemaSchema,
  /** Actions that run on target systems: the targets this principal may choose (the form's TARGET_FIELD lists their ids). */
  targets: z.array(TargetRefSchema).optional(),
});
export type ActionView = z.infer<typeof ActionViewSchema>;

/** `GET /v1/actions?principal=<id>` */
export const ActionListSchema = z.object({ actions: z.array(ActionViewSchema) });
export type ActionList = z.infer<typeof ActionListSchema>;

// ---------------------------------------------------------------- runs

export const RUN_STATES = [
  'requested',
  'awaiting-approval',
  'queued',
  'running',
  'succeeded',
  'failed',
  'timed-out',
  'cancelled',
  'rejected',
  'interrupted',
] as const;
export const RunStateSchema = z.enum(RUN_STATES);
export type RunState = z.infer<typeof RunStateSchema>;

export const FINAL_RUN_STATES: readonly RunState[] = ['succeeded', 'failed', 'timed-out', 'cancelled', 'rejected', 'interrupted'];
export function isFinalRunState(state: RunState): boolean {
  return FINAL_RUN_STATES.includes(state);
}

export const ORIGIN_KINDS = ['teams', 'slack', 'webchat', 'api', 'connector', 'schedule', 'mail'] as const;

/** Where a request came from, so results can go back there. The ids are opaque to the executor. */
export const OriginSchema = z.object({
  kind: z.enum(ORIGIN_KINDS),
  conversationId: z.string().max(512).optional(),
  threadId: z.string().max(512).optional(),
  messageId: z.string().max(512).optional(),
});
export type Origin = z.infer<typeof OriginSchema>;

export const InputsSchema = z.record(z.string(), z.unknown());

/** `POST /v1/runs` → 202 `{ id, state }` */
/** A target id, or several for one run on each of them (at most 50). */
export const RunTargetRequestSchema = z.union([z.string().min(1).max(200), z.array(z.string().min(1).max(200)).min(1).max(50)]);

export const CreateRunRequestSchema = z.object({
  actionId: z.string().min(1).max(200),
  principalId: z.string().min(1).max(200),
  /** For an action with targets: where it runs. Absent for actions that run on the executor. */
  target: RunTargetRequestSchema.optional(),
  inputs: InputsSchema.default({}),
  origin: OriginSchema.default({ kind: 'api' }),
});
export type CreateRunRequest = z.infer<typeof CreateRunRequestSchema>;

/** The 202 carries the new run's view too, so a caller needs no second request to show it. */
export const CreateRunResponseSchema = z.object({
  id: z.string(),
  state: RunStateSchema,
  correlationId: z.string(),
  run: z.lazy(() => RunViewSchema).optional(),
});
export type CreateRunResponse = z.infer<typeof CreateRunResponseSchema>;

export const STREAMS = ['output', 'error', 'warning', 'verbose', 'information', 'progress'] as const;
export const StreamNameSchema = z.enum(STREAMS);
export type StreamName = z.infer<typeof StreamNameSchema>;

export const StreamRecordSchema = z.object({
  stream: StreamNameSchema,
  text: z.string(),
  /** An output object as JSON (depth-limited, masked), so a reader can make CSV or JSON of it. */
  data: z.unknown().optional(),
});
export type StreamRecord = z.infer<typeof StreamRecordSchema>;

/** How a run went on one of its targets: the one line a multi-target summary shows per target. */
export const TargetOutcomeSchema = z.object({
  id: z.string(),
  name: z.string(),
  outcome: z.enum(['succeeded', 'failed', 'timed-out', 'cancelled']),
  exitCode: z.number().int().nullable(),
  durationMs: z.number(),
  /** Why it failed (e.g. `web-01: connection refused`), its first error, or its first output line. */
  line: z.string(),
});
export type TargetOutcome = z.infer<typeof TargetOutcomeSchema>;

/** The short result for chat: status, duration, the last lines or rows (the end of the output), errors. */
export const RunSummarySchema = z.object({
  lines: z.array(z.string()),
  table: z.object({ columns: z.array(z.string()), rows: z.array(z.array(z.string())) }).optional(),
  errors: z.array(z.string()),
  warnings: z.array(z.string()),
  /** Total output lines stored; more than `lines.length` means "show all" is worth offering. */
  outputLineCount: z.number().int(),
  /** Rows the table would have had in full; `table.rows` are its last ones. */
  rowCount: z.number().int().optional(),
  /** The stored output was cut at the per-run cap. */
  truncated: z.boolean(),
  exitCode: z.number().int().nullable(),
  /** Runs on targets: one outcome per target, in the order the run named them. */
  targets: z.array(TargetOutcomeSchema).optional(),
});
export type RunSummary = z.infer<typeof RunSummarySchema>;

export const ApprovalViewSchema = z.object({
  required: z.boolean(),
  decidedBy: z.string().optional(),
  decision: z.enum(['approve', 'reject']).optional(),
  comment: z.string().optional(),
  expiresAt: z.string().optional(),
  reason: z.string().optional(),
});

export const RunViewSchema = z.object({
  id: z.string(),
  actionId: z.string(),
  actionTitle: z.string(),
  principalId: z.string(),
  state: RunStateSchema,
  /** Inputs as given, with secret values replaced by `********`. */
  inputs: z.record(z.string(), z.unknown()),
  origin: OriginSchema,
  correlationId: z.string(),
  scriptHash: z.string(),
  /** The target of a run on one target system (its id). */
  target: z.string().optional(),
  /** Every target of a run on target systems, one or more, in the order requested. */
  targets: z.array(TargetRefSchema).optional(),
  createdAt: z.string(),
  updatedAt: z.string(),
  startedAt: z.string().optional(),
  endedAt: z.string().optional(),
  durationMs: z.number().optional(),
  approval: ApprovalViewSchema.optional(),
  summary: RunSummarySchema.optional(),
  /** Only on `GET /v1/runs/<id>`: every captured record, masked. */
  streams: z.array(StreamRecordSchema).optional(),
  error: z.object({ code: z.string(), message: z.string() }).optional(),
});
export type RunView = z.infer<typeof RunViewSchema>;

/** `GET /v1/runs?principal=<id>&state=<state>&limit=<n>` newest first. */
export const RunListQuerySchema = z.strictObject({
  principal: z.string().min(1).max(200).optional(),
  state: RunStateSchema.optional(),
  limit: z.coerce.number().int().min(1).max(500).default(20),
});
export const RunListSchema = z.object({ runs: z.array(RunViewSchema) });

/** `POST /v1/runs/<id>/cancel` */
export const CancelRunRequestSchema = z.object({ principalId: z.string().min(1) });

/** `POST /v1/runs/<id>/decision` */
export const DecisionRequestSchema = z.object({
  principalId: z.string().min(1),
  decision: z.enum(['approve', 'reject']),
  comment: z.string().max(2000).optional(),
});
export type DecisionRequest = z.infer<typeof DecisionRequestSchema>;

// ---------------------------------------------------------------- events (SSE)

/** `GET /v1/events`: each SSE message has `id: <seq>`, `event: <type>` and this JSON as data. */
export const RunEventSchema = z.object({
  seq: z.number().int(),
  type: z.enum(['run.created', 'run.updated', 'run.finished', 'approval.requested']),
  run: RunViewSchema,
  /** Principals to notify: the requester and whoever the action names (and approvers for approval.requested). */
  notify: z.array(z.string()),
});
export type RunEvent = z.infer<typeof RunEventSchema>;

/**
 * `plan.missed`: a scripting plan's fire times passed while the executor was down. They are
 * reported once per plan (never run late, never run twice); the plan's principal is notified.
 */
export const PlanEventSchema = z.object({
  seq: z.number().int(),
  type: z.literal('plan.missed'),
  plan: z.object({ id: z.string(), tenant: z.string(), principalId: z.string(), actionId: z.string() }),
  missed: z.object({ count: z.number().int().min(1), first: z.string(), last: z.string() }),
  notify: z.array(z.string()),
});
export type PlanEvent = z.infer<typeof PlanEventSchema>;

// ---------------------------------------------------------------- scripts and approvals

const Sha256Schema = z.string().regex(/^[0-9a-f]{64}$/, 'a SHA-256 hash in lower-case hex');

/** One version of a script. `status` is what that exact hash counts as now (see executor/policy/versions.ts). */
export const ScriptVersionViewSchema = z.object({
  hash: z.string(),
  status: ScriptStatusSchema,
  createdAt: z.string(),
  synopsis: z.string().optional(),
});
export type ScriptVersionView = z.infer<typeof ScriptVersionViewSchema>;

/** A unified line diff of the current text against the last approved version (or against nothing, for a new script). */
export const ScriptDiffSchema = z.object({
  /** The approved hash compared against; absent when the script was never approved. */
  againstHash: z.string().optional(),
  /** `--- a`, `+++ b`, `@@ … @@` and lines starting with ` `, `-` or `+`. Empty when the texts are equal. */
  lines: z.array(z.string()),
  /** More changed lines than the diff carries. */
  truncated: z.boolean(),
});
export type ScriptDiff = z.infer<typeof ScriptDiffSchema>;

/** The open (or last) review of a script's current version: who moved it to Testing, and the decision once taken. */
export const ScriptReviewStateSchema = z.object({
  hash: z.string(),
  requestedBy: z.string(),
  requestedByName: z.string().optional(),
  requestedAt: z.string(),
  comment: z.string().optional(),
  decision: z
    .object({
      to: ScriptStatusSchema,
      by: z.string(),
      byName: z.string().optional(),
      at: z.string(),
      comment: z.string().optional(),
    })
    .optional(),
});
export type ScriptReviewState = z.infer<typeof ScriptReviewStateSchema>;

/** A script as one principal sees it (`GET /v1/scripts`, `GET /v1/scripts/<id>`). */
export const ScriptViewSchema = z.object({
  id: z.string(),
  name: z.string(),
  description: z.string().optional(),
  tenant: z.string(),
  status: ScriptStatusSchema,
  currentHash: z.string(),
  approvedHash: z.string().optional(),
  /** The current version's parameters. */
  parameters: z.array(FormFieldSchema),
  synopsis: z.string().optional(),
  /** The statuses this principal may move the script to now (empty for everyone but its admins). */
  allowedTransitions: z.array(ScriptStatusSchema),
  review: ScriptReviewStateSchema.optional(),
  /** Only on `GET /v1/scripts/<id>`: every version, oldest first. */
  versions: z.array(ScriptVersionViewSchema).optional(),
  /** Only on `GET /v1/scripts/<id>`: the current version's text. */
  text: z.string().optional(),
  /** Only on `GET /v1/scripts/<id>` and in review events: the change against the last approved version. */
  diff: ScriptDiffSchema.optional(),
});
export type ScriptView = z.infer<typeof ScriptViewSchema>;

/** `GET /v1/scripts?principal=<id>&status=<status>` */
export const ScriptListQuerySchema = z.strictObject({ principal: z.string().min(1).max(200), status: ScriptStatusSchema.optional() });
export const ScriptListSchema = z.object({ scripts: z.array(ScriptViewSchema) });
/** `GET /v1/scripts/<id>?principal=<id>` */
export const ScriptQuerySchema = z.strictObject({ principal: z.string().min(1).max(200) });

/**
 * `POST /v1/scripts/<id>/status` → 200 `{ script }`. `hash` names the exact version the
 * principal acts on (and `from`, optionally, the status they saw); when the script's current
 * version or status is another one, the answer is 409 DEPUTY_E_CONFLICT and nothing changes.
 */
export const ScriptStatusRequestSchema = z.object({
  principalId: z.string().min(1).max(200),
  to: ScriptStatusSchema,
  hash: Sha256Schema,
  /**
   * The status the principal saw. When given and the script has moved on (another approver
   * decided first), the answer is 409 DEPUTY_E_CONFLICT: a late "reject" never withdraws an
   * approval it did not see. Chat decisions always send it.
   */
  from: ScriptStatusSchema.optional(),
  comment: z.string().max(2000).optional(),
});
export type ScriptStatusRequest = z.infer<typeof ScriptStatusRequestSchema>;
export const ScriptStatusResponseSchema = z.object({ script: ScriptViewSchema });

/** `GET /v1/approvals?principal=<id>`: what waits for this principal's decision. */
export const ApprovalListSchema = z.object({
  /** Scripts in Testing this principal may approve. */
  scripts: z.array(ScriptViewSchema),
  /** Four-eyes runs awaiting approval that this principal may decide (never their own). */
  runs: z.array(RunViewSchema),
});
export type ApprovalList = z.infer<typeof ApprovalListSchema>;

/**
 * Script lifecycle events on `GET /v1/events`:
 * - `script.review-requested`: a script moved to Testing; `notify` are its approvers.
 * - `script.decided`: a status change out of Testing (approved, or back to Draft), or any other
 *   change; `notify` are the approvers (their cards are updated) and who asked for the review.
 */
export const ScriptEventSchema = z.object({
  seq: z.number().int(),
  type: z.enum(['script.review-requested', 'script.decided']),
  script: ScriptViewSchema,
  change: z.object({ from: ScriptStatusSchema, to: ScriptStatusSchema, hash: z.string(), by: z.string(), byName: z.string().optional(), comment: z.string().optional() }),
  notify: z.array(z.string()),
});
export type ScriptEvent = z.infer<typeof ScriptEventSchema>;

/** Everything `GET /v1/events` sends; a subscriber ignores types it does not know. */
export const ExecutorEventSchema = z.union([RunEventSchema, PlanEventSchema, ScriptEventSchema]);
export type ExecutorEventMessage = z.infer<typeof ExecutorEventSchema>;

// ---------------------------------------------------------------- errors

export const ErrorBodySchema = z.object({
  error: z.object({
    code: z.enum(ERROR_CODES as [string, ...string[]]),
    message: z.string(),
    correlationId: z.string(),
    fields: z.record(z.string(), z.string()).optional(),
  }),
});
export type ErrorBody = z.infer<typeof ErrorBodySchema>;

/** Headers the bot sends with every call. */
export const HEADER_CORRELATION_ID = 'x-correlation-id';

/**
 * `POST /v1/runs` with this header runs once per key and principal for 24 hours: a repeat
 * answers the first run (with `Idempotent-Replayed: true`), the same key with another request
 * is 409 DEPUTY_E_CONFLICT. Chat edges send the id of the form card that was pressed.
 */
export const HEADER_IDEMPOTENCY_KEY = 'idempotency-key';
export const HEADER_IDEMPOTENT_REPLAYED = 'idempotent-replayed';
/** Printable ASCII, 1–200 characters (the same rule as the hooks' key). */
export const IdempotencyKeySchema = z.string().regex(/^[\x21-\x7e]{1,200}$/, 'printable ASCII without spaces, 1–200 characters');

/** The value a masked secret is replaced with, everywhere. */
export const MASK = '********';
