/**
 * Two schedulers on one plan state (two executors whose ticks met, e.g. while the duty lease
 * changed hands): the state moves by compare-and-set before a fire, so a fire time runs once.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ManualClock } from '../../../lib/clock.ts';
import { silentLogger } from '../../../lib/logger.ts';
import type { CreateRunRequest } from '../../../executor/contract/index.ts';
import type { Plan, RunRecord } from '../../../executor/domain.ts';
import { InProcessEventStream } from '../../../executor/event-stream.ts';
import { EventBus } from '../../../executor/events.ts';
import { PlanScheduler } from '../../../executor/plans/scheduler.ts';
import { PlanStateSchema } from '../../../executor/plans/state.ts';
import { createMemoryStore } from '../../../executor/store/memory.ts';
import { FileRecordMap } from '../../../executor/store/state-file.ts';

describe('plan scheduler: two ticks that meet fire a time once', () => {
  let folder: string;
  beforeEach(() => (folder = mkdtempSync(join(tmpdir(), 'deputy-scheduler-once-'))));
  afterEach(() => rmSync(folder, { recursive: true, force: true }));

  it('lets one of two schedulers sharing the plan state fire a due time', async () => {
    const clock = new ManualClock(Date.UTC(2026, 0, 1, 0, 0, 30));
    const plan: Plan = { id: 'every-minute', tenant: 't', principal: 'p', action: 'a', inputs: {}, schedule: '* * * * *', enabled: true, workloads: [] };
    const states = new FileRecordMap(join(folder, 'plans-state.json'), PlanStateSchema);
    const fired: CreateRunRequest[] = [];
    const runs = {
      async create(request: CreateRunRequest): Promise<RunRecord> {
        fired.push(request);
        return { id: `run-${fired.length}` } as RunRecord;
      },
    };
    const store = createMemoryStore({ clock });
    const scheduler = () =>
      new PlanScheduler({ catalog: { snapshot: () => ({ ...store.catalog.snapshot(), plans: [plan] }) }, states, runs, events: new InProcessEventStream(new EventBus(clock)), audit: store.audit, clock, logger: silentLogger() });
    const [first, second] = [scheduler(), scheduler()];
    await first.tick(); // the plan is seen: handled until now
    clock.advance(60_000); // 00:01:30: the 00:01 time is due
    await Promise.all([first.tick(), second.tick()]);
    assert.equal(fired.length, 1, `fired ${fired.length} times`);
    assert.equal(fired[0]?.origin.messageId, '2026-01-01T00:01:00.000Z');
    clock.advance(60_000);
    await Promise.all([second.tick(), first.tick()]);
    assert.equal(fired.length, 2, 'the next time fires once too');
  });
});
