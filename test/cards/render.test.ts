import { strict as assert } from 'node:assert';
import { isDeputyError } from '../../executor/contract/index.ts';
import { renderCard } from '../../cards/render.ts';
import { humanizeName } from '../../cards/present.ts';
import { SUBMIT_VERBS, type Screen } from '../../cards/screens.ts';
import { everyScreen, sampleAction, sampleRun, SCRIPT_REVIEW, TABLE_SUMMARY } from './samples.ts';
import { buttons, findAll, ofType, textOf } from './walk.ts';

/** A button as the core receives it, whichever style: `{ title, verb, data }`. */
function normalised(button: Record<string, unknown>): { title: unknown; verb: unknown; data: Record<string, unknown> } {
  if (button.type === 'Action.Execute') return { title: button.title, verb: button.verb, data: button.data as Record<string, unknown> };
  const { verb, ...data } = button.data as Record<string, unknown>;
  return { title: button.title, verb, data };
}

function buttonsOf(screen: Screen, style: 'execute' | 'submit' = 'execute') {
  return buttons(renderCard(screen, { actionStyle: style })).map(normalised);
}

const pendingRun = sampleRun({ state: 'awaiting-approval', startedAt: undefined, approval: { required: true } });

describe('cards: buttons carry verb and data in both action styles', () => {
  for (const { name, screen } of everyScreen()) {
    it(`${name}: the same verbs and data as Action.Execute and as Action.Submit`, () => {
      const execute = buttons(renderCard(screen, { actionStyle: 'execute' }));
      const submit = buttons(renderCard(screen, { actionStyle: 'submit' }));
      assert.ok(execute.every((button) => button.type === 'Action.Execute' && typeof button.verb === 'string'));
      assert.ok(submit.every((button) => button.type === 'Action.Submit' && button.verb === undefined));
      assert.deepEqual(submit.map(normalised), execute.map(normalised));
      for (const button of execute) assert.ok((SUBMIT_VERBS as readonly unknown[]).includes(button.verb), String(button.verb));
    });
  }

  it('action list: one open-form button per action, plus refresh', () => {
    const [list] = everyScreen();
    assert.ok(list);
    const found = buttonsOf(list.screen, 'submit');
    assert.deepEqual(
      found.filter((button) => button.verb === 'open-form').map((button) => button.data).sort((a, b) => String(a.actionId).localeCompare(String(b.actionId))),
      [{ actionId: 'new-vm' }, { actionId: 'reset-user' }, { actionId: 'set-ooo' }, { actionId: 'unlock' }],
    );
    assert.deepEqual(found.filter((button) => button.verb === 'show-actions').map((button) => button.data), [{}]);
  });

  it('action list: grouped as ready, needs approval, in testing, with titles and descriptions', () => {
    const [list] = everyScreen();
    assert.ok(list);
    const text = textOf(renderCard(list.screen, { actionStyle: 'execute' }));
    const order = ['Ready to run', 'Reset a user account', 'Unlock an account', 'Needs a second person', 'Set an out-of-office reply', 'In testing', 'Create a test VM'];
    const positions = order.map((part) => text.indexOf(part));
    assert.ok(positions.every((position) => position >= 0), text);
    assert.deepEqual([...positions].sort((a, b) => a - b), positions);
    assert.match(text, /Unlocks the account, sets a new password/);
  });

  it('action list: an empty list says so and offers no open-form button', () => {
    const card = renderCard({ screen: 'action-list', principal: { id: 'r', name: 'Rita', tenant: 't', roles: ['administrator'] }, actions: [] }, { actionStyle: 'execute' });
    assert.match(textOf(card), /No actions are assigned to you yet/);
    assert.equal(findAll(card, (item) => item.verb === 'open-form').length, 0);
  });

  it('form: submit carries the action id; back skips the inputs; approval actions say "Request approval"', () => {
    const card = renderCard({ screen: 'action-form', formId: 'form-1', action: sampleAction() }, { actionStyle: 'execute' });
    const [submit, back] = buttons(card);
    assert.deepEqual([submit?.title, submit?.verb, submit?.data], ['Run', 'submit-form', { actionId: 'reset-user', formId: 'form-1' }], 'the card’s own id rides with Run');
    assert.deepEqual([back?.verb, back?.associatedInputs], ['show-actions', 'none']);
    const fourEyes = buttonsOf({ screen: 'action-form', formId: 'form-1', action: sampleAction({ approval: 'four-eyes' }) });
    assert.equal(fourEyes[0]?.title, 'Request approval');
  });

  it('run status: Cancel only when the viewer may cancel, never first, and it asks once before cancelling', () => {
    const withCancel = buttonsOf({ screen: 'run-status', run: sampleRun(), canCancel: true });
    // A second press on Run lands on the first button of the status card: that must not cancel.
    assert.deepEqual(withCancel.map((button) => [button.title, button.verb, button.data]), [
      ['Check again', 'refresh-run', { runId: 'run_abc_123' }],
      ['Cancel run…', 'cancel-run', { runId: 'run_abc_123' }],
    ]);
    const asking = renderCard({ screen: 'run-status', run: sampleRun(), canCancel: true, confirmCancel: true }, { actionStyle: 'submit' });
    assert.deepEqual(buttons(asking).map((button) => [button.title, button.data]), [
      ['Keep it running', { runId: 'run_abc_123', verb: 'refresh-run' }],
      ['Yes, cancel the run', { runId: 'run_abc_123', confirmed: true, verb: 'cancel-run' }],
    ]);
    assert.match(textOf(asking), /Cancel this run\?/);
    const without = buttonsOf({ screen: 'run-status', run: sampleRun(), canCancel: false });
    assert.equal(without.filter((button) => button.verb === 'cancel-run').length, 0);
    assert.deepEqual(without.map((button) => button.verb), ['refresh-run']);
  });

  it('run status: shows state, action title, requester and correlation id', () => {
    const text = textOf(renderCard({ screen: 'run-status', run: sampleRun(), canCancel: true, requester: 'Alex (helpdesk)' }, { actionStyle: 'execute' }));
    for (const part of ['▶ Running', 'Reset a user account', 'Requested by: Alex (helpdesk)', 'Correlation id: 7d7c8f5e-1111-4a4a-9b9b-0123456789ab']) {
      assert.ok(text.includes(part), `${part} in\n${text}`);
    }
    const unnamed = textOf(renderCard({ screen: 'run-status', run: sampleRun(), canCancel: false }, { actionStyle: 'execute' }));
    assert.match(unnamed, /Requested by: alex/);
  });

  it('run summary: status colour, duration, table, errors, warnings, correlation id and its buttons', () => {
    const run = sampleRun({ state: 'failed', durationMs: 64_000, summary: TABLE_SUMMARY });
    const card = renderCard({ screen: 'run-summary', run, canShowAll: true }, { actionStyle: 'execute' });
    const [status] = findAll(card, (item) => item.text === '✖ Failed');
    assert.equal(status?.color, 'Attention');
    const text = textOf(card);
    for (const part of ['Duration: 1 min 04 s', 'Exit code: 1', 'Cannot find an object with identity', 'over 90% of its quota', 'Correlation id: 7d7c8f5e']) {
      assert.ok(text.includes(part), `${part} in\n${text}`);
    }
    const [table] = ofType(card, 'Table');
    assert.equal((table?.rows as unknown[]).length, 3);
    assert.equal((table?.columns as unknown[]).length, 4);
    assert.deepEqual(buttonsOf({ screen: 'run-summary', run, canShowAll: true, canRunAgain: true }).map((button) => [button.verb, button.data]), [
      ['show-output', { runId: 'run_abc_123' }],
      ['open-form', { actionId: 'reset-user', fromRunId: 'run_abc_123' }],
      ['show-actions', {}],
    ]);
    // Someone else's run (a notification, an approver's view) offers no "Run again": it would open a form they may not have.
    assert.deepEqual(buttonsOf({ screen: 'run-summary', run, canShowAll: true }).map((button) => button.verb), ['show-output', 'show-actions']);
    assert.equal(buttonsOf({ screen: 'run-summary', run, canShowAll: false }).filter((button) => button.verb === 'show-output').length, 0);
    const [succeeded] = findAll(renderCard({ screen: 'run-summary', run: sampleRun({ state: 'succeeded' }), canShowAll: false }, { actionStyle: 'execute' }), (item) => item.text === '✔ Succeeded');
    assert.equal(succeeded?.color, 'Good');
  });

  it('run summary: output lines are monospace text runs, so markdown in them is not interpreted', () => {
    const line = '**not bold** _nor italic_ [no link](http://example.com)';
    const card = renderCard({ screen: 'run-summary', run: sampleRun({ state: 'succeeded', summary: { ...TABLE_SUMMARY, table: undefined, lines: [line] } }), canShowAll: false }, { actionStyle: 'execute' });
    const [run] = ofType(card, 'TextRun').filter((item) => item.text === line);
    assert.equal(run?.fontType, 'Monospace');
    assert.equal(findAll(card, (item) => item.type === 'TextBlock' && String(item.text).includes('**not bold**')).length, 0);
  });

  it('run summary: indentation and column spacing of output survive, empty lines stay lines', () => {
    const lines = ['Name   Enabled', '', '    indented'];
    const card = renderCard({ screen: 'run-summary', run: sampleRun({ state: 'succeeded', summary: { ...TABLE_SUMMARY, table: undefined, lines } }), canShowAll: false }, { actionStyle: 'execute' });
    const texts = ofType(card, 'TextRun').filter((item) => item.fontType === 'Monospace' && item.color === undefined).map((item) => item.text);
    assert.deepEqual(texts, ['Name\u00a0\u00a0 Enabled', '\u00a0', '\u00a0\u00a0\u00a0\u00a0indented']);
  });

  it('template syntax inside data stays literal text', () => {
    const card = renderCard({ screen: 'notice', text: 'cost: ${runId} @{x}' }, { actionStyle: 'execute' });
    assert.equal(textOf(card), 'cost: ${runId} @{x}');
  });

  it('error card: only the message and the correlation id, no buttons', () => {
    const card = renderCard({ screen: 'error', message: 'You are not allowed to do that.', correlationId: 'corr-1' }, { actionStyle: 'execute' });
    assert.equal(textOf(card), 'You are not allowed to do that.\nCorrelation id: corr-1');
    assert.equal(buttons(card).length, 0);
    assert.equal(card.actions, undefined);
  });
});

