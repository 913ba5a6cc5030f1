/**
 * Files a chat platform fetches by link (long output for Teams): kept in memory under
 * unguessable 128-bit ids, for a limited time and number, so a link is a short-lived capability
 * and memory stays bounded. Nothing here is written to disk.
 */
import { randomBytes } from 'node:crypto';
import type { LRUCache } from 'lru-cache';
import type { Clock } from '../../lib/clock.ts';
import { ttlCache } from '../../lib/ttl-cache.ts';
import type { FileAttachment } from './model.ts';

export class FileShelf {
  private readonly files: LRUCache<string, FileAttachment>;

  constructor(clock: Clock, limits: { ttlMs: number; maxFiles: number } = { ttlMs: 24 * 60 * 60_000, maxFiles: 500 }) {
    this.files = ttlCache(clock, { ttlMs: limits.ttlMs, max: limits.maxFiles });
  }

  put(file: FileAttachment): string {
    const id = randomBytes(16).toString('base64url');
    this.files.set(id, file);
    return id;
  }

  get(id: string): FileAttachment | undefined {
    return this.files.get(id);
  }
}
