/**
 * Script texts sent to the bot as files, held between the preview card and the person's
 * choice ("new script" or "new version of …"), so the text need not travel through the chat
 * again. Each upload belongs to the principal who sent it and is named by its SHA-256.
 *
 * Held in memory on purpose: an upload is a few seconds to minutes of someone's attention, not
 * state worth a durable write of up to a hundred kilobytes. After an executor restart (or an
 * hour) the card says to send the file again.
 */
import type { Clock } from '../../lib/clock.ts';

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
  /** Insertion order is age order: the first entries are the oldest. */
  private readonly uploads = new Map<string, Upload & { principalId: string; at: number }>();

  constructor(
    private readonly clock: Clock,
    private readonly limits: UploadLimits = UPLOAD_LIMITS,
  ) {}

  put(principalId: string, hash: string, upload: Upload): void {
    this.dropExpired();
    const key = keyOf(principalId, hash);
    this.uploads.delete(key);
    const own = [...this.uploads.entries()].filter(([, held]) => held.principalId === principalId);
    for (const [oldest] of own.slice(0, Math.max(0, own.length - this.limits.perPrincipal + 1))) this.uploads.delete(oldest);
    while (this.uploads.size >= this.limits.total) {
      const oldest = this.uploads.keys().next().value;
      if (oldest === undefined) break;
      this.uploads.delete(oldest);
    }
    this.uploads.set(key, { ...upload, principalId, at: this.clock.now() });
  }

  /** The upload, only for the principal who sent it and while it is held. */
  get(principalId: string, hash: string): Upload | undefined {
    this.dropExpired();
    const held = this.uploads.get(keyOf(principalId, hash));
    return held ? { fileName: held.fileName, text: held.text } : undefined;
  }

  private dropExpired(): void {
    const cutoff = this.clock.now() - this.limits.ttlMs;
    for (const [key, held] of this.uploads) {
      if (held.at > cutoff) break;
      this.uploads.delete(key);
    }
  }
}

function keyOf(principalId: string, hash: string): string {
  return `${principalId}\u0000${hash}`;
}
