/**
 * Rich sample screens for the card tests: a form with every field kind, errors, a table
 * summary, long and hostile text.
 */
import { ActionViewSchema, RunViewSchema, type ActionView, type FormField, type RunView } from '../../executor/contract/index.ts';
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

/** One or more samples of every screen, each with a name for its screenshot. */
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
  'welcome',
  'suggestions',
  'error',
  'notice',
];