describe('cards: approvals show buttons only to deciders, with per-user refresh', () => {
  it('a decider sees Approve and Reject with a comment input', () => {
    const card = renderCard({ screen: 'approval-request', run: pendingRun, requester: 'Alex', viewerMayDecide: true }, { actionStyle: 'execute' });
    assert.deepEqual(buttons(card).map(normalised), [
      { title: 'Approve', verb: 'decide-run', data: { runId: 'run_abc_123', decision: 'approve' } },
      { title: 'Reject', verb: 'decide-run', data: { runId: 'run_abc_123', decision: 'reject' } },
    ]);
    const [comment] = ofType(card, 'Input.Text');
    assert.deepEqual([comment?.id, comment?.maxLength], ['comment', 2000]);
  });

  it('anyone else sees no decision buttons, only "Show my options"', () => {
    const card = renderCard({ screen: 'approval-request', run: pendingRun, requester: 'Alex', viewerMayDecide: false }, { actionStyle: 'execute' });
    assert.deepEqual(buttons(card).map(normalised), [{ title: 'Show my options', verb: 'refresh-run', data: { runId: 'run_abc_123' } }]);
    assert.equal(ofType(card, 'Input.Text').length, 0);
  });

  it('shows the inputs (secrets masked as given) and who asked', () => {
    const text = textOf(renderCard({ screen: 'approval-request', run: pendingRun, requester: 'Alex', viewerMayDecide: true }, { actionStyle: 'execute' }));
    for (const part of ['Alex asks to run', 'User name', 'jdoe', 'Groups', 'VPN, Wiki', 'Notify', 'Yes', '********', 'Script version: bbbbbbbbbbbb']) {
      assert.ok(text.includes(part), `${part} in\n${text}`);
    }
  });

  it('a decided approval shows the outcome and no buttons, for deciders too', () => {
    const run = sampleRun({ state: 'queued', approval: { required: true, decision: 'approve', decidedBy: 'Casey', comment: 'Fine.' } });
    const card = renderCard({ screen: 'approval-request', run, requester: 'Alex', viewerMayDecide: true }, { actionStyle: 'execute', refreshUserIds: ['29:casey'] });
    assert.equal(buttons(card).length, 0);
    assert.equal(card.refresh, undefined, 'nothing left to refresh');
    assert.match(textOf(card), /✔ Approved by Casey[\s\S]*Fine\./);
  });

  it('the refresh action is Action.Execute refresh-run for the given users', () => {
    const card = renderCard({ screen: 'approval-request', run: pendingRun, requester: 'Alex', viewerMayDecide: false }, { actionStyle: 'execute', refreshUserIds: ['29:a', '29:b'] });
    assert.deepEqual(card.refresh, { action: { type: 'Action.Execute', verb: 'refresh-run', data: { runId: 'run_abc_123' } }, userIds: ['29:a', '29:b'] });
  });

  it('refresh covers at most 60 users (Teams’ limit); the rest use "Show my options"', () => {
    const userIds = Array.from({ length: 75 }, (_, index) => `29:user-${index}`);
    const card = renderCard({ screen: 'approval-request', run: pendingRun, requester: 'Alex', viewerMayDecide: false }, { actionStyle: 'execute', refreshUserIds: userIds });
    assert.deepEqual((card.refresh as { userIds: string[] }).userIds, userIds.slice(0, 60));
  });

  it('no refresh without user ids, and none in submit style (no Universal Actions there)', () => {
    const screen: Screen = { screen: 'approval-request', run: pendingRun, requester: 'Alex', viewerMayDecide: false };
    assert.equal(renderCard(screen, { actionStyle: 'execute' }).refresh, undefined);
    assert.equal(renderCard(screen, { actionStyle: 'execute', refreshUserIds: [] }).refresh, undefined);
    assert.equal(renderCard(screen, { actionStyle: 'submit', refreshUserIds: ['29:a'] }).refresh, undefined);
  });

  it('run status cards refresh for the given users too; screens without per-user content never do', () => {
    const status = renderCard({ screen: 'run-status', run: sampleRun(), canCancel: true }, { actionStyle: 'execute', refreshUserIds: ['29:a'] });
    assert.equal((status.refresh as { action: { verb: string } }).action.verb, 'refresh-run');
    const notice = renderCard({ screen: 'notice', text: 'x' }, { actionStyle: 'execute', refreshUserIds: ['29:a'] });
    assert.equal(notice.refresh, undefined);
  });

  it('script review: deciders get Approve / Send back to draft bound to the version; others wait', () => {
    const decider = renderCard({ screen: 'script-review', review: SCRIPT_REVIEW, viewerMayDecide: true }, { actionStyle: 'submit' });
    const data = { scriptId: 'set-ooo', versionHash: 'c'.repeat(64) };
    assert.deepEqual(buttons(decider).map(normalised), [
      { title: 'Approve', verb: 'decide-script', data: { ...data, decision: 'approve' } },
      { title: 'Send back to draft', verb: 'decide-script', data: { ...data, decision: 'reject' } },
    ]);
    assert.match(textOf(decider), /Set-MailboxAutoReplyConfiguration -Identity \$UserName/);
    const viewer = renderCard({ screen: 'script-review', review: SCRIPT_REVIEW, viewerMayDecide: false }, { actionStyle: 'execute', refreshUserIds: ['29:a'] });
    assert.deepEqual(buttons(viewer).map(normalised), [{ title: 'Show my options', verb: 'refresh-script', data }]);
    assert.deepEqual(viewer.refresh, { action: { type: 'Action.Execute', verb: 'refresh-script', data }, userIds: ['29:a'] });
  });
});

