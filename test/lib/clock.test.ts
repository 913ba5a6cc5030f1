import assert from 'node:assert/strict';
import { ManualClock } from '../../lib/clock.ts';

describe('ManualClock', () => {
  it('moves only when told', () => {
    const clock = new ManualClock(1000);
    assert.equal(clock.now(), 1000);
    clock.advance(500);
    assert.equal(clock.now(), 1500);
  });
});
