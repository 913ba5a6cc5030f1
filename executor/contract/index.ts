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

/** A label and hint in one language (from ScriptRunner's `[sr-<language>]` help segments). */
export const LocalizedTextSchema = z.object({ label: z.string(), hint: z.string().optional() });
export type LocalizedText = z.infer<typeof LocalizedTextSchema>;

export const FormFieldSchema = z.object({
  /** The PowerShell parameter name, used as the input key. */
  name: z.string().min(1),
  /**
   * From the parameter's help (`.PARAMETER`, a comment beside it in param(), else `HelpMessage`):
   * the first sentence, in English or the untagged text; without help, the name split into words.
   */
  label: z.string(),
  /** The rest of the help text, if any. */
  hint: z.string().optional(),
  /** Per language (`de`, `en`, `fr-ca` …), when the help carries `[sr-<language>]` segments. Never holds a raw tag. */
  localized: z.record(z.string(), LocalizedTextSchema).optional(),
  kind: FieldKindSchema,
  /** The declared PowerShell type, lower-cased without brackets: `string`, `int`, `switch`, `string[]`, `datetime`, `securestring`, `pscredential`. */
  psType: z.string(),
  /** Mandatory in every parameter set (with one set, simply `[Parameter(Mandatory)]`). */
  required: z.boolean(),
  /** `[ValidateSet]` values, or the names of an enum type. */
  choices: z.array(z.string()).optional(),
  /** `[ValidateSet(…, IgnoreCase = $false)]`: the choice must match exactly. */
  choicesCaseSensitive: z.boolean().optional(),
  /** `[ValidatePattern]`, a .NET regular expression; PowerShell matches it case-insensitively unless `patternCaseSensitive`. */
  pattern: z.string().optional(),
  /** `[ValidatePattern(…, Options = 'None')]`: matched with letter case. */
  patternCaseSensitive: z.boolean().optional(),
  /** `[ValidateRange]` bounds. */
  min: z.number().optional(),
  max: z.number().optional(),
  /** `[ValidateLength]` bounds (of each value, for lists). */
  minLength: z.number().int().optional(),
  maxLength: z.number().int().optional(),
  /** `[ValidateCount]` bounds on the number of values of a list. */
  minCount: z.number().int().optional(),
  maxCount: z.number().int().optional(),
  /** `[AllowEmptyString()]` on a mandatory text: an empty value is a value, not a missing one. */
  allowEmpty: z.boolean().optional(),
  /** True for `[int]`/`[long]` numbers. */
  integer: z.boolean().optional(),
  /** Text shown on several lines (ScriptRunner's `HelpMessage = "ASRDisplay(Multiline)"`). */
  multiline: z.boolean().optional(),
  /** Text typed like a password and masked like a secret, yet passed as text (`ASRDisplay(Password)` on a string). */
  masked: z.boolean().optional(),
  /** The default value from the param() block or the action's preset, as a prefill. Never set for secrets. */
  default: FieldValueSchema.optional(),
  /**
   * The choices come from a query (`GET /v1/actions/<id>/choices/<name>`); they change when a
   * field in `dependsOn` changes. A submitted value must be one the query offers.
   */
  choicesFrom: z.object({ query: z.string(), dependsOn: z.array(z.string()) }).optional(),
});
export type FormField = z.infer<typeof FormFieldSchema>;

/** One parameter set of a script: the fields it binds, and which of them it requires. */
export const ParameterSetSchema = z.object({
  name: z.string(),
  /** `[CmdletBinding(DefaultParameterSetName = …)]`: what PowerShell picks when the values fit several sets. */
  default: z.boolean().optional(),
  fields: z.array(z.object({ name: z.string(), required: z.boolean() })),
});
export type ParameterSet = z.infer<typeof ParameterSetSchema>;

export const FormSchemaSchema = z.object({
  fields: z.array(FormFieldSchema),
  /**
   * Present when the script declares more than one parameter set (after the action's fixed
   * values): the user picks one, and fills in its fields. A field's own `required` means
   * mandatory in every set.
   */
  parameterSets: z.array(ParameterSetSchema).optional(),
});
export type FormSchema = z.infer<typeof FormSchemaSchema>;

/** `GET /v1/actions/<id>/choices/<param>?principal=<id>&search=<text>&<field>=<value>` */
export const ChoiceSchema = z.object({ value: z.string(), title: z.string() });
export type Choice = z.infer<typeof ChoiceSchema>;
export const ChoiceListSchema = z.object({
  choices: z.array(ChoiceSchema),
  /** Fields the choices depend on that have no value yet: the list is empty until they do. */
  waitingFor: z.array(z.string()).optional(),
});
export type ChoiceList = z.infer<typeof ChoiceListSchema>;
/** At most this many choices are answered (filtered by `search` first). */
export const MAX_CHOICES = 100;
/**
 * `GET /v1/actions/<id>/choices/<param>`: `principal` and `search`; every other key is a form
 * field's value (a list as one text, its values separated by commas or lines).
 */
