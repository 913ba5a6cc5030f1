/**
 * The conformance suite's authoring part, run on every platform with the same harness: a
 * `.ps1` file sent to the bot becomes a new script or a new version (the card shows the
 * parameters and the diff, the script is created in Draft on confirmation), `clone`, `new plan`
 * and `plans` with their buttons, and chat refuses what the REST API refuses, with its reason.
 */
import { strict as assert } from 'node:assert';
import { ErrorBodySchema } from '../../../executor/contract/index.ts';
import { waitForMessage, type ChatDriver, type ConformanceHarness, type ObservedMessage } from './suite.ts';

const withVerb = (verb: string, match: Record<string, unknown> = {}) => (message: ObservedMessage) =>
  message.actions.some((action) => action.verb === verb && Object.entries(match).every(([key, value]) => action.data[key] === value));

/** The newest message after `count` that satisfies `check`. */
const after = (count: number, check: (message: ObservedMessage) => boolean) => (messages: ObservedMessage[]) => messages.slice(count).filter(check).at(-1);

async function countOf(driver: ChatDriver): Promise<number> {
  return (await driver.messages()).length;
}

const GREETER = [
  '<#',
  '.SYNOPSIS',
  'Greets a visitor at the front desk.',
  '.PARAMETER VisitorName',
  'Who is visiting.',
  '#>',
  'param(',
  '    [Parameter(Mandatory)][string]$VisitorName,',
  '    [ValidateSet("Hamburg", "Munich")][string]$Office = "Hamburg"',
  ')',
  '"Welcome to $Office, $VisitorName"',
  '',
].join('\n');

