/**
 * The approval conversations, run on each platform's real edge against a real executor (real
 * pwsh) with the approvals catalog: a script review from Testing to Approved, and a four-eyes
 * run whose requester tries to approve it themselves.
 */
import { strict as assert } from 'node:assert';
import { join } from 'node:path';
import { ERRORS } from '../../../executor/contract/index.ts';
import { PROJECT_ROOT } from '../../../executor/pwsh/locate.ts';
import type { TestExecutor } from '../../helpers/executor.ts';
import { waitForMessage, type ChatDriver, type ObservedMessage } from '../conformance/suite.ts';

export const APPROVALS_CATALOG = join(PROJECT_ROOT, 'test', 'bot', 'approvals', 'catalog');

export interface ApprovalsTarget {
  executor: TestExecutor;
  as(principalId: string): Promise<ChatDriver>;
  /**
   * Sends `verb` with `data` as this person, from their card `messageId`, whether or not the
   * card offers that button: what a wrong or forged client could send.
   */
  press(principalId: string, messageId: string, verb: string, data: Record<string, unknown>): Promise<void>;
  close(): Promise<void>;
}

const withAction = (verb: string, match: Record<string, unknown> = {}) => (message: ObservedMessage) =>
  message.actions.some((action) => action.verb === verb && Object.entries(match).every(([key, value]) => action.data[key] === value));

async function greet(driver: ChatDriver, who: string): Promise<number> {
  await driver.sendText('hello');
  await waitForMessage(driver, `${who}’s first answer`, (messages) => messages.at(-1));
  return (await driver.messages()).length;
}

