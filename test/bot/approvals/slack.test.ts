/**
 * Approvals through the real Slack edge (Bolt on restify, signed requests, the fake Slack Web
 * API on loopback) with the real bot core and a real executor (real pwsh).
 */
import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FileConversations } from '../../../bot/store/port.ts';
import { BotCore } from '../../../bot/core/core.ts';
import { ExecutorClient } from '../../../bot/core/executor-client.ts';
import { actionIdFor } from '../../../bot/slack/blocks.ts';
import { ERRORS } from '../../../executor/contract/index.ts';
import { systemClock } from '../../../lib/clock.ts';
import { silentLogger } from '../../../lib/logger.ts';
import { startTestExecutor, type TestExecutor } from '../../helpers/executor.ts';
import { buttonOnMessage, startHarness, type Harness } from '../slack/harness.ts';
import { APPROVALS_CATALOG } from './flows.ts';

describe('approvals in chat: Slack', function () {
  this.timeout(60_000);
  let executor: TestExecutor;
  let core: BotCore;
  let slack: Harness;
  let dataDir: string;

  before(async () => {
    executor = await startTestExecutor({ catalog: APPROVALS_CATALOG });
    dataDir = mkdtempSync(join(tmpdir(), 'deputy-slack-approvals-'));
    const conversations = await FileConversations.open(join(dataDir, 'conversations.json'));
    core = new BotCore({
      executor: new ExecutorClient({ baseUrl: executor.url, token: executor.token }),
      logger: silentLogger(),
      clock: systemClock,
      conversations,
      eventBackoffMs: { initial: 50, max: 400 },
    });
    slack = await startHarness(core);
    core.attach({ channel: 'slack', port: slack.edge.port });
    await core.start();
  });
  after(async () => {
    await slack?.close();
    await core?.close();
    await executor?.dispose();
    rmSync(dataDir, { recursive: true, force: true });
  });

  async function requestRun(principalId: string, who: string): Promise<string> {
    const response = await executor.api('/v1/runs', { method: 'POST', json: { actionId: 'greet-four-eyes', principalId, inputs: { Who: who }, origin: { kind: 'api' } } });
    assert.equal(response.status, 202, await response.clone().text());
    return ((await response.json()) as { id: string }).id;
  }

  it('refuses the requester’s own Approve with the executor’s message, shown only to them', async () => {
    const runId = await requestRun('alex', 'myself');
    const before = slack.slack.callsTo('chat.postEphemeral').length;
    await slack.interaction(buttonOnMessage(actionIdFor('decide-run'), { runId, decision: 'approve' }, { ts: '1767268800.000200' }, 'U-ALEX'));
    const refusal = (await slack.slack.waitFor('chat.postEphemeral', before + 1)).at(-1);
    assert.equal(refusal?.args['user'], 'U-ALEX');
    assert.match(String(refusal?.args['text']), new RegExp(ERRORS.DEPUTY_E_SELF_APPROVAL.message.replace(/[.;]/g, '\\$&')));
    assert.equal((await executor.store.runs.get(runId))?.state, 'awaiting-approval');
    assert.ok(!slack.slack.callsTo('chat.update').some((call) => call.args['ts'] === '1767268800.000200'), 'the card is not replaced by the refusal');
  });

  it('shows an approver the scripts to review and the runs to approve on App Home; Approve on a review message decides it in place', async () => {
    const hash = executor.store.catalog.getScript('tool')?.currentHash ?? '';
    const moved = await executor.api('/v1/scripts/tool/status', { method: 'POST', json: { principalId: 'cyra', to: 'testing', hash } });
    assert.equal(moved.status, 200, await moved.clone().text());
    const runId = await requestRun('alex', 'home');

    const published = slack.slack.callsTo('views.publish').length;
    await slack.event({ type: 'app_home_opened', user: 'U-CARL', channel: 'D-CARL', tab: 'home', event_ts: '1767225600.000100' });
    const home = (await slack.slack.waitFor('views.publish', published + 1)).at(-1);
    const text = JSON.stringify(home?.args['view']);
    assert.match(text, /Scripts to review \(1\)/);
    assert.match(text, /Tool/);
    assert.match(text, /Waiting for your decision/);
    assert.ok(text.includes(runId), 'the run waiting for carl is listed');

    const alexHome = slack.slack.callsTo('views.publish').length;
    await slack.event({ type: 'app_home_opened', user: 'U-ALEX', channel: 'D-ALEX', tab: 'home', event_ts: '1767225600.000200' });
    const alexView = JSON.stringify((await slack.slack.waitFor('views.publish', alexHome + 1)).at(-1)?.args['view']);
    assert.doesNotMatch(alexView, /Scripts to review|Waiting for your decision/, 'an administrator reviews no scripts and never decides their own run');

    await slack.interaction(buttonOnMessage(actionIdFor('decide-script'), { scriptId: 'tool', versionHash: hash, decision: 'approve' }, { ts: '1767268800.000300' }, 'U-CARL'));
    const update = (await slack.slack.waitFor('chat.update')).find((call) => call.args['ts'] === '1767268800.000300');
    assert.match(JSON.stringify(update?.args['blocks']), /Approved by Carl/);
    assert.equal(executor.store.catalog.getScript('tool')?.status, 'approved');
  });
});
