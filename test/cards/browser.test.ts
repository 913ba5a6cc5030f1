/**
 * Renders every card with Microsoft's `adaptivecards` JS renderer in headless Chromium (the
 * renderer the web chat uses), checks the inputs and buttons it produced, clicks through a
 * form and an approval, and keeps a screenshot per card in test-artifacts/cards/.
 */
import { strict as assert } from 'node:assert';
import { existsSync } from 'node:fs';
import { mkdir, readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';
import { formInputId, readFormValues } from '../../cards/form.ts';
import { renderCard, type AdaptiveCardJson } from '../../cards/render.ts';
import { EVERY_KIND_FIELDS, everyScreen, sampleAction, sampleRun } from './samples.ts';
import { buttons, findAll, ofType } from './walk.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const ARTIFACTS = path.join(ROOT, 'test-artifacts/cards');
const CHROMIUM = process.env.DEPUTY_CHROMIUM ?? '/usr/bin/chromium';

const PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Deputy cards</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/adaptivecards.css">
<script src="/adaptivecards.js"></script>
<style>
  body { margin: 0; padding: 16px; background: #f0f0f0; font-family: 'Segoe UI', 'DejaVu Sans', sans-serif; }
  #card { width: 560px; background: #fff; border-radius: 8px; box-shadow: 0 1px 4px rgba(0,0,0,.2); overflow: hidden; }
  .ac-pushButton { padding: 6px 12px; border: 1px solid #8a8886; border-radius: 4px; background: #fff; cursor: pointer; }
  .ac-pushButton.style-positive { background: #5b5fc7; color: #fff; border-color: #5b5fc7; }
  .ac-pushButton.style-destructive { background: #c4314b; color: #fff; border-color: #c4314b; }
  /* Hosts (Teams, web chat) break long unbroken output; the bare renderer leaves that to the page. */
  .ac-richTextBlock, .ac-textBlock { overflow-wrap: anywhere; }
  .ac-input { font: inherit; padding: 4px; }
</style>
</head>
<body>
<div id="card"></div>
<script>
  window.executed = [];
  window.showCard = (payload) => {
    const card = new AdaptiveCards.AdaptiveCard();
    card.hostConfig = new AdaptiveCards.HostConfig({ fontFamily: "'Segoe UI', 'DejaVu Sans', sans-serif" });
    card.onExecuteAction = (action) => {
      window.executed.push({ type: action.getJsonTypeName(), verb: action.verb === undefined ? null : action.verb, data: action.data });
    };
    window.executed = [];
    card.parse(payload);
    document.getElementById('card').replaceChildren(card.render());
  };
</script>
</body>
</html>`;

interface Executed {
  type: string;
  verb: string | null;
  data: Record<string, unknown>;
}

async function startServer(): Promise<{ server: Server; url: string }> {
  const files: Record<string, { type: string; body: string | Buffer }> = {
    '/': { type: 'text/html; charset=utf-8', body: PAGE },
    '/adaptivecards.js': { type: 'text/javascript', body: await readFile(path.join(ROOT, 'node_modules/adaptivecards/dist/adaptivecards.min.js')) },
    '/adaptivecards.css': { type: 'text/css', body: await readFile(path.join(ROOT, 'node_modules/adaptivecards/dist/adaptivecards.css')) },
  };
  const server = createServer((request, response) => {
    const file = files[new URL(request.url ?? '/', 'http://localhost').pathname];
    if (!file) {
      // restify, loaded by other tests in this process, patches writeHead so it cannot be chained.
      response.writeHead(404);
      response.end();
      return;
    }
    response.writeHead(200, { 'content-type': file.type });
    response.end(file.body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/` };
}

describe('cards: rendered by the adaptivecards JS renderer in headless Chromium', function () {
  this.timeout(60_000);
  let browser: Browser;
  let server: Server;
  let page: Page;
  const pageErrors: string[] = [];

  before(async () => {
    if (!existsSync(CHROMIUM)) {
      throw new Error(`Chromium is not installed at ${CHROMIUM}. Install Debian's package (apt-get install -y chromium; .ci/run does this) or set DEPUTY_CHROMIUM.`);
    }
    await mkdir(ARTIFACTS, { recursive: true });
    const started = await startServer();
    server = started.server;
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
    });
    page = await browser.newPage({ viewport: { width: 600, height: 800 } });
    page.on('pageerror', (error) => pageErrors.push(error.message));
    page.on('console', (message) => {
      if (message.type() === 'error') pageErrors.push(message.text());
    });
    await page.goto(started.url);
  });

  after(async () => {
    await browser?.close();
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  });

  afterEach(() => {
    assert.deepEqual(pageErrors.splice(0), [], 'the page logged errors');
  });

  async function show(card: AdaptiveCardJson): Promise<void> {
    await page.evaluate((payload) => (window as unknown as { showCard(card: unknown): void }).showCard(payload), card as unknown);
  }

  async function executed(): Promise<Executed[]> {
    return page.evaluate(() => (window as unknown as { executed: Executed[] }).executed);
  }

  for (const { name, screen } of everyScreen()) {
    it(`${name}: inputs and buttons rendered, screenshot kept`, async () => {
      const card = renderCard(screen, { actionStyle: 'submit' });
      await show(card);
      const expectedButtons = buttons(card).map((button) => String(button.title));
      const renderedButtons = await page.locator('#card button').allInnerTexts();
      assert.deepEqual(renderedButtons.map((text) => text.trim()), expectedButtons);

      const inputIds = ofType(card, 'Input.Text').concat(ofType(card, 'Input.Number'), ofType(card, 'Input.Date'), ofType(card, 'Input.Toggle'), ofType(card, 'Input.ChoiceSet'));
      const controls = await page.locator('#card input, #card select, #card textarea').count();
      assert.ok(controls >= inputIds.length, `${controls} controls for ${inputIds.length} inputs`);

      // The first text of the card (a heading is a text run when it holds outside text) is on the page.
      const [heading] = findAll(card, (item) => (item.type === 'TextBlock' || item.type === 'TextRun') && typeof item.text === 'string');
      assert.ok(heading);
      assert.ok((await page.locator('#card').innerText()).includes(String(heading.text)));
      await page.locator('#card').screenshot({ path: path.join(ARTIFACTS, `${name}.png`) });
    });
  }

  it('the form has one control of the right kind per field', async () => {
    await show(renderCard({ screen: 'action-form', formId: 'form-1', action: sampleAction() }, { actionStyle: 'submit' }));
    const count = (selector: string) => page.locator(`#card ${selector}`).count();
    assert.equal(await count('input[type=password]'), 1, 'secret');
    assert.equal(await count('input[type=number]'), 1, 'number');
    assert.equal(await count('input[type=date]'), 1, 'date');
    assert.equal(await count('select'), 1, 'single choice');
    assert.equal(await count('textarea'), 1, 'multi without choices');
    assert.equal(await count('input[type=checkbox]'), 1 + 3, 'toggle and the three multi-select choices');
    assert.equal(await count('input[type=text]'), 4, 'text fields');
    assert.equal(await page.getByLabel('Department').inputValue(), 'IT');
    assert.equal(await page.getByLabel('Days').inputValue(), '7');
  });

  it('submitting the form: the renderer refuses a bad pattern, then sends typed-back values', async () => {
    await show(renderCard({ screen: 'action-form', formId: 'form-1', action: sampleAction() }, { actionStyle: 'submit' }));
    await page.getByLabel('User name').fill('jdoe');
    await page.getByLabel('Employee id').fill('12');
    await page.getByLabel('New password').fill('correct horse');
    await page.getByLabel('Computers').fill('pc-1\npc-2');
    await page.getByRole('button', { name: 'Run' }).click();
    assert.deepEqual(await executed(), [], 'an employee id of two digits does not pass ^\\d{5}$');
    assert.ok((await page.locator('#card').innerText()).includes('Enter a value in the expected format.'));

    await page.getByLabel('Employee id').fill('12345');
    await page.getByRole('button', { name: 'Run' }).click();
    const [submitted] = await executed();
    assert.ok(submitted);
    assert.equal(submitted.type, 'Action.Submit');
    assert.equal(submitted.data.verb, 'submit-form');
    assert.equal(submitted.data.actionId, 'reset-user');
    assert.deepEqual(readFormValues({ fields: EVERY_KIND_FIELDS }, submitted.data), {
      UserName: 'jdoe',
      EmployeeId: '12345',
      Department: 'IT',
      Groups: ['VPN'],
      Computers: ['pc-1', 'pc-2'],
      Notify: true,
      Days: 7,
      StartDate: '2024-06-01',
      Password: 'correct horse',
    });
  });

  it('"Back to actions" works with required fields empty and sends no input values', async () => {
    await show(renderCard({ screen: 'action-form', formId: 'form-1', action: sampleAction() }, { actionStyle: 'submit' }));
    await page.getByRole('button', { name: 'Back to actions' }).click();
    const [back] = await executed();
    assert.deepEqual(back?.data, { verb: 'show-actions' });
    assert.ok(!Object.keys(back.data).some((key) => key.startsWith(formInputId(''))));
  });

  it('approving with a comment, as Action.Execute for Teams', async () => {
    const run = sampleRun({ state: 'awaiting-approval', approval: { required: true } });
    await show(renderCard({ screen: 'approval-request', run, requester: 'Alex', viewerMayDecide: true }, { actionStyle: 'execute', refreshUserIds: ['29:casey'] }));
    await page.getByLabel('Comment (optional)').fill('Looks right.');
    await page.getByRole('button', { name: 'Approve' }).click();
    assert.deepEqual(await executed(), [
      { type: 'Action.Execute', verb: 'decide-run', data: { runId: 'run_abc_123', decision: 'approve', comment: 'Looks right.' } },
    ]);
  });

  it('a viewer who may not decide gets no Approve or Reject button in the browser either', async () => {
    const run = sampleRun({ state: 'awaiting-approval', approval: { required: true } });
    await show(renderCard({ screen: 'approval-request', run, requester: 'Alex', viewerMayDecide: false }, { actionStyle: 'execute' }));
    assert.deepEqual((await page.locator('#card button').allInnerTexts()).map((text) => text.trim()), ['Show my options']);
    assert.equal(await page.locator('#card textarea, #card input').count(), 0);
  });
});
