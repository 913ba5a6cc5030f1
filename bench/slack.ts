/**
 * Slack ack time under load: 200 concurrent, correctly signed form submissions (view_submission)
 * against the real restify server with the real Bolt edge, the core played by a stand-in that
 * validates in a few milliseconds and then, like the real core, posts and updates the status
 * message after the ack. Goal: p99 below Slack's 3 s.
 */
import { ERRORS } from '../executor/contract/index.ts';
import type { BenchResult } from './executor.ts';
import { medianAndP99, percentile } from './stats.ts';
import { oooAction, run, ScriptedHandler } from '../test/bot/slack/fixtures.ts';
import { startHarness, viewSubmission, type Harness } from '../test/bot/slack/harness.ts';

const SUBMISSIONS = 200;
const GOAL_P99_MS = 3000;
/** How long the stand-in's runs take before their summary replaces the status. */
const RUN_SECONDS = 1;

export async function benchSlack(): Promise<BenchResult[]> {
  const handler = new ScriptedHandler(async (event) => {
    await new Promise((resolve) => setTimeout(resolve, 5));
    // After the answer, as the core does: the status message in the thread at once, its update when the run ends.
    void (async () => {
      const ts = await harness.edge.port.post(event.conversation, { screen: 'run-status', run: run({ state: 'queued' }), canCancel: true });
      await new Promise((resolve) => setTimeout(resolve, RUN_SECONDS * 1000));
      await harness.edge.port.update(event.conversation, ts, { screen: 'run-summary', run: run({ state: 'succeeded' }), canShowAll: false });
    })().catch(() => undefined);
    return { immediate: { screen: 'notice', text: ERRORS.DEPUTY_E_BUSY.message } };
  });
  // The handler only runs once requests arrive, after `harness` exists.
  const harness: Harness = await startHarness(handler);
  try {
    const fields = Object.fromEntries(oooAction.form.fields.map((field) => [field.name, field.kind]));
    const submissions = Array.from({ length: SUBMISSIONS }, (_, index) => {
      const metadata = JSON.stringify({
        conversation: { channel: 'slack', conversationId: 'C1', threadId: `1767225600.${String(index).padStart(6, '0')}`, platform: { teamId: 'T1', userId: 'U1' } },
        actionId: oooAction.id,
        fields,
      });
      return viewSubmission(metadata, { 'field:Mailbox': { type: 'plain_text_input', value: `user${index}@contoso.com` } });
    });
    const answers = await Promise.all(submissions.map((payload) => harness.interaction(payload)));
    const failures = answers.filter((answer) => answer.status !== 200).length;
    const times = answers.map((answer) => answer.ms);
    const p99 = percentile(times, 99);
    await new Promise((resolve) => setTimeout(resolve, RUN_SECONDS * 1000 + 500));
    return [
      {
        name: `Slack ack time, ${SUBMISSIONS} concurrent signed submissions`,
        lines: [`${medianAndP99(times)} (goal p99 < ${GOAL_P99_MS} ms)`, `non-200 answers: ${failures}`],
        pass: failures === 0 && p99 < GOAL_P99_MS,
      },
    ];
  } finally {
    await harness.close();
  }
}
