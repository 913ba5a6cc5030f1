import assert from 'node:assert/strict';
import { ManualClock } from '../../../lib/clock.ts';
import { InProcessEventStream } from '../../../executor/event-stream.ts';
import { EventBus, type ExecutorEvent } from '../../../executor/events.ts';
import { planEventFixture as planEvent } from './fixtures.ts';

describe('in-process event stream', () => {
  it('publishes through the bus, numbers in order, and resumes after a seq', async () => {
    const stream = new InProcessEventStream(new EventBus(new ManualClock(1000), 3));
    const seen: ExecutorEvent[] = [];
    const unsubscribe = stream.subscribe((event) => seen.push(event));
    const first = await stream.publish(planEvent('a'));
    const second = await stream.publish(planEvent('b'));
    assert.equal(second.seq, first.seq + 1);
    assert.deepEqual(seen, [first, second]);
    unsubscribe();
    await stream.publish(planEvent('c'));
    await stream.publish(planEvent('d'));
    assert.equal(seen.length, 2);
    // The bus keeps 3 events: a client that fell further behind gets what is left.
    assert.deepEqual((await stream.since(first.seq)).map((event) => (event.type === 'plan.missed' ? event.plan.id : '')), ['b', 'c', 'd']);
    assert.deepEqual((await stream.since(0, 1)).map((event) => event.seq), [second.seq]);
  });
});
