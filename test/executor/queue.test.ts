import assert from 'node:assert/strict';
import { DeputyError } from '../../executor/contract/index.ts';
import { RunQueue } from '../../executor/runs/queue.ts';

function deferred() {
  let resolve: () => void = () => undefined;
  const promise = new Promise<void>((done) => (resolve = done));
  return { promise, resolve };
}

describe('run queue', () => {
  it('runs at most `concurrency` at once, in order', async () => {
    const queue = new RunQueue({ concurrency: 2, maxQueued: 10, maxQueuedPerPrincipal: 10 });
    const started: string[] = [];
    const gates = new Map<string, ReturnType<typeof deferred>>();
    for (const id of ['a', 'b', 'c', 'd']) {
      const gate = deferred();
      gates.set(id, gate);
      queue.enqueue(id, 'p', async () => {
        started.push(id);
        await gate.promise;
      });
    }
    assert.deepEqual(started, ['a', 'b']);
    assert.equal(queue.running, 2);
    assert.equal(queue.depth, 2);
    gates.get('a')?.resolve();
    await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(started, ['a', 'b', 'c']);
    for (const gate of gates.values()) gate.resolve();
    await queue.idle();
    assert.deepEqual(started, ['a', 'b', 'c', 'd']);
  });

  it('says busy beyond the total and the per-principal caps', () => {
    const queue = new RunQueue({ concurrency: 1, maxQueued: 3, maxQueuedPerPrincipal: 2 });
    const never = () => new Promise<void>(() => undefined);
    queue.enqueue('running', 'p', never);
    queue.enqueue('q1', 'p', never);
    queue.enqueue('q2', 'p', never);
    assert.throws(() => queue.assertRoom('p'), (error: unknown) => error instanceof DeputyError && error.code === 'DEPUTY_E_BUSY');
    queue.assertRoom('other');
    queue.enqueue('q3', 'other', never);
    assert.throws(() => queue.assertRoom('another'), (error: unknown) => error instanceof DeputyError && error.code === 'DEPUTY_E_BUSY');
  });

  it('removes a waiting run and frees its place', () => {
    const queue = new RunQueue({ concurrency: 1, maxQueued: 5, maxQueuedPerPrincipal: 1 });
    const never = () => new Promise<void>(() => undefined);
    queue.enqueue('running', 'p', never);
    queue.enqueue('waiting', 'p', never);
    assert.throws(() => queue.assertRoom('p'));
    assert.equal(queue.remove('waiting'), true);
    assert.equal(queue.remove('waiting'), false);
    queue.assertRoom('p');
  });
});
