/**
 * Script texts sent to the bot as files, held between the preview card and the person's
 * choice ("new script" or "new version of …"), so the text need not travel through the chat
 * again. Each upload belongs to the principal who sent it and is named by its SHA-256.
 *
 * Held in memory on purpose: an upload is a few seconds to minutes of someone's attention, not
 * state worth a durable write of up to a hundred kilobytes. After an executor restart (or an
 * hour) the card says to send the file again.
 */
import type { LRUCache } from 'lru-cache';
import type { Clock } from '../../lib/clock.ts';
import { ttlCache } from '../../lib/ttl-cache.ts';

export interface Upload {
  fileName: string;
  text: string;
}

export interface UploadLimits {
  ttlMs: number;
  perPrincipal: number;
  total: number;
}

export const UPLOAD_LIMITS: UploadLimits = { ttlMs: 60 * 60_000, perPrincipal: 5, total: 500 };

export class UploadStore {
  private readonly uploads: LRUCache<string, Upload & { principalId: string }>;

  constructor(clock: Clock, private readonly limits: UploadLimits = UPLOAD_LIMITS) {
    this.uploads = ttlCache(clock, { ttlMs: limits.ttlMs, max: limits.total });
  }

  put(principalId: string, hash: string, upload: Upload): void {
    const key = keyOf(principalId, hash);
    this.uploads.delete(key);
    // Oldest first: a person's sixth upload pushes out their first.
    const own = [...this.uploads.rkeys()].filter((held) => this.uploads.peek(held)?.principalId === principalId);
    for (const oldest of own.slice(0, Math.max(0, own.length - this.limits.perPrincipal + 1))) this.uploads.delete(oldest);
    this.uploads.set(key, { ...upload, principalId });
  }

  /** The upload, only for the principal who sent it and while it is held. */
  get(principalId: string, hash: string): Upload | undefined {
    const held = this.uploads.get(keyOf(principalId, hash));
    return held ? { fileName: held.fileName, text: held.text } : undefined;
  }
}

function keyOf(principalId: string, hash: string): string {
  return `${principalId}\u0000${hash}`;
}