export const ChoiceQuerySchema = z.object({ principal: z.string().min(1).max(200), search: z.string().max(200).optional() }).catchall(z.string().max(4000));

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
  /**
   * The parameter set the user chose on a form with several. The executor still resolves the
   * set from the inputs by PowerShell's rules, and refuses when that is not this one.
   */
  parameterSet: z.string().min(1).max(200).optional(),
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
  /** `$SRXEnv.ResultMessage` of a script written for ScriptRunner: its result, in its words. */
  message: z.string().optional(),
  /** `$SRXEnv.ResultHtml` was set: `GET /v1/runs/<id>/html` serves it, and chat posts it as a file. */
  html: z.boolean().optional(),
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
  /** The parameter set PowerShell binds, when the script has several. */
  parameterSet: z.string().optional(),
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

/** An id of a script, action or plan, as the catalog spells ids. */
export const CatalogIdSchema = z.string().regex(/^[a-z0-9][a-z0-9._-]{0,79}$/i, 'an id of letters, digits, dot, dash or underscore (at most 80)');

/** Where a clone came from: the origin script and the exact version copied. */
export const ClonedFromSchema = z.object({ id: CatalogIdSchema, hash: Sha256Schema });
export type ClonedFrom = z.infer<typeof ClonedFromSchema>;

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
  /**
   * For a clone: where it came from. `name` and `newerApprovedHash` only when the viewer may see
   * the origin; `newerApprovedHash` is the origin's latest approved version when the clone does not have it.
   */
  clonedFrom: ClonedFromSchema.extend({ name: z.string().optional(), newerApprovedHash: z.string().optional() }).optional(),
  /** What the viewer may do with the script's text (absent in events, which go to many viewers). */
  may: z.object({ edit: z.boolean(), clone: z.boolean(), delete: z.boolean() }).optional(),
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

// ---------------------------------------------------------------- authoring (docs/authoring.md)

/**
 * A script's text arrives in full (`text`) or as a staged upload (`upload`: the hash that
 * `POST /v1/scripts/preview` answered), so a chat upload need not travel through the chat again.
 */
const ScriptTextSource = {
  text: z.string().optional(),
  upload: Sha256Schema.optional(),
};
const oneTextSource = (body: { text?: string | undefined; upload?: string | undefined }) => (body.text === undefined) !== (body.upload === undefined);
const ONE_TEXT_SOURCE = { message: 'give the script as text or as a staged upload, one of the two', path: ['text'] };

/** `POST /v1/scripts` → 201 `{ script }`: a new script in Draft. */
export const CreateScriptRequestSchema = z
  .object({
    principalId: z.string().min(1).max(200),
    tenant: CatalogIdSchema,
    id: CatalogIdSchema,
    name: z.string().trim().min(1).max(200),
    description: z.string().max(2000).optional(),
    ...ScriptTextSource,
  })
  .refine(oneTextSource, ONE_TEXT_SOURCE);
export type CreateScriptRequest = z.infer<typeof CreateScriptRequestSchema>;

/** `POST /v1/scripts/<id>/versions` → 201 `{ script }`: a new Draft version; `basedOn` not current → 409 naming the current hash. */
export const NewScriptVersionRequestSchema = z
  .object({ principalId: z.string().min(1).max(200), basedOn: Sha256Schema, ...ScriptTextSource })
  .refine(oneTextSource, ONE_TEXT_SOURCE);
export type NewScriptVersionRequest = z.infer<typeof NewScriptVersionRequestSchema>;

/** `POST /v1/scripts/<id>/clone` → 201 `{ script }`: a Draft copy of one version (the current one unless `hash` names another). */
export const CloneScriptRequestSchema = z.object({
  principalId: z.string().min(1).max(200),
  tenant: CatalogIdSchema,
  id: CatalogIdSchema,
  name: z.string().trim().min(1).max(200).optional(),
  hash: Sha256Schema.optional(),
});
export type CloneScriptRequest = z.infer<typeof CloneScriptRequestSchema>;

/** What creating, versioning or cloning a script answers. */
export const ScriptChangeResponseSchema = z.object({ script: ScriptViewSchema });

/** `DELETE /v1/scripts/<id>?principal=`, `/v1/actions/<id>?principal=`, `/v1/plans/<id>?principal=` → 200 `{ deleted }`. */
export const DeleteQuerySchema = z.object({ principal: z.string().min(1).max(200) });
export const DeletedResponseSchema = z.object({ deleted: z.string() });

/** `POST /v1/scripts/preview`: what a text would become, before anything is created. */
export const ScriptPreviewRequestSchema = z.object({
  principalId: z.string().min(1).max(200),
  /** The uploaded file's name: it suggests the new script's id and name, and the script it may be a new version of. */
  fileName: z.string().min(1).max(255),
  text: z.string(),
});
export type ScriptPreviewRequest = z.infer<typeof ScriptPreviewRequestSchema>;

