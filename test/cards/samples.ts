/**
 * Rich sample screens for the card tests: a form with every field kind, errors, a table
 * summary, long and hostile text.
 */
import { ActionViewSchema, RunViewSchema, type ActionView, type FormField, type RunView, type ScriptPreview } from '../../executor/contract/index.ts';
import type { Screen, ScreenName, ScriptReview } from '../../cards/screens.ts';

export const EVERY_KIND_FIELDS: FormField[] = [
  { name: 'UserName', label: 'User name', hint: 'The sAMAccountName, for example jdoe.', kind: 'text', psType: 'string', required: true, maxLength: 20 },
  { name: 'EmployeeId', label: 'Employee id', hint: 'Five digits.', kind: 'text', psType: 'string', required: false, pattern: '^\\d{5}$' },
  { name: 'Mailbox', label: 'Mailbox', kind: 'text', psType: 'string', required: false, pattern: '^[a-z]+@contoso\\.com$' },
  { name: 'Reason', label: 'Reason', kind: 'text', psType: 'string', required: false, minLength: 10 },
  { name: 'Department', label: 'Department', kind: 'choice', psType: 'string', required: true, choices: ['Sales', 'IT', 'Finance'], default: 'IT' },
  { name: 'Groups', label: 'Groups', kind: 'multi', psType: 'string[]', required: false, choices: ['VPN', 'Wiki', 'CRM'], default: ['VPN'] },
  { name: 'Computers', label: 'Computers', hint: 'Host names of the machines.', kind: 'multi', psType: 'string[]', required: false },
  { name: 'Notify', label: 'Notify the user by mail', kind: 'toggle', psType: 'switch', required: false, default: true },
  { name: 'Days', label: 'Days', kind: 'number', psType: 'int', required: true, min: 1, max: 30, integer: true, default: 7 },
  { name: 'StartDate', label: 'Start date', kind: 'date', psType: 'datetime', required: false, default: '2024-06-01T00:00:00Z' },
  { name: 'Password', label: 'New password', hint: 'At least 12 characters.', kind: 'secret', psType: 'securestring', required: true },
];

const TARGETS = [
  { id: 'web-01', name: 'Web server 01' },
  { id: 'web-02', name: 'Web server 02' },
];

export function sampleAction(overrides: Partial<ActionView> = {}): ActionView {
  return ActionViewSchema.parse({
    id: 'reset-user',
    title: 'Reset a user account',
    description: 'Unlocks the account, sets a new password and optionally notifies the user.',
    scriptId: 'reset-user',
    scriptStatus: 'approved',
    versionHash: 'a'.repeat(64),
    tenant: 'contoso',
    approval: 'none',
    timeoutSeconds: 120,
    form: { fields: EVERY_KIND_FIELDS },
    ...overrides,
  });
}

export function sampleRun(overrides: Partial<RunView> = {}): RunView {
  return RunViewSchema.parse({
    id: 'run_abc_123',
    actionId: 'reset-user',
    actionTitle: 'Reset a user account',
    principalId: 'alex',
    state: 'running',
    inputs: { UserName: 'jdoe', Days: 7, Notify: true, Groups: ['VPN', 'Wiki'], Password: '********' },
    origin: { kind: 'teams', conversationId: 'c1' },
    correlationId: '7d7c8f5e-1111-4a4a-9b9b-0123456789ab',
    scriptHash: 'b'.repeat(64),
    createdAt: '2024-05-01T14:03:00.000Z',
    updatedAt: '2024-05-01T14:03:05.000Z',
    startedAt: '2024-05-01T14:03:01.000Z',
    ...overrides,
  });
}

