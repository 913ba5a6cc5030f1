import assert from 'node:assert/strict';
import { createMemoryStore } from '../../../executor/store/memory.ts';
import { RefusalThrottle, sourceKey } from '../../../executor/store/refusal-audit.ts';
import type { AuditInput } from '../../../executor/domain.ts';
import { ManualClock } from '../../../lib/clock.ts';

const refusal = (n: number): AuditInput => ({ type: 'hook.request', outcome: 'denied', correlationId: `corr-${n}`, subject: 'itsm', detail: { n } });

describe('refusal audit throttle (per source, injected clock)', () => {
  it('lets a burst through per source, then one per interval, and counts what it held back in one entry', async () => {
    const clock = new ManualClock(Date.UTC(2026, 4, 1));
    const store = createMemoryStore({ clock });
    const refusals = new RefusalThrottle({ audit: store.audit, clock, burst: 3, refillMs: 1000 });
    const written = [];
    for (let n = 0; n < 10; n++) written.push(await refusals.refuse('192.0.2.1', refusal(n)));
    assert.deepEqual(written, [true, true, true, false, false, false, false, false, false, false]);
    // Another source has its own bucket.
    assert.equal(await refusals.refuse('192.0.2.2', refusal(100)), true);
    assert.equal((await store.audit.read()).length, 4);

    clock.advance(999);
    assert.equal(await refusals.refuse('192.0.2.1', refusal(10)), false);
    clock.advance(1);
    assert.equal(await refusals.refuse('192.0.2.1', refusal(11)), true);
    const [summary, next] = (await store.audit.read()).slice(-2);
    assert.equal(summary?.type, 'audit.suppressed');
    assert.deepEqual(
      { ...summary?.detail },
      { source: '192.0.2.1', of: 'hook.request', refusals: 8, summary: '8 refusal(s) from 192.0.2.1 suppressed', from: new Date(Date.UTC(2026, 4, 1)).toISOString(), to: new Date(Date.UTC(2026, 4, 1) + 999).toISOString() },
    );
    assert.equal(next?.detail.n, 11);
    assert.deepEqual(await store.audit.verify(), { ok: true, count: 6 });
  });

  it('writes the pending count on flush (a timer and shutdown call it)', async () => {
    const clock = new ManualClock();
    const store = createMemoryStore({ clock });
    const refusals = new RefusalThrottle({ audit: store.audit, clock, burst: 1, refillMs: 1000 });
    await refusals.refuse('198.51.100.7', refusal(1));
    await refusals.refuse('198.51.100.7', refusal(2));
    await refusals.refuse('198.51.100.7', refusal(3));
    await refusals.flush();
    const entries = await store.audit.read();
    assert.deepEqual(entries.map((entry) => [entry.type, entry.detail.refusals ?? entry.detail.n]), [['hook.request', 1], ['audit.suppressed', 2]]);
    await refusals.flush();
    assert.equal((await store.audit.read()).length, 2, 'nothing new to summarize');
    clock.advance(5000);
    assert.equal(await refusals.refuse('198.51.100.7', refusal(4)), true);
  });

  it('keys IPv6 clients by their /64 and IPv4-mapped addresses as IPv4, and caps the sources it tracks', async () => {
    assert.equal(sourceKey('2001:db8:1:2:aaaa::1'), '2001:db8:1:2::/64');
    assert.equal(sourceKey('2001:db8:1:2:bbbb:cccc:dddd:eeee'), '2001:db8:1:2::/64');
    assert.equal(sourceKey('2001:db8::1'), '2001:db8:0:0::/64');
    assert.equal(sourceKey('::ffff:203.0.113.9'), '203.0.113.9');
    assert.equal(sourceKey(undefined), 'unknown');

    const clock = new ManualClock();
    const store = createMemoryStore({ clock });
    const refusals = new RefusalThrottle({ audit: store.audit, clock, burst: 1, refillMs: 60_000, maxSources: 2 });
    assert.equal(await refusals.refuse('2001:db8:1:2::1', refusal(1)), true);
    assert.equal(await refusals.refuse('2001:db8:1:2::2', refusal(2)), false, 'same /64, same bucket');
    assert.equal(await refusals.refuse('203.0.113.1', refusal(3)), true);
    // Past the cap, every new source shares one bucket: a spray of addresses cannot grow memory or the log.
    assert.equal(await refusals.refuse('203.0.113.2', refusal(4)), true);
    assert.equal(await refusals.refuse('203.0.113.3', refusal(5)), false);
    assert.equal(await refusals.refuse('203.0.113.4', refusal(6)), false);
  });
});
