/**
 * A bounded cache whose entries expire: lru-cache, timed by the injected clock (so tests move
 * time by hand), checking the clock on every read. The least recently used entry goes first
 * when the cache is full.
 */
import { LRUCache } from 'lru-cache';
import type { Clock } from './clock.ts';

export function ttlCache<K extends NonNullable<unknown>, V extends NonNullable<unknown>>(clock: Clock, limits: { ttlMs: number; max: number }): LRUCache<K, V> {
  // lru-cache reads a ttl of 0 as "never expires": a cache that must not keep anything is a bug here.
  if (!(limits.ttlMs >= 1)) throw new RangeError(`a cache's time to live must be at least 1 ms, not ${limits.ttlMs}`);
  // lru-cache reads a start time of 0 as "no start time" (never stale), and test clocks may start at 0.
  const perf = { now: () => clock.now() + 1 };
  return new LRUCache<K, V>({ max: limits.max, ttl: limits.ttlMs, perf, ttlResolution: 0 });
}