export const TABLE_SUMMARY = {
  lines: ['Name   Enabled  LastLogon', 'jdoe   True     2024-04-30'],
  table: {
    columns: ['Name', 'Enabled', 'LastLogon', 'Department'],
    rows: [
      ['jdoe', 'True', '2024-04-30', 'IT'],
      ['asmith', 'False', '', 'Sales_and_*marketing*'],
    ],
  },
  errors: ['Get-ADUser : Cannot find an object with identity: "ghost".'],
  warnings: ['The mailbox is over 90% of its quota.'],
  outputLineCount: 2,
  truncated: false,
  exitCode: 1,
};

export const SCRIPT_REVIEW: ScriptReview = {
  scriptId: 'set-ooo',
  name: 'Set-OutOfOffice',
  description: 'Sets an automatic reply on a mailbox.',
  tenant: 'contoso',
  status: 'testing',
  versionHash: 'c'.repeat(64),
  submittedBy: 'Casey (company admin)',
  parameters: EVERY_KIND_FIELDS.slice(0, 4),
  excerpt: ['[CmdletBinding()]', 'param(', '  [Parameter(Mandatory)][string]$UserName', ')', '', 'Set-MailboxAutoReplyConfiguration -Identity $UserName'].join('\n'),
};

export const SCRIPT_PREVIEW: ScriptPreview = {
  upload: 'd'.repeat(64),
  fileName: 'Set-OutOfOffice.ps1',
  lineCount: 24,
  parameters: EVERY_KIND_FIELDS.slice(0, 4),
  synopsis: 'Sets an automatic reply on a mailbox.',
  newScript: { id: 'set-out-of-office-hamburg', name: 'Set-OutOfOffice', tenants: ['hamburg', 'hamburg-lab'] },
  newVersionOf: {
    scriptId: 'set-ooo',
    name: 'Set-OutOfOffice',
    tenant: 'contoso',
    status: 'approved',
    currentHash: 'c'.repeat(64),
    diff: { againstHash: 'c'.repeat(64), lines: ['--- approved cccccccccccc', '+++ Set-OutOfOffice.ps1', '@@ -1,3 +1,3 @@', ' param(', '-  [string]$UserName', '+  [Parameter(Mandatory)][string]$UserName', ' )'], truncated: false },
  },
};

/** One or more samples of every screen, each with a name for its screenshot. */
/** Three parameter sets (ScriptRunner's out-of-office script), with fields in every set and fields of one set. */
export const SETS_ACTION: ActionView = sampleAction({
  id: 'auto-reply',
  title: 'Automatic replies',
  form: {
    fields: [
      { name: 'Mailbox', label: 'Mailbox', kind: 'text', psType: 'string', required: true },
      { name: 'Disable', label: 'Turn the replies off', kind: 'toggle', psType: 'switch', required: false },
      { name: 'Message', label: 'Reply text', kind: 'text', psType: 'string', required: false, multiline: true },
      { name: 'Start', label: 'Start', kind: 'date', psType: 'datetime', required: false },
    ],
    parameterSets: [
      { name: 'Enable', default: true, fields: [{ name: 'Mailbox', required: true }, { name: 'Message', required: true }] },
      { name: 'Disable', fields: [{ name: 'Mailbox', required: true }, { name: 'Disable', required: true }] },
      { name: 'Schedule', fields: [{ name: 'Mailbox', required: true }, { name: 'Message', required: true }, { name: 'Start', required: true }] },
    ],
  },
});

/** A drop-down from a query, and one whose choices depend on it. */
export const QUERY_ACTION: ActionView = sampleAction({
  id: 'move-user',
  title: 'Move a user',
  form: {
    fields: [
      { name: 'Office', label: 'Office', kind: 'text', psType: 'string', required: true, choicesFrom: { query: 'offices', dependsOn: [] } },
      { name: 'User', label: 'User', kind: 'text', psType: 'string', required: true, choicesFrom: { query: 'users-of-office', dependsOn: ['Office'] } },
    ],
  },
});

