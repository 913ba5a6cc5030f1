/**
 * The run queue of one executor process: the FIFO with caps of executor/runs/queue.ts behind
 * the RunQueue port. Nothing is stored: a restart loses what waited, which recovery then marks
 * (today's behaviour); secrets stay in memory. As no other executor could take them, `close`
 * lets the runs already waiting start and waits for all of them.
 */
import type { Logger } from '../../lib/logger.ts';
import { DeputyError } from '../contract/index.ts';
import { RunQueue as LocalFifo } from '../runs/queue.ts';
import type { QueueCaps, QueuedRun, RunQueue } from './port.ts';

export class InProcessRunQueue implements RunQueue {
  private readonly fifo: LocalFifo;
  private execute: ((run: QueuedRun) => Promise<void>) | undefined;
  /** Runs handed to the worker and not finished yet. */
  private readonly taken = new Set<string>();

  constructor(
    options: QueueCaps & { concurrency: number },
    private readonly logger: Logger,
  ) {
    this.fifo = new LocalFifo(options);
  }

  async enqueue(run: QueuedRun): Promise<void> {
    const execute = this.execute;
    if (!execute) throw new DeputyError('DEPUTY_E_INTERNAL', { detail: 'the run queue has no worker (work() was not called)' });
    this.fifo.assertRoom(run.principalId);
    this.fifo.enqueue(run.runId, run.principalId, () => {
      this.taken.add(run.runId);
      return execute(run)
        .catch((error: unknown) => this.logger.error({ err: error, runId: run.runId }, 'a queued run failed outside its own error handling'))
        .finally(() => this.taken.delete(run.runId));
    });
  }

  async remove(runId: string): Promise<boolean> {
    return this.fifo.remove(runId);
  }

  async work(execute: (run: QueuedRun) => Promise<void>): Promise<void> {
    this.execute = execute;
  }

  async depth(): Promise<number> {
    return this.fifo.depth;
  }

  async assertRoom(principalId: string): Promise<void> {
    this.fifo.assertRoom(principalId);
  }

  async holds(runId: string): Promise<boolean> {
    return this.fifo.has(runId) || this.taken.has(runId);
  }

  /** One executor, one process: no other executor took anything from this queue. */
  async giveBackTakenBy(): Promise<number> {
    return 0;
  }

  idle(): Promise<void> {
    return this.fifo.idle();
  }

  async close(): Promise<void> {
    await this.fifo.idle();
  }
}