export const ScriptPreviewSchema = z.object({
  /** The staged upload (the text's SHA-256), for `upload` in a create or version request. */
  upload: Sha256Schema,
  fileName: z.string(),
  lineCount: z.number().int(),
  parameters: z.array(FormFieldSchema),
  synopsis: z.string().optional(),
  /** PowerShell's parser refused the text: its line and message. Nothing can be created from it. */
  parseError: z.object({ line: z.number().int(), message: z.string() }).optional(),
  /** As a new script: the suggested id and name, and the tenants this principal may create it in (none: `refusal` says why). */
  newScript: z.object({ id: z.string(), name: z.string(), tenants: z.array(z.string()), refusal: z.string().optional() }),
  /** The script it looks like a new version of (same id or name as the file), with the change against its current version. */
  newVersionOf: z
    .object({
      scriptId: z.string(),
      name: z.string(),
      tenant: z.string(),
      status: ScriptStatusSchema,
      currentHash: z.string(),
      diff: ScriptDiffSchema,
      /** Why this principal may not save it as a new version; absent when they may. */
      refusal: z.string().optional(),
    })
    .optional(),
});
export type ScriptPreview = z.infer<typeof ScriptPreviewSchema>;

/** Commands on a plan (`POST /v1/plans/<id>/<command>`). */
export const PLAN_COMMANDS = ['enable', 'disable', 'stop', 'revoke', 'run', 'apply'] as const;
export type PlanCommand = (typeof PLAN_COMMANDS)[number];
/** What a principal may do with a plan: its commands, and changing or deleting the plan itself. */
export const PLAN_PERMISSIONS = [...PLAN_COMMANDS, 'edit', 'delete'] as const;
export type PlanPermission = (typeof PLAN_PERMISSIONS)[number];

/** A scripting plan as one principal sees it (`GET /v1/plans`). */
export const PlanViewSchema = z.object({
  id: z.string(),
  tenant: z.string(),
  principalId: z.string(),
  actionId: z.string(),
  actionTitle: z.string().optional(),
  schedule: z.string().optional(),
  trigger: z.object({ connector: z.string() }).optional(),
  inputs: z.record(z.string(), FieldValueSchema).default({}),
  /** For an action with targets: the target systems each firing runs on. */
  targets: z.array(z.string()).default([]),
  /** The workloads (machines, accounts) the plan is applied to: what the User role's limit checks. */
  workloads: z.array(z.string()).default([]),
  status: ScriptStatusSchema,
  enabled: z.boolean(),
  revoked: z.boolean(),
  lastFiredAt: z.string().optional(),
  nextRunAt: z.string().optional(),
  /** The plan belongs to a tenant above the viewer's: read-only for them. */
  fromTenantAbove: z.boolean().default(false),
  /** The commands this principal may give on it, and whether they may edit or delete it (empty: view only). */
  allowed: z.array(z.enum(PLAN_PERMISSIONS)),
  /** Only in the answer to `run`: the run it started. */
  runId: z.string().optional(),
});
export type PlanView = z.infer<typeof PlanViewSchema>;
export const PlanListSchema = z.object({ plans: z.array(PlanViewSchema) });

/**
 * `PUT /v1/plans/<id>` → 200 `{ plan }`. The plan runs as the principal who last defined it;
 * `tenant` defaults to theirs. `targets`: the target systems each firing runs on (for an action
 * with targets, required; docs/targets.md). `workloads`: the machines or accounts the plan is
 * applied to (what a User must own).
 */
export const PlanDefinitionSchema = z.object({
  principalId: z.string().min(1).max(200),
  tenant: CatalogIdSchema.optional(),
  action: CatalogIdSchema,
  schedule: z.string().trim().min(1).max(200),
  inputs: z.record(z.string(), FieldValueSchema).default({}),
  targets: z.array(z.string().trim().min(1).max(200)).min(1).max(50).optional(),
  workloads: z.array(z.string().trim().min(1).max(200)).max(100).optional(),
  enabled: z.boolean().optional(),
});
export type UpdatePlanRequest = z.infer<typeof PlanDefinitionSchema>;
/** `POST /v1/plans` → 201 `{ plan }`. */
export const CreatePlanRequestSchema = PlanDefinitionSchema.extend({ id: CatalogIdSchema });
export type CreatePlanRequest = z.infer<typeof CreatePlanRequestSchema>;
export const PlanResponseSchema = z.object({ plan: PlanViewSchema });

/** `POST /v1/plans/<id>/<command>`; `apply` names the target systems and workloads the plan is applied to. */
export const PlanCommandRequestSchema = z.object({
  principalId: z.string().min(1).max(200),
  targets: z.array(z.string().trim().min(1).max(200)).min(1).max(50).optional(),
  workloads: z.array(z.string().trim().min(1).max(200)).max(100).optional(),
});
export type PlanCommandRequest = z.infer<typeof PlanCommandRequestSchema>;

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
