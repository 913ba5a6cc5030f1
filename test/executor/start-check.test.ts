/**
 * A queued run is checked again when it starts (issue 14 item 10): the script may have been
 * withdrawn, its stored text changed, or the requester lost the right while the run waited in
 * the queue or across a restart. Real executor, real pwsh.
 */
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { RunEvent, RunView } from '../../executor/contract/index.ts';
import type { CatalogSnapshot } from '../../executor/store/port.ts';
import { removeDataFolder, startTestExecutor, type TestExecutor } from '../helpers/executor.ts';

async function submit(executor: TestExecutor, actionId: string, principalId: string, inputs: Record<string, unknown>): Promise<string> {
  const response = await executor.api('/v1/runs', { method: 'POST', json: { actionId, principalId, inputs, origin: { kind: 'api' } } });
  assert.equal(response.status, 202, await response.clone().text());
  return ((await response.json()) as { id: string }).id;
}

async function waitForState(executor: TestExecutor, id: string, state: RunView['state']): Promise<void> {
  const deadline = Date.now() + 30_000;
  while ((await executor.store.runs.get(id))?.state !== state) {
    if (Date.now() > deadline) throw new Error(`run ${id} never became ${state}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

const startDenials = async (executor: TestExecutor, runId: string) =>
  (await executor.store.audit.read({ limit: 10_000 })).filter((entry) => entry.type === 'run.start' && entry.subject === runId && entry.outcome === 'denied');

describe('a queued run is checked again when it starts', function () {
  this.timeout(90_000);

  it('ends rejected, audited and announced to the requester when its script was withdrawn while it waited', async () => {
    const executor = await startTestExecutor({ config: { maxConcurrentRuns: 1 } });
    const finished: RunEvent[] = [];
    const unsubscribe = executor.events.subscribe((event) => {
      if (event.type === 'run.finished') finished.push(event);
    });
    try {
      const blocker = await submit(executor, 'sleep-long', 'alex', { Seconds: 60 });
      await waitForState(executor, blocker, 'running');
      const waiting = await submit(executor, 'echo', 'alex', { Message: 'withdrawn text must not run' });
      assert.equal((await executor.store.runs.get(waiting))?.state, 'queued');

      const echo = executor.store.catalog.getScript('echo') ?? assert.fail('echo script');
      await executor.scripts.changeStatus('echo', { principalId: 'cyra', to: 'draft', from: 'approved', hash: echo.currentHash }, { correlationId: 'test-withdraw-echo', via: 'test' });
      assert.equal((await executor.api(`/v1/runs/${blocker}/cancel`, { method: 'POST', json: { principalId: 'alex' } })).status, 202);

      const run = await executor.waitForRun(waiting);
      assert.equal(run.state, 'rejected');
      assert.equal(run.summary, undefined, 'nothing ran');
      assert.equal(run.error?.message, 'This run was not started: the script of "Echo a message" was withdrawn after you asked.');
      assert.deepEqual(await executor.store.runs.readOutput(waiting), []);
      const [denied, ...more] = await startDenials(executor, waiting);
      assert.equal(more.length, 0);
      assert.equal(denied?.detail.reason, `script "echo" was withdrawn: version ${echo.currentHash.slice(0, 12)} is draft now`);
      assert.equal(denied?.correlationId, run.correlationId);
      // The requester hears of it through the final-state event the bot turns into a notification.
      const event = finished.find((candidate) => candidate.run.id === waiting);
      assert.equal(event?.run.state, 'rejected');
      assert.ok(event?.notify.includes('alex'));
    } finally {
      unsubscribe();
      await executor.dispose();
    }
  });

  it('after a restart, rejects queued runs whose script was withdrawn or whose stored text no longer has its hash', async () => {
    const first = await startTestExecutor();
    const doneId = await submit(first, 'echo', 'alex', { Message: 'before' });
    await first.waitForRun(doneId);
    const echoTemplate = (await first.store.runs.get(doneId)) ?? assert.fail('run');
    const sleep = first.store.catalog.getScript('sleep') ?? assert.fail('sleep script');
    await first.close();

    const now = new Date().toISOString();
    const queued = (id: string, extra: Record<string, unknown>) => ({ ...echoTemplate, id, state: 'queued', updatedAt: now, summary: undefined, endedAt: undefined, ...extra });
    const lines = [
      queued('run_queued_withdrawn', { inputs: { Message: 'withdrawn' } }),
      queued('run_queued_tampered', { actionId: 'sleep', actionTitle: 'Sleep a while', scriptId: 'sleep', scriptHash: sleep.currentHash, inputs: { Seconds: 0 } }),
    ];
    writeFileSync(join(first.dataDir, 'runs.jsonl'), lines.map((line) => JSON.stringify(line)).join('\n') + '\n', { flag: 'a' });
    // While it was down: the echo script went back to Draft, and someone edited the stored text of sleep's version.
    const catalogPath = join(first.dataDir, 'catalog.json');
    const catalog = JSON.parse(readFileSync(catalogPath, 'utf8')) as CatalogSnapshot;
    for (const script of catalog.scripts) if (script.id === 'echo') script.status = 'draft';
    for (const version of catalog.versions) if (version.hash === sleep.currentHash) version.text = `Get-Content /etc/passwd\n${version.text}`;
    writeFileSync(catalogPath, JSON.stringify(catalog));

    const second = await startTestExecutor({ dataDir: first.dataDir });
    try {
      const withdrawn = await second.waitForRun('run_queued_withdrawn');
      assert.equal(withdrawn.state, 'rejected');
      assert.match(withdrawn.error?.message ?? '', /was withdrawn after you asked/);
      const tampered = await second.waitForRun('run_queued_tampered');
      assert.equal(tampered.state, 'rejected');
      assert.equal(tampered.error?.message, 'This run was not started: the stored script does not match the version that was requested.');
      assert.equal((await startDenials(second, 'run_queued_tampered'))[0]?.detail.reason, `the stored text of version ${sleep.currentHash} does not have that hash`);
    } finally {
      await second.dispose();
      removeDataFolder(first.dataDir);
    }
  });

  it('rejects a run whose requester lost the right while it waited, and runs one whose script only got a new draft text', async () => {
    const executor = await startTestExecutor({ config: { maxConcurrentRuns: 1 } });
    try {
      const blocker = await submit(executor, 'sleep-long', 'alex', { Seconds: 60 });
      await waitForState(executor, blocker, 'running');
      const demoted = await submit(executor, 'echo', 'bea', { Message: 'bea lost her role' });
      const kept = await submit(executor, 'echo', 'alex', { Message: 'the approved version still runs' });

      const snapshot = executor.store.catalog.snapshot();
      const echo = snapshot.scripts.find((script) => script.id === 'echo') ?? assert.fail('echo script');
      const draftText = `${snapshot.versions.find((version) => version.hash === echo.currentHash)?.text ?? ''}\n# a change waiting for review\n`;
      const draftHash = 'd'.repeat(64);
      await executor.store.catalog.replace({
        ...snapshot,
        principals: snapshot.principals.map((principal) => (principal.id === 'bea' ? { ...principal, roles: ['read-only'] } : principal)),
        // A new text sends the script back to Draft; its approved hash stays approved (it never changes under anyone's feet).
        scripts: snapshot.scripts.map((script) => (script.id === 'echo' ? { ...script, status: 'draft', currentHash: draftHash, approvedHash: echo.currentHash, versions: [...script.versions, draftHash] } : script)),
        versions: [...snapshot.versions, { hash: draftHash, scriptId: 'echo', text: draftText, parameters: [], createdAt: new Date().toISOString() }],
      });
      assert.equal((await executor.api(`/v1/runs/${blocker}/cancel`, { method: 'POST', json: { principalId: 'alex' } })).status, 202);

      const refused = await executor.waitForRun(demoted);
      assert.equal(refused.state, 'rejected');
      assert.equal(refused.error?.message, 'This run was not started: you may no longer run this action.');
      assert.equal(refused.error?.code, 'DEPUTY_E_FORBIDDEN');
      const ran = await executor.waitForRun(kept);
      assert.equal(ran.state, 'succeeded');
      assert.deepEqual(ran.summary?.lines, ['the approved version still runs']);
    } finally {
      await executor.dispose();
    }
  });
});