export function describeAuthoring(platform: string, harnessOf: () => ConformanceHarness): void {
  describe('authoring in chat', () => {
    /** A REST refusal's message, for comparing with what chat says. */
    async function restRefusal(path: string, init: RequestInit & { json?: unknown }): Promise<string> {
      const response = await harnessOf().rest(path, init);
      assert.ok(response.status >= 400 && response.status < 500, `REST refuses: ${response.status}`);
      return ErrorBodySchema.parse(await response.json()).error.message;
    }

    it('a .ps1 file sent to the bot shows its parameters and offers a new script, created in Draft on confirmation', async () => {
      const alex = await harnessOf().asPrincipal('alex');
      const before = await countOf(alex);
      const fileName = `Greet-Visitor${platform.replace(/\W/g, '')}.ps1`;
      await alex.sendFile(fileName, GREETER);
      const card = await waitForMessage(alex, 'the upload card', after(before, withVerb('create-script')));
      assert.match(card.text, /VisitorName/, 'the parameters are listed');
      assert.match(card.text, /Office/);
      const create = card.actions.find((action) => action.verb === 'create-script');
      assert.equal(create?.data.tenant, 'hamburg');
      await alex.clickAction('create-script', { upload: create?.data.upload });
      const created = await waitForMessage(alex, 'the new script', (messages) =>
        messages.find((message) => /Draft/.test(message.text) && message.text.includes(String(create?.data.name)) && !withVerb('create-script')(message)));
      assert.ok(!created.actions.some((action) => action.verb === 'decide-script'), 'a Draft has nothing to approve');
      const stored = await harnessOf().rest(`/v1/scripts/${String(create?.data.id)}?principal=alex`);
      assert.equal(stored.status, 200, 'the executor has it');
      assert.equal(((await stored.json()) as { status: string }).status, 'draft');
    });

    it('a file named like an existing script offers a new version with the diff; an admin saves it as a Draft version', async () => {
      const cyra = await harnessOf().asPrincipal('cyra');
      const before = await countOf(cyra);
      const changed = `<#\n.SYNOPSIS\nCounts from one up.\n#>\nparam([Parameter(Mandatory)][ValidateRange(1, 500)][int]$Upto)\n1..$Upto | ForEach-Object { "number $_ (${platform})" }\n`;
      await cyra.sendFile('Count.ps1', changed);
      const card = await waitForMessage(cyra, 'the new-version card', after(before, withVerb('save-script-version', { scriptId: 'count' })));
      assert.ok(card.text.split('\n').some((line) => /^\+.*number \$_/.test(line.trim()) || line.includes('+1..$Upto')), `the diff shows the added line:\n${card.text}`);
      await cyra.clickAction('save-script-version', { scriptId: 'count' });
      await waitForMessage(cyra, 'the script in Draft', (messages) => messages.slice(before).find((message) => /Draft/.test(message.text) && /count/i.test(message.text) && !withVerb('save-script-version')(message)));
    });

    it('refuses what REST refuses, with the same reason: an Administrator may not edit an Approved script', async () => {
      const alex = await harnessOf().asPrincipal('alex');
      const before = await countOf(alex);
      await alex.sendFile('Sleep.ps1', 'param([int]$Seconds)\n"never saved"\n');
      const card = await waitForMessage(alex, 'the card with the refusal', after(before, (message) => /new version/i.test(message.text)));
      const reason = await restRefusal('/v1/scripts/sleep/versions', { method: 'POST', json: { principalId: 'alex', basedOn: 'f'.repeat(64), text: 'param()\n"x"\n' } });
      assert.ok(card.text.includes(reason), `chat says “${reason}”:\n${card.text}`);
      assert.ok(!withVerb('save-script-version')(card), 'and offers no button for it');
    });

    it('a script PowerShell cannot parse is refused with the parser’s line, and nothing is offered', async () => {
      const alex = await harnessOf().asPrincipal('alex');
      const before = await countOf(alex);
      await alex.sendFile('Broken.ps1', 'param([string]$Name)\nif ($Name) {\n  "open"\n');
      const card = await waitForMessage(alex, 'the parse error', after(before, (message) => /cannot parse/i.test(message.text)));
      assert.match(card.text, /line \d+/);
      assert.ok(!card.actions.some((action) => action.verb === 'create-script' || action.verb === 'save-script-version'));
    });

    it('clone <script> to <tenant>: a Draft copy that names its origin; refused above one’s tenant with REST’s reason', async () => {
      const alex = await harnessOf().asPrincipal('alex');
      const before = await countOf(alex);
      const id = `echo-${platform.replace(/\W/g, '').toLowerCase()}`;
      await alex.sendText(`clone echo to hamburg as ${id}`);
      const clone = await waitForMessage(alex, 'the clone', after(before, (message) => /Cloned from/.test(message.text)));
      assert.match(clone.text, /Draft/);
      const refusedAt = await countOf(alex);
      await alex.sendText('clone echo to contoso');
      const refused = await waitForMessage(alex, 'the refusal', (messages) => messages.slice(refusedAt).at(-1));
      const reason = await restRefusal('/v1/scripts/echo/clone', { method: 'POST', json: { principalId: 'alex', tenant: 'contoso', id: 'echo-contoso' } });
      assert.ok(refused.text.includes(reason), `chat says “${reason}”:\n${refused.text}`);
    });

    it('new plan: pick an action, a schedule in words and its inputs; the plan list shows its cron and buttons', async () => {
      const alex = await harnessOf().asPrincipal('alex');
      const before = await countOf(alex);
      const planId = `conformance-${platform.replace(/\W/g, '').toLowerCase()}`;
      await alex.sendText('new plan');
      await waitForMessage(alex, 'the action choice', after(before, withVerb('new-plan', { actionId: 'echo' })));
      await alex.clickAction('new-plan', { actionId: 'echo' });
      await waitForMessage(alex, 'the plan form', (messages) => messages.slice(before).find(withVerb('save-plan')));

      // A schedule croner refuses: the form says why, in the executor's words.
      await alex.submitCard('save-plan', { 'plan.id': planId, 'schedule.every': 'Custom (cron)', 'schedule.cron': '61 * * * *', Message: 'planned' });
      const reason = ErrorBodySchema.parse(await (await harnessOf().rest('/v1/plans', { method: 'POST', json: { principalId: 'alex', id: planId, action: 'echo', schedule: '61 * * * *', inputs: { Message: 'planned' } } })).json()).error.fields?.schedule;
      assert.ok(reason, 'REST names the schedule');
      await waitForMessage(alex, 'the form with the schedule error', (messages) => messages.slice(before).find((message) => withVerb('save-plan')(message) && message.text.includes(reason)));

      await alex.submitCard('save-plan', { 'plan.id': planId, 'schedule.every': 'Every weekday (Monday to Friday)', 'schedule.at': '06:30', 'schedule.cron': '', Message: 'planned' });
      const list = await waitForMessage(alex, 'the plan list with the new plan', (messages) => messages.slice(before).find((message) => message.text.includes(`Plan ${planId} created`)));
      assert.match(list.text, /every weekday at 06:30 \(cron 30 6 \* \* 1-5\)/);
      assert.ok(withVerb('plan-command', { planId, command: 'run' })(list), 'Run now');
      assert.ok(withVerb('plan-command', { planId, command: 'delete' })(list), 'Delete');
      assert.ok(withVerb('new-plan', { planId })(list), 'Edit');
    });

    it('plans lists what the user may manage with its buttons: disable, then delete', async () => {
      const alex = await harnessOf().asPrincipal('alex');
      const planId = `conformance-${platform.replace(/\W/g, '').toLowerCase()}`;
      const before = await countOf(alex);
      await alex.sendText('plans');
      await waitForMessage(alex, 'the plan list', after(before, withVerb('plan-command', { planId, command: 'disable' })));
      await alex.clickAction('plan-command', { planId, command: 'disable' });
      await waitForMessage(alex, 'the plan disabled', (messages) => messages.slice(before).find((message) => message.text.includes(`Plan ${planId} disabled`) && withVerb('plan-command', { planId, command: 'enable' })(message)));
      await alex.clickAction('plan-command', { planId, command: 'delete' });
      const gone = await waitForMessage(alex, 'the plan deleted', (messages) => messages.slice(before).find((message) => message.text.includes(`Plan ${planId} deleted`)));
      assert.ok(!withVerb('plan-command', { planId })(gone), 'no buttons for a deleted plan');
      const rita = await harnessOf().asPrincipal('rita');
      const ritaBefore = await countOf(rita);
      await rita.sendText('plans');
      const ritaList = await waitForMessage(rita, 'rita’s plan list', after(ritaBefore, () => true));
      assert.ok(!ritaList.actions.some((action) => action.verb === 'plan-command' || action.verb === 'new-plan'), 'a read-only user manages nothing');
    });
  });
}
