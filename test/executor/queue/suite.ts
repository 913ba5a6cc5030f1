/**
 * What every RunQueue (executor/queue/port.ts) must do: the in-process queue and the pg-boss
 * queue each run it.
 */
import assert from 'node:assert/strict';
import { isDeputyError } from '../../../executor/contract/index.ts';
import type { QueueCaps, QueuedRun, RunQueue } from '../../../executor/queue/port.ts';

export type QueueFactory = (options: QueueCaps & { concurrency: number }) => Promise<RunQueue>;

export function gate(): { opened: Promise<void>; open(): void } {
  let open = () => {};
  const opened = new Promise<void>((resolve) => (open = resolve));
  return { opened, open };
}

export async function until(condition: () => boolean | Promise<boolean>, what: string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

const busy = (error: unknown) => isDeputyError(error) && error.code === 'DEPUTY_E_BUSY';

export function queueSuite(name: string, makeQueue: QueueFactory): void {
  describe(`run queue suite: ${name}`, () => {
    const queues: RunQueue[] = [];
    const gates: Array<{ open(): void }> = [];
    const make = async (options: QueueCaps & { concurrency: number }) => {
      const queue = await makeQueue(options);
      queues.push(queue);
      return queue;
    };

    afterEach(async () => {
      for (const held of gates.splice(0)) held.open();
      await Promise.all(queues.splice(0).map((queue) => queue.close()));
    });

    it('runs each queued run once, with its secrets, at most `concurrency` at a time', async () => {
      const queue = await make({ concurrency: 2, maxQueued: 100, maxQueuedPerPrincipal: 100 });
      const executed: QueuedRun[] = [];
      let running = 0;
      let most = 0;
      const release = gate();
      gates.push(release);
      await queue.work(async (run) => {
        running += 1;
        most = Math.max(most, running);
        executed.push(run);
        await release.opened;
        running -= 1;
      });
      for (let index = 0; index < 6; index += 1) await queue.enqueue({ runId: `run_${index}`, principalId: 'alex', secrets: { Password: `s3cret-${index}` } });
      await until(() => executed.length === 2, 'two runs to start');
      assert.equal(await queue.depth(), 4);
      release.open();
      await until(() => executed.length === 6 && running === 0, 'all runs to finish');
      assert.equal(most, 2);
      assert.deepEqual(executed.map((run) => run.runId).sort(), ['run_0', 'run_1', 'run_2', 'run_3', 'run_4', 'run_5']);
      for (const run of executed) assert.deepEqual(run.secrets, { Password: `s3cret-${run.runId.slice(4)}` });
      assert.equal(await queue.depth(), 0);
    });

    it('says busy beyond the total and the per-principal caps, and frees a place when a run starts', async () => {
      const queue = await make({ concurrency: 1, maxQueued: 3, maxQueuedPerPrincipal: 2 });
      const started: string[] = [];
      const release = gate();
      gates.push(release);
      await queue.work(async (run) => {
        started.push(run.runId);
        await release.opened;
      });
      await queue.enqueue({ runId: 'first', principalId: 'alex' });
      await until(() => started.length === 1, 'the first run to start');
      await queue.enqueue({ runId: 'q1', principalId: 'alex' });
      await queue.enqueue({ runId: 'q2', principalId: 'alex' });
      await assert.rejects(queue.enqueue({ runId: 'q3', principalId: 'alex' }), busy);
      await queue.enqueue({ runId: 'q4', principalId: 'casey' });
      await assert.rejects(queue.enqueue({ runId: 'q5', principalId: 'dana' }), busy);
      assert.equal(await queue.depth(), 3);
      release.open();
      await until(() => started.length === 4, 'the waiting runs to start');
      assert.deepEqual(started.slice(1).sort(), ['q1', 'q2', 'q4']);
    });

    it('removes a waiting run, which then never runs', async () => {
      const queue = await make({ concurrency: 1, maxQueued: 10, maxQueuedPerPrincipal: 10 });
      const started: string[] = [];
      const release = gate();
      gates.push(release);
      await queue.work(async (run) => {
        started.push(run.runId);
        await release.opened;
      });
      await queue.enqueue({ runId: 'busy', principalId: 'alex' });
      await until(() => started.length === 1, 'the first run to start');
      await queue.enqueue({ runId: 'doomed', principalId: 'alex' });
      await queue.enqueue({ runId: 'kept', principalId: 'alex' });
      assert.equal(await queue.remove('doomed'), true);
      assert.equal(await queue.remove('doomed'), false);
      assert.equal(await queue.remove('busy'), false);
      assert.equal(await queue.depth(), 1);
      release.open();
      await until(() => started.includes('kept'), 'the kept run to start');
      await queue.close();
      assert.deepEqual(started, ['busy', 'kept']);
    });
  });
}
