/**
 * Files a chat platform fetches by link (long output for Teams): kept in memory under
 * unguessable 128-bit ids, for a limited time and number, so a link is a short-lived capability
 * and memory stays bounded. Nothing here is written to disk.
 */
import { randomBytes } from 'node:crypto';
import type { Clock } from '../../lib/clock.ts';
import type { FileAttachment } from './model.ts';

export class FileShelf {
  private readonly files = new Map<string, { file: FileAttachment; until: number }>();

  constructor(
    private readonly clock: Clock,
    private readonly limits: { ttlMs: number; maxFiles: number } = { ttlMs: 24 * 60 * 60_000, maxFiles: 500 },
  ) {}

  put(file: FileAttachment): string {
    const id = randomBytes(16).toString('base64url');
    this.files.set(id, { file, until: this.clock.now() + this.limits.ttlMs });
    while (this.files.size > this.limits.maxFiles) this.files.delete(this.files.keys().next().value as string);
    return id;
  }

  get(id: string): FileAttachment | undefined {
    const entry = this.files.get(id);
    if (!entry) return undefined;
    if (entry.until <= this.clock.now()) {
      this.files.delete(id);
      return undefined;
    }
    return entry.file;
  }
}
