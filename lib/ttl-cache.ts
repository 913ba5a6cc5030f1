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
  return new LRUCache<K, V>({ max: limits.max, ttl: limits.ttlMs, perf: clock, ttlResolution: 0 });
}
