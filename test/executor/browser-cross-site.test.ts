/**
 * A hostile web page against a default install, in a real browser (Debian's chromium via
 * playwright-core): the page (served from another site, http://localhost) posts plain HTML
 * forms and a no-cors fetch at the executor on 127.0.0.1, with every body a page can send
 * without asking (urlencoded, multipart, text/plain holding JSON) and the path spelled so a
 * raw-path check would miss it. The requests arrive, are refused, and start nothing.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { chromium, type Browser } from 'playwright-core';
import { startTestExecutor, type TestExecutor } from '../helpers/executor.ts';

const CHROMIUM = '/usr/bin/chromium';

function attackPage(executorUrl: string, runId: string): string {
  const forms = [
    ['urlencoded', '/%76%31/runs', 'application/x-www-form-urlencoded'],
    ['multipart', '/%76%31/runs', 'multipart/form-data'],
    ['text', '/v%31/runs', 'text/plain'],
    ['plain-path', '/v1/runs', 'application/x-www-form-urlencoded'],
    ['decision', `/%761/runs/${runId}/decision`, 'application/x-www-form-urlencoded'],
  ];
  const fields = (name: string) =>
    name === 'text'
      ? // text/plain sends `name=value`: this pair makes the body read as JSON.
        `<input name='{"actionId":"echo","principalId":"alex","inputs":{"Message":"from a page"},"x":"' value='"}'>`
      : name === 'decision'
        ? '<input name="principalId" value="cyra"><input name="decision" value="approve">'
        : '<input name="actionId" value="echo"><input name="principalId" value="alex"><input name="inputs[Message]" value="from a page">';
  return `<!doctype html><html><body>
${forms
  .map(([name, path, enctype]) => `<iframe name="sink-${name}"></iframe><form id="${name}" method="POST" action="${executorUrl}${path}" enctype="${enctype}" target="sink-${name}">${fields(name ?? '')}</form>`)
  .join('\n')}
<script>
  window.attack = async () => {
    for (const form of document.forms) form.submit();
    await fetch(${JSON.stringify(`${executorUrl}/%76%31/runs`)}, { method: 'POST', mode: 'no-cors', headers: { 'content-type': 'text/plain' },
      body: JSON.stringify({ actionId: 'echo', principalId: 'alex', inputs: { Message: 'from fetch' } }) }).catch(() => undefined);
  };
</script></body></html>`;
}

describe('a hostile web page cannot use the executor (real chromium)', function () {
  this.timeout(120_000);
  let executor: TestExecutor;
  let browser: Browser;
  let site: Server;
  let pendingRun: string;

  before(async () => {
    assert.ok(existsSync(CHROMIUM), `${CHROMIUM} is needed (apt-get install chromium)`);
    executor = await startTestExecutor();
    // A four-eyes run waiting for approval: the decision form tries to approve it.
    const created = await executor.api('/v1/runs', { method: 'POST', json: { actionId: 'echo-four-eyes', principalId: 'alex', inputs: { Message: 'needs approval' } } });
    assert.equal(created.status, 202, await created.clone().text());
    pendingRun = ((await created.json()) as { id: string }).id;
    site = createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      res.end(attackPage(executor.url, pendingRun));
    });
    await new Promise<void>((resolve) => site.listen(0, '127.0.0.1', resolve));
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
    });
  });
  after(async () => {
    await browser?.close();
    site?.close();
    await executor?.dispose();
  });

  it('posts forms and a no-cors fetch cross-site: every one arrives, is refused, and nothing runs or is decided', async () => {
    const context = await browser.newContext();
    // Nothing may leave this machine.
    await context.route(/^(?!http:\/\/(127\.0\.0\.1|localhost)[:/])/, (route) => route.abort());
    const page = await context.newPage();
    const runsBefore = (await executor.store.runs.list({ limit: 500 })).length;
    await page.goto(`http://localhost:${(site.address() as AddressInfo).port}/`);
    await page.evaluate(() => (window as unknown as { attack: () => Promise<void> }).attack());

    const refusedFromBrowser = async () => (await executor.store.audit.read({ limit: 10_000 })).filter((entry) => entry.type === 'http.refused');
    const somethingHappened = async () => (await executor.store.runs.list({ limit: 500 })).length > runsBefore || (await executor.runs.get(pendingRun))?.state !== 'awaiting-approval';
    // Until all six requests were refused, or one of them got through.
    const deadline = Date.now() + 30_000;
    while ((await refusedFromBrowser()).length < 6 && !(await somethingHappened()) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
    assert.equal((await executor.store.runs.list({ limit: 500 })).length, runsBefore, 'no run was started');
    assert.equal((await executor.runs.get(pendingRun))?.state, 'awaiting-approval', 'the pending run was not decided');

    const refused = await refusedFromBrowser();
    assert.equal(refused.length, 6, JSON.stringify(refused.map((entry) => [entry.subject, entry.detail.code])));
    assert.ok(refused.every((entry) => entry.detail.code === 'DEPUTY_E_UNAUTHENTICATED'));
    assert.deepEqual([...new Set(refused.map((entry) => entry.subject))].sort(), ['/v1/runs', '/v1/runs/:id/decision'], 'refused on the routes they reached');
    await context.close();
  });
});