export function everyScreen(): { name: string; screen: Screen }[] {
  const samples: { name: string; screen: Screen }[] = [
    {
      name: 'action-list',
      screen: {
        screen: 'action-list',
        principal: { id: 'alex', name: 'Alex (helpdesk)', tenant: 'hamburg', roles: ['administrator'] },
        actions: [
          sampleAction(),
          sampleAction({ id: 'set-ooo', title: 'Set an out-of-office reply', description: undefined, approval: 'four-eyes' }),
          sampleAction({ id: 'new-vm', title: 'Create a test VM', scriptStatus: 'testing', description: 'Still being tested.' }),
          sampleAction({ id: 'unlock', title: 'Unlock an account' }),
        ],
      },
    },
    {
      name: 'action-list-empty',
      screen: { screen: 'action-list', principal: { id: 'rita', name: 'Rita (read-only)', tenant: 'contoso', roles: ['read-only'] }, actions: [] },
    },
    { name: 'action-form', screen: { screen: 'action-form', formId: 'form-1', action: sampleAction() } },
    {
      name: 'action-form-errors',
      screen: {
        screen: 'action-form',
        formId: 'form-2',
        action: sampleAction({ approval: 'four-eyes' }),
        values: { UserName: 'j doe', EmployeeId: '12', Days: 45, Computers: ['pc-1', 'pc-2'], Groups: ['Wiki', 'CRM'], Notify: false, Password: 'hunter2' },
        errors: { UserName: 'A user name has no spaces.', Days: 'Days must be between 1 and 30.', _form: 'Some values are not valid.' },
      },
    },
    { name: 'action-form-parameter-sets', screen: { screen: 'action-form', formId: 'form-4', action: SETS_ACTION, values: { Mailbox: 'a@contoso.example' }, parameterSet: 'Schedule' } },
    {
      name: 'action-form-query-choices',
      screen: {
        screen: 'action-form',
        formId: 'form-5',
        action: QUERY_ACTION,
        values: { Office: 'HAM' },
        choices: { Office: [{ value: 'HAM', title: 'Hamburg' }, { value: 'MUC', title: 'Munich' }], User: [{ value: 'awagner', title: 'Alex Wagner' }] },
      },
    },
    { name: 'action-form-query-waiting', screen: { screen: 'action-form', formId: 'form-6', action: QUERY_ACTION, choices: { Office: [{ value: 'HAM', title: 'Hamburg' }] }, waitingFor: { User: ['Office'] } } },
    {
      name: 'run-summary-result-message',
      screen: {
        screen: 'run-summary',
        run: sampleRun({
          state: 'succeeded',
          durationMs: 900,
          summary: { lines: [], errors: [], warnings: [], outputLineCount: 0, truncated: false, exitCode: 0, message: 'Automatic replies of a@contoso.example are on.', html: true },
        }),
        canShowAll: false,
      },
    },
    { name: 'run-status', screen: { screen: 'run-status', run: sampleRun(), canCancel: true, requester: 'Alex (helpdesk)' } },
    { name: 'run-status-queued', screen: { screen: 'run-status', run: sampleRun({ state: 'queued', startedAt: undefined }), canCancel: false } },
    { name: 'run-status-confirm-cancel', screen: { screen: 'run-status', run: sampleRun(), canCancel: true, confirmCancel: true } },
    {
      name: 'run-summary-table',
      screen: {
        screen: 'run-summary',
        run: sampleRun({ state: 'failed', endedAt: '2024-05-01T14:04:05.000Z', durationMs: 64_000, summary: TABLE_SUMMARY }),
        canShowAll: true,
        canRunAgain: true,
        requester: 'Alex (helpdesk)',
      },
    },
    {
      name: 'run-summary-lines',
      screen: {
        screen: 'run-summary',
        run: sampleRun({
          state: 'succeeded',
          endedAt: '2024-05-01T14:03:03.400Z',
          durationMs: 2400,
          approval: { required: true, decision: 'approve', decidedBy: 'Casey' },
          summary: {
            lines: Array.from({ length: 40 }, (_, index) => (index === 3 ? '' : `line ${index + 1}: **not bold** _nor italic_ [no link](http://example.com) ${'x'.repeat(index * 10)}`)),
            errors: [],
            warnings: [],
            outputLineCount: 40,
            truncated: true,
            exitCode: 0,
          },
        }),
        canShowAll: true,
      },
    },
    {
      name: 'approval-request-decider',
      screen: { screen: 'approval-request', run: sampleRun({ state: 'awaiting-approval', startedAt: undefined, approval: { required: true, expiresAt: '2024-05-02T14:03:00.000Z', reason: 'Four-eyes action' } }), requester: 'Alex (helpdesk)', viewerMayDecide: true },
    },
    {
      name: 'approval-request-viewer',
      screen: { screen: 'approval-request', run: sampleRun({ state: 'awaiting-approval', startedAt: undefined, approval: { required: true } }), requester: 'Alex (helpdesk)', viewerMayDecide: false },
    },
    {
      name: 'approval-request-requester',
      screen: {
        screen: 'approval-request',
        run: sampleRun({ state: 'awaiting-approval', startedAt: undefined, approval: { required: true } }),
        requester: 'Alex (helpdesk)',
        viewerMayDecide: false,
        viewerIsRequester: true,
        personal: true,
        labels: { UserName: 'User name', Days: 'Days of leave', Notify: 'Notify the user by mail', Groups: 'Groups', Password: 'New password' },
      },
    },
    {
      name: 'approval-request-decided',
      screen: { screen: 'approval-request', run: sampleRun({ state: 'queued', approval: { required: true, decision: 'reject', decidedBy: 'Casey', comment: 'Not during the freeze.' } }), requester: 'Alex (helpdesk)', viewerMayDecide: true },
    },
    {
      name: 'action-form-targets',
      screen: {
        screen: 'action-form',
        formId: 'form-3',
        action: sampleAction({
          targets: TARGETS,
          form: { fields: [{ name: '@target', label: 'Targets', hint: 'web-01: Web server 01 · web-02: Web server 02', kind: 'multi', psType: 'target', required: true, choices: ['web-01', 'web-02'] }, ...EVERY_KIND_FIELDS.slice(0, 2)] },
        }),
      },
    },
    {
      name: 'run-summary-targets',
      screen: {
        screen: 'run-summary',
        run: sampleRun({
          state: 'failed',
          targets: TARGETS,
          endedAt: '2024-05-01T14:03:09.000Z',
          durationMs: 8000,
          summary: {
            lines: ['[web-01] restarted W3SVC'],
            errors: ['web-02: connection refused'],
            warnings: [],
            outputLineCount: 1,
            truncated: false,
            exitCode: null,
            targets: [
              { id: 'web-01', name: 'Web server 01', outcome: 'succeeded', exitCode: 0, durationMs: 2100, line: '[web-01] restarted W3SVC' },
              { id: 'web-02', name: 'Web server 02', outcome: 'failed', exitCode: null, durationMs: 3, line: 'web-02: connection refused' },
            ],
          },
        }),
        canShowAll: false,
      },
    },
    {
      name: 'approval-request-target',
      screen: { screen: 'approval-request', run: sampleRun({ state: 'awaiting-approval', startedAt: undefined, target: 'web-01', targets: TARGETS.slice(0, 1), approval: { required: true } }), requester: 'Alex (helpdesk)', viewerMayDecide: true },
    },
    { name: 'script-review-decider', screen: { screen: 'script-review', review: SCRIPT_REVIEW, viewerMayDecide: true } },
    { name: 'script-review-viewer', screen: { screen: 'script-review', review: SCRIPT_REVIEW, viewerMayDecide: false } },
    {
      name: 'script-review-diff',
      screen: {
        screen: 'script-review',
        review: {
          ...SCRIPT_REVIEW,
          submitComment: 'Adds the -Days parameter.',
          diff: { against: `approved ${'d'.repeat(12)}`, truncated: false, lines: ['--- approved dddddddddddd', '+++ testing cccccccccccc', '@@ -1,3 +1,3 @@', ' param(', '-  [string]$UserName', '+  [string]$UserName, [int]$Days', ' )'] },
          versions: [{ hash: 'd'.repeat(64), status: 'approved' }, { hash: 'c'.repeat(64), status: 'testing' }],
        },
        viewerMayDecide: true,
      },
    },
    {
      name: 'script-review-approved',
      screen: {
        screen: 'script-review',
        review: { ...SCRIPT_REVIEW, status: 'approved', decision: { decision: 'approve', decidedBy: 'Cyra (cyber admin)', comment: 'Looks good.' }, moves: ['draft'] },
        viewerMayDecide: false,
      },
    },
    { name: 'script-review-draft', screen: { screen: 'script-review', review: { ...SCRIPT_REVIEW, status: 'draft', moves: ['testing'] }, viewerMayDecide: false } },
    {
      name: 'item-list',
      screen: {
        screen: 'item-list',
        heading: 'Waiting for your decision',
        sections: [
          { title: 'Scripts to review', items: [{ title: 'Set-OutOfOffice', detail: 'Testing · version cccccccccccc · tenant contoso', open: { verb: 'show-script', data: { scriptId: 'set-ooo' } } }] },
          { title: 'Runs to approve', items: [{ title: 'Reset a user account', detail: 'Requested by alex', open: { verb: 'refresh-run', data: { runId: 'run_1' } } }] },
        ],
        emptyText: 'Nothing waits for your decision.',
        refresh: { verb: 'show-approvals', data: {} },
      },
    },
    { name: 'item-list-empty', screen: { screen: 'item-list', heading: 'Scripts', sections: [{ title: 'Draft', items: [] }], emptyText: 'There are no scripts you may see.', refresh: { verb: 'show-scripts', data: {} } } },
    { name: 'script-review-clone', screen: { screen: 'script-review', review: { ...SCRIPT_REVIEW, status: 'draft', origin: { scriptId: 'central-ooo', name: 'Central OOO', hash: 'a'.repeat(64), newerApprovedHash: 'b'.repeat(64) } }, viewerMayDecide: false } },
    { name: 'script-upload', screen: { screen: 'script-upload', preview: SCRIPT_PREVIEW} },
    {
      name: 'script-upload-refused',
      screen: {
        screen: 'script-upload',
        preview: {
          ...SCRIPT_PREVIEW,
          newScript: { ...SCRIPT_PREVIEW.newScript, tenants: [], refusal: 'Your role (read-only) may not create a Draft script.' },
          newVersionOf: { ...(SCRIPT_PREVIEW.newVersionOf as NonNullable<ScriptPreview['newVersionOf']>), refusal: 'Your role (administrator) may not edit an Approved script.' },
        },
      },
    },
    {
      name: 'script-upload-parse-error',
      screen: { screen: 'script-upload', preview: { ...SCRIPT_PREVIEW, parameters: [], parseError: { line: 3, message: "Missing closing '}' in statement block or type definition." } } },
    },
    {
      name: 'authoring-form',
      screen: {
        screen: 'authoring-form',
        form: {
          title: 'New plan: Echo a message',
          intro: 'Runs as you, on the schedule you pick.',
          notes: ['Schedule: every weekday at 07:00 (cron 0 7 * * 1-5)'],
          fields: [
            { name: 'plan.id', label: 'Plan id', kind: 'text', psType: 'string', required: true, default: 'echo-daily' },
            { name: 'plan.every', label: 'Runs', kind: 'choice', psType: 'string', required: true, choices: ['every hour', 'every day', 'every weekday', 'every week', 'every month', 'custom (cron)'] },
            { name: 'plan.at', label: 'At (HH:MM)', kind: 'text', psType: 'string', required: false, pattern: '^([01]\\d|2[0-3]):[0-5]\\d$' },
            ...EVERY_KIND_FIELDS.slice(0, 3),
          ],
          submit: { verb: 'save-plan', title: 'Create plan', data: { actionId: 'echo' } },
          reopen: { verb: 'new-plan', data: { actionId: 'echo' } },
        },
        values: { 'plan.id': 'echo-daily' },
        errors: { 'plan.cron': 'not a valid cron pattern', _form: 'The plan is not valid.' },
      },
    },
    {
      name: 'plan-list',
      screen: {
        screen: 'plan-list',
        heading: 'Scripting plans',
        notice: 'Plan echo-daily created.',
        emptyText: 'There are no plans you may see.',
        mayCreate: true,
        plans: [
          {
            id: 'echo-daily',
            title: 'echo-daily: Echo a message',
            lines: ['Every weekday at 07:00 (cron 0 7 * * 1-5) · next run 2026-01-05 07:00', 'Runs as alex · tenant hamburg · enabled'],
            buttons: [
              { title: 'Run now', verb: 'plan-command', data: { planId: 'echo-daily', command: 'run' }, style: 'positive' },
              { title: 'Disable', verb: 'plan-command', data: { planId: 'echo-daily', command: 'disable' } },
              { title: 'Edit', verb: 'new-plan', data: { planId: 'echo-daily' } },
              { title: 'Delete', verb: 'plan-command', data: { planId: 'echo-daily', command: 'delete' }, style: 'destructive' },
            ],
          },
          { id: 'group-wide', title: 'group-wide: Echo from the top', lines: ['Every day at 04:00 (cron 0 4 * * *)', 'From tenant contoso, above yours: read-only'], buttons: [] },
        ],
      },
    },
    { name: 'plan-list-empty', screen: { screen: 'plan-list', heading: 'Scripting plans', plans: [], emptyText: 'There are no plans you may see.', mayCreate: false } },
    { name: 'error', screen: { screen: 'error', message: 'You are not allowed to do that.', correlationId: '7d7c8f5e-2222-4a4a-9b9b-0123456789ab' } },
    {
      name: 'error-hint',
      screen: { screen: 'error', message: 'You are not allowed to cancel this run.', hint: 'A run is cancelled by the person who asked for it, or by an administrator of its tenant.', correlationId: '7d7c8f5e-3333-4a4a-9b9b-0123456789ab' },
    },
    { name: 'welcome', screen: { screen: 'welcome', principal: { id: 'alex', name: 'Alex (helpdesk)', tenant: 'hamburg', roles: ['administrator'] }, actionCount: 7, waitingCount: 2 } },
    { name: 'welcome-nothing', screen: { screen: 'welcome', principal: { id: 'rita', name: 'Rita (read-only)', tenant: 'contoso', roles: ['read-only'] }, actionCount: 0, waitingCount: 0 } },
    {
      name: 'suggestions',
      screen: {
        screen: 'suggestions',
        text: 'reset password for bob',
        suggestions: [
          { action: sampleAction(), values: { UserName: 'bob' } },
          { action: sampleAction({ id: 'unlock', title: 'Unlock an account', description: undefined }), values: {} },
        ],
      },
    },
    { name: 'suggestions-none', screen: { screen: 'suggestions', text: 'hello', suggestions: [] } },
    { name: 'notice', screen: { screen: 'notice', text: 'Your run was cancelled.' } },
  ];
  return samples;
}

export const SCREEN_NAMES: readonly ScreenName[] = [
  'action-list',
  'action-form',
  'run-status',
  'run-summary',
  'approval-request',
  'script-review',
  'item-list',
  'script-upload',
  'authoring-form',
  'plan-list',
  'welcome',
  'suggestions',
  'error',
  'notice',
];