export function runApprovalFlows(platform: string, start: () => Promise<ApprovalsTarget>): void {
  describe(`approvals in chat: ${platform}`, function () {
    this.timeout(90_000);
    let target: ApprovalsTarget;

    before(async () => {
      target = await start();
    });
    after(async () => {
      await target?.close();
    });

    it('a script moved to Testing reaches the other approver as a review card; they approve; every card says so and the requester is told', async () => {
      const carl = await target.as('carl');
      const carlCount = await greet(carl, 'carl');
      const cyra = await target.as('cyra');
      await greet(cyra, 'cyra');

      await cyra.sendText('script tool');
      const draftCard = await waitForMessage(cyra, 'the draft script card', (messages) => messages.filter(withAction('change-script-status', { to: 'testing' })).at(-1));
      assert.match(draftCard.text, /Draft/);
      await cyra.clickAction('change-script-status', { to: 'testing' });

      const review = await waitForMessage(carl, 'the review card for carl', (messages) => messages.slice(carlCount).find(withAction('decide-script', { decision: 'approve' })));
      assert.match(review.text, /Review needed/);
      assert.match(review.text, /Cyra \(cyber admin\)/, 'who asked');
      assert.match(review.text, /Changes against nothing/, 'the diff, against no approved version');
      assert.match(review.text, /\+"checking \$Target"/);
      assert.match(review.text, /Target/, 'its parameters');
      const hash = target.executor.store.catalog.getScript('tool')?.currentHash;
      assert.ok(review.actions.some((action) => action.verb === 'decide-script' && action.data.versionHash === hash), 'the buttons name the exact hash');

      await cyra.sendText('scripts testing');
      const testing = await waitForMessage(cyra, 'the list of Testing scripts', (messages) => messages.filter(withAction('show-scripts', { status: 'testing' })).at(-1));
      assert.ok(testing.actions.some((action) => action.verb === 'show-script' && action.data.scriptId === 'tool'), 'tool is listed as Testing');
      assert.ok(!testing.actions.some((action) => action.verb === 'show-script' && action.data.scriptId === 'greet'), 'an Approved script is not');

      await carl.sendText('approvals');
      const pending = await waitForMessage(carl, 'carl’s approvals list', (messages) => messages.filter(withAction('show-script', { scriptId: 'tool' })).at(-1));
      assert.match(pending.text, /Scripts to review/);

      await carl.clickAction('decide-script', { decision: 'approve' });
      await waitForMessage(carl, 'carl’s card decided', (messages) => messages.find((message) => message.id === review.id && /Approved by Carl/.test(message.text)));
      const carlCard = (await carl.messages()).find((message) => message.id === review.id);
      assert.ok(!carlCard?.actions.some((action) => action.verb === 'decide-script'), 'no buttons once decided');

      await waitForMessage(cyra, 'the decision told to cyra', (messages) => messages.find((message) => /Carl \(company admin\) approved the script/.test(message.text)));
      await waitForMessage(cyra, 'cyra’s own card updated', (messages) => messages.find((message) => message.id === draftCard.id && /Approved by Carl/.test(message.text)));
      const stored = target.executor.store.catalog.getScript('tool');
      assert.equal(stored?.status, 'approved');
      assert.equal(stored?.approvedHash, hash);
    });

    it('two approvers deciding at once: one wins, and the other’s card shows who did', async () => {
      const carl = await target.as('carl');
      const cyra = await target.as('cyra');
      await cyra.sendText('script tool');
      await waitForMessage(cyra, 'the approved script card', (messages) => messages.filter(withAction('change-script-status', { to: 'draft' })).at(-1));
      await cyra.clickAction('change-script-status', { to: 'draft' });
      await waitForMessage(cyra, 'the script back in draft', (messages) => messages.filter(withAction('change-script-status', { to: 'testing' })).at(-1));
      const carlCount = (await carl.messages()).length;
      await cyra.clickAction('change-script-status', { to: 'testing' });
      const carlCard = await waitForMessage(carl, 'a new review card for carl', (messages) => messages.slice(carlCount).find(withAction('decide-script', { decision: 'approve' })));
      const cyraCard = await waitForMessage(cyra, 'cyra’s card in review', (messages) => messages.filter(withAction('decide-script', { decision: 'reject' })).at(-1));

      const [last] = await target.executor.store.audit.read({ limit: 1 });
      await Promise.all([carl.clickAction('decide-script', { decision: 'approve' }), cyra.clickAction('decide-script', { decision: 'reject' })]);
      const status = target.executor.store.catalog.getScript('tool')?.status;
      assert.ok(status === 'approved' || status === 'draft', `one decision won: ${status}`);
      const outcome = status === 'approved' ? /Approved by Carl/ : /Rejected by Cyra/;
      await waitForMessage(carl, 'carl’s card with the outcome', (messages) => messages.find((message) => message.id === carlCard.id && outcome.test(message.text)));
      await waitForMessage(cyra, 'cyra’s card with the outcome', (messages) => messages.find((message) => message.id === cyraCard.id && outcome.test(message.text)));
      const decisions = async () => (await target.executor.store.audit.read({ sinceSeq: last?.seq ?? 0, limit: 100 })).filter((entry) => entry.type === 'script.status');
      const deadline = Date.now() + 10_000;
      while ((await decisions()).length < 2 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
      assert.deepEqual((await decisions()).map((entry) => entry.outcome).sort(), ['allowed', 'denied'], 'one allowed, one refused, both audited');
    });

    it('refuses self-approval of a four-eyes run with the executor’s message; another approver’s decision reaches the requester', async () => {
      const carl = await target.as('carl');
      const carlCount = await greet(carl, 'carl');
      const alex = await target.as('alex');
      await alex.sendText('help');
      await waitForMessage(alex, 'the action list', (messages) => messages.filter(withAction('open-form', { actionId: 'greet-four-eyes' })).at(-1));
      await alex.clickAction('open-form', { actionId: 'greet-four-eyes' });
      const form = await waitForMessage(alex, 'the form', (messages) => messages.filter(withAction('submit-form', { actionId: 'greet-four-eyes' })).at(-1));
      await alex.submitForm({ Who: 'the auditors' });
      const waiting = await waitForMessage(alex, 'the request waiting', (messages) => messages.find((message) => message.id === form.id && /Approval needed/.test(message.text)));
      assert.ok(!waiting.actions.some((action) => action.verb === 'decide-run'), 'the requester is offered no decision');
      const run = (await target.executor.store.runs.list({ principal: 'alex', limit: 1 }))[0];
      assert.equal(run?.state, 'awaiting-approval');

      await target.press('alex', waiting.id, 'decide-run', { runId: run.id, decision: 'approve' });
      await waitForMessage(alex, 'the self-approval refusal', (messages) => messages.find((message) => message.text.includes(ERRORS.DEPUTY_E_SELF_APPROVAL.message)));
      assert.equal((await target.executor.store.runs.get(run.id))?.state, 'awaiting-approval', 'still waiting');
      const [audit] = await target.executor.store.audit.read({ limit: 50 }).then((entries) => entries.filter((entry) => entry.type === 'run.decision' && entry.subject === run.id));
      assert.equal(audit?.outcome, 'denied');

      const request = await waitForMessage(carl, 'the approval request for carl', (messages) => messages.slice(carlCount).find(withAction('decide-run', { runId: run.id, decision: 'approve' })));
      assert.match(request.text, /the auditors/);
      await carl.clickAction('decide-run', { runId: run.id, decision: 'approve' });
      await waitForMessage(alex, 'the result in place of the request', (messages) => messages.find((message) => message.id === form.id && /Succeeded/.test(message.text) && /hello the auditors/.test(message.text)));
      await waitForMessage(carl, 'carl’s approval card decided', (messages) => messages.find((message) => message.id === request.id && /Approved by carl/.test(message.text) && !withAction('decide-run')(message)));
    });
  });
}
