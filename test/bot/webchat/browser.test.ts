/**
 * What a new user does in the first five minutes, in a real browser (Debian's chromium via
 * playwright-core): open the local web chat, pick the helpdesk persona, ask for help, open an
 * action, fill its form, run it and see the summary card; then, as the read-only persona, see
 * nothing to run. Screenshots go to test-artifacts/webchat/ (looked at, not compared).
 */
import { strict as assert } from 'node:assert';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { PROJECT_ROOT } from '../../../executor/pwsh/locate.ts';
import { EXAMPLE_CATALOG_FOLDER } from '../../helpers/executor.ts';
import { startBotHarness, type BotHarness } from './harness.ts';

const CHROMIUM = '/usr/bin/chromium';
const ARTIFACTS = join(PROJECT_ROOT, 'test-artifacts', 'webchat');

describe('web chat in a browser', function () {
  this.timeout(120_000);
  let harness: BotHarness;
  let browser: Browser;
  let page: Page;

  before(async () => {
    assert.ok(existsSync(CHROMIUM), `${CHROMIUM} is needed (apt-get install chromium)`);
    mkdirSync(ARTIFACTS, { recursive: true });
    // The example catalog, as a new user meets it with `npm start`.
    harness = await startBotHarness({ catalog: EXAMPLE_CATALOG_FOLDER });
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
    });
    const context = await browser.newContext({ viewport: { width: 1000, height: 1100 } });
    // Nothing may come from outside this machine: the page must work offline.
    await context.route(/^(?!http:\/\/127\.0\.0\.1)/, (route) => route.abort());
    page = await context.newPage();
  });

  after(async () => {
    await browser?.close();
    await harness?.close();
  });

  const shot = (name: string) => page.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage: true });
  const chat = () => page.locator('#webchat');

  async function say(text: string): Promise<void> {
    const box = chat().getByPlaceholder('Type "help" to see what you can run');
    await box.fill(text);
    await box.press('Enter');
  }

  it('says it is a local demo and offers the personas', async () => {
    await page.goto(harness.bot.webChat?.url ?? `${harness.bot.url}/`);
    await page.getByText('Demo mode: local only').waitFor();
    const personas = await page.locator('#persona option').evaluateAll((options) => options.map((option) => (option as HTMLOptionElement).value));
    assert.ok(personas.includes('alex') && personas.includes('rita'), JSON.stringify(personas));
    assert.ok(await page.evaluate(() => typeof (window as unknown as { WebChat?: unknown }).WebChat === 'object'), 'the Web Chat bundle loaded from the bot');
    await shot('01-page');
  });

  it('runs an action with a form as the helpdesk persona and shows the summary card', async () => {
    await page.selectOption('#persona', 'alex');
    await page.getByText('Connected as alex').waitFor();
    await say('help');
    const title = 'Set an out-of-office reply';
    const listCard = chat().locator('.ac-adaptiveCard').filter({ hasText: title }).last();
    await listCard.waitFor();
    await shot('02-actions');

    // The "Open" button of that action: the one in the nearest element around its title that has a button.
    await listCard.locator(`xpath=.//*[normalize-space(text())="${title}"]/ancestor::*[.//button][1]//button`).click();

    const userField = chat().getByRole('textbox', { name: /^User/ }).last();
    await userField.waitFor();
    await userField.fill('uma.schulz@contoso.example');
    await chat().getByRole('textbox', { name: /^Reply text/ }).last().fill('Back on Monday, written in a browser test.');
    await shot('03-form');
    await chat().getByRole('button', { name: 'Run' }).last().click();

    await chat().getByText(/Succeeded/).last().waitFor({ timeout: 60_000 });
    await chat().getByText(/uma\.schulz@contoso\.example/).first().waitFor();
    await shot('04-summary');
    assert.equal(await chat().getByRole('button', { name: 'Cancel run' }).count(), 0, 'the status card was replaced by the summary');
  });

  it('uploads a .ps1 with Web Chat’s own upload button, then creates it as a Draft script from the card', async () => {
    const script = 'param([Parameter(Mandatory)][string]$Printer)\n"Restarting the spooler for $Printer"\n';
    // Web Chat's upload button opens a file picker and stages the file; Send posts it through
    // DirectLineJS's real upload path (multipart: the activity and the file).
    await chat().locator('input[type="file"]').setInputFiles({ name: 'Restart-Spooler.ps1', mimeType: 'text/plain', buffer: Buffer.from(script) });
    await chat().getByRole('button', { name: /^Send/ }).click();
    const card = chat().locator('.ac-adaptiveCard').filter({ hasText: 'Script file: Restart-Spooler.ps1' }).last();
    await card.waitFor({ timeout: 60_000 });
    await card.getByText('Printer', { exact: false }).first().waitFor();
    await shot('05-upload');
    await card.getByRole('button', { name: 'Create in hamburg' }).click();
    await chat().locator('.ac-adaptiveCard').filter({ hasText: 'Review: Restart-Spooler' }).last().waitFor({ timeout: 60_000 });
    await shot('06-created');
    const stored = await harness.executor.api('/v1/scripts/restart-spooler?principal=alex');
    assert.equal(stored.status, 200);
    assert.equal(((await stored.json()) as { status: string }).status, 'draft');
  });

  it('offers nothing to run to the read-only persona', async () => {
    await page.selectOption('#persona', 'rita');
    await page.getByText('Connected as rita').waitFor();
    // A new persona starts their own conversation, which opens with a welcome card.
    await chat().getByText(/Hello, Rita/).waitFor();
    assert.equal(await chat().getByText(/Set an out-of-office reply/).count(), 0, 'nothing of Alex’s conversation');
    await say('help');
    await chat().getByText(/Actions for Rita/).waitFor();
    await shot('05-read-only');
    assert.equal(await chat().getByRole('button', { name: 'Open' }).count(), 0, 'no runnable action');
  });

  it('keeps each persona’s conversation: switching back and reloading show Alex his outcome', async () => {
    await page.selectOption('#persona', 'alex');
    await page.getByText('Connected as alex').waitFor();
    // The summary is still there after a switch (Web Chat replays the conversation, newest version of each card last).
    await chat().getByText(/uma\.schulz@contoso\.example/).first().waitFor();
    await chat().getByText(/Succeeded/).first().waitFor();

    await page.reload();
    await page.getByText('Connected as alex').waitFor();
    assert.equal(await page.locator('#persona').inputValue(), 'alex', 'the page picks the persona chosen last');
    await chat().getByText(/uma\.schulz@contoso\.example/).first().waitFor();
    await chat().getByText(/Succeeded/).first().waitFor();
    assert.equal(await chat().getByText(/Hello, Alex/).count(), 1, 'greeted once, not on every reload');
    await shot('06-after-reload');

    // "runs" lists what Alex ran; Open shows the run's card again with its result.
    await say('runs');
    const list = chat().locator('.ac-adaptiveCard').filter({ hasText: 'Your recent runs' }).last();
    await list.waitFor();
    const cards = await chat().locator('.ac-adaptiveCard').count();
    await list.getByRole('button', { name: 'Open' }).first().click();
    await page.waitForFunction((before) => document.querySelectorAll('#webchat .ac-adaptiveCard').length > before, cards);
    await chat().locator('.ac-adaptiveCard').last().getByText(/Succeeded/).waitFor();
    await shot('07-run-reopened');
  });

  it('keeps the persona picker visible on a 400 px wide screen', async () => {
    await page.setViewportSize({ width: 400, height: 800 });
    const picker = page.locator('#persona');
    await picker.waitFor();
    const box = await picker.boundingBox();
    assert.ok(box && box.x >= 0 && box.x + box.width <= 400 && box.y + box.height <= 800, JSON.stringify(box));
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
    assert.ok(overflow <= 0, `the page scrolls sideways by ${overflow} px`);
    await shot('08-narrow');
  });
});