describe('cards: a card that cannot fit is refused with a registry error', () => {
  it('throws DEPUTY_E_PAYLOAD_TOO_LARGE rather than sending a card Teams would reject', () => {
    // A ValidateSet with thousands of values cannot be cut without making choices unreachable.
    const choices = Array.from({ length: 3000 }, (_, index) => `choice-number-${index}`);
    const action = sampleAction({ form: { fields: [{ name: 'Pick', label: 'Pick', kind: 'choice', psType: 'string', required: true, choices }] } });
    assert.throws(() => renderCard({ screen: 'action-form', formId: 'form-1', action }, { actionStyle: 'execute' }), (error) => isDeputyError(error) && error.code === 'DEPUTY_E_PAYLOAD_TOO_LARGE');
  });
});

describe('cards: results read well', () => {
  it('humanizes property names', () => {
    assert.deepEqual(
      ['SizeGB', 'UserPrincipalName', 'CPU', 'last_logon', 'Id', 'FreeSpaceGB', 'IPAddress'].map(humanizeName),
      ['Size GB', 'User principal name', 'CPU', 'Last logon', 'Id', 'Free space GB', 'IP address'],
    );
  });

  it('a table shows humanized headers, columns as wide as their longest word, and its last rows with "n of m"', () => {
    const rows = Array.from({ length: 30 }, (_, index) => ['uma.schulz@contoso.example', String(index + 1), 'ok']);
    const run = sampleRun({ state: 'succeeded', summary: { lines: [], table: { columns: ['UserPrincipalName', 'Line', 'Status'], rows: rows.slice(-10) }, rowCount: 30, errors: [], warnings: [], outputLineCount: 30, truncated: false, exitCode: 0 } });
    const card = renderCard({ screen: 'run-summary', run, canShowAll: true }, { actionStyle: 'execute' });
    const [table] = ofType(card, 'Table');
    const widths = (table?.columns as { width: number }[]).map((column) => column.width);
    assert.ok((widths[0] ?? 0) >= 'uma.schulz@contoso.example'.length, `an address gets room for itself: ${JSON.stringify(widths)}`);
    const text = textOf(card);
    assert.match(text, /User principal name/);
    assert.match(text, /Showing the last 10 of 30 rows\./);
    assert.match(text, /\n30\n/, 'the last row is shown');
  });
});

describe('cards: an empty action list speaks to the person’s role', () => {
  it('tells a read-only administrator what they can do, and others to ask for assignments', () => {
    const rita = textOf(renderCard({ screen: 'action-list', principal: { id: 'rita', name: 'Rita', tenant: 'contoso', roles: ['read-only'] }, actions: [] }, { actionStyle: 'submit' }));
    assert.match(rita, /read-only administrator you run no actions/);
    assert.doesNotMatch(rita, /assigned to you yet/);
    const alex = textOf(renderCard({ screen: 'action-list', principal: { id: 'alex', name: 'Alex', tenant: 'hamburg', roles: ['administrator'] }, actions: [] }, { actionStyle: 'submit' }));
    assert.match(alex, /No actions are assigned to you yet/);
  });
});
