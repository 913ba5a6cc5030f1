/**
 * A FIFO of runs waiting for a free slot, with a cap in total and per principal so that one
 * busy requester cannot starve the others; beyond a cap the caller gets DEPUTY_E_BUSY.
 */
import { DeputyError } from '../contract/index.ts';

export interface QueueLimits {
  concurrency: number;
  maxQueued: number;
  maxQueuedPerPrincipal: number;
}

interface Entry {
  runId: string;
  principalId: string;
  start: () => Promise<void>;
}

export class RunQueue {
  private readonly waiting: Entry[] = [];
  private readonly queuedPerPrincipal = new Map<string, number>();
  private active = 0;
  private idleWaiters: (() => void)[] = [];

  constructor(private readonly limits: QueueLimits) {}

  /** Throws DEPUTY_E_BUSY when a cap is reached, before anything is persisted. */
  assertRoom(principalId: string): void {
    if (this.waiting.length >= this.limits.maxQueued) {
      throw new DeputyError('DEPUTY_E_BUSY', { detail: `queue full: ${this.waiting.length} runs waiting` });
    }
    if ((this.queuedPerPrincipal.get(principalId) ?? 0) >= this.limits.maxQueuedPerPrincipal) {
      throw new DeputyError('DEPUTY_E_BUSY', { detail: `principal ${principalId} has ${this.limits.maxQueuedPerPrincipal} runs waiting` });
    }
  }

  enqueue(runId: string, principalId: string, start: () => Promise<void>): void {
    this.waiting.push({ runId, principalId, start });
    this.queuedPerPrincipal.set(principalId, (this.queuedPerPrincipal.get(principalId) ?? 0) + 1);
    this.pump();
  }

  /** Takes a run out of the queue if it has not started; true when it was waiting. */
  remove(runId: string): boolean {
    const index = this.waiting.findIndex((entry) => entry.runId === runId);
    if (index < 0) return false;
    const [entry] = this.waiting.splice(index, 1);
    if (entry) this.release(entry.principalId);
    return true;
  }

  has(runId: string): boolean {
    return this.waiting.some((entry) => entry.runId === runId);
  }

  get depth(): number {
    return this.waiting.length;
  }

  get running(): number {
    return this.active;
  }

  /** Resolves when nothing is running or waiting. */
  idle(): Promise<void> {
    if (this.active === 0 && this.waiting.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private release(principalId: string): void {
    const left = (this.queuedPerPrincipal.get(principalId) ?? 1) - 1;
    if (left > 0) this.queuedPerPrincipal.set(principalId, left);
    else this.queuedPerPrincipal.delete(principalId);
  }

  private pump(): void {
    while (this.active < this.limits.concurrency) {
      const entry = this.waiting.shift();
      if (!entry) break;
      this.release(entry.principalId);
      this.active++;
      void entry.start().finally(() => {
        this.active--;
        this.pump();
        if (this.active === 0 && this.waiting.length === 0) {
          const waiters = this.idleWaiters;
          this.idleWaiters = [];
          for (const resolve of waiters) resolve();
        }
      });
    }
  }
}
