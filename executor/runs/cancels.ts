/**
 * How a cancel reaches the executor that holds a running run: whichever executor the user asked
 * decides the cancel (policy, audit), then tells the holder, which kills the process tree and
 * finishes the run as cancelled. In one process that is a call; across executors a
 * `NOTIFY deputy_cancel` naming the run and its holder.
 */
import type { Logger } from '../../lib/logger.ts';
import type { Notifications } from '../../lib/postgres/notifications.ts';
import type { Pool } from '../../lib/postgres/pool.ts';

export interface CancelChannel {
  /** Asks `executor` (the run's holder) to stop `runId`. */
  request(runId: string, executor: string | undefined): Promise<void>;
  /** Delivers the requests addressed to this executor. */
  listen(handler: (runId: string) => void): Promise<() => void>;
}

export class InProcessCancels implements CancelChannel {
  private readonly handlers = new Set<(runId: string) => void>();

  async request(runId: string): Promise<void> {
    for (const handler of this.handlers) handler(runId);
  }

  async listen(handler: (runId: string) => void): Promise<() => void> {
    this.handlers.add(handler);
    return () => this.handlers.delete(handler);
  }
}

const CANCEL_CHANNEL = 'deputy_cancel';

export class PgCancels implements CancelChannel {
  constructor(
    private readonly pool: Pool,
    private readonly notifications: Notifications,
    private readonly executorId: string,
    private readonly logger: Logger,
  ) {}

  async request(runId: string, executor: string | undefined): Promise<void> {
    await this.pool.query('SELECT pg_notify($1, $2)', [CANCEL_CHANNEL, JSON.stringify({ runId, executor: executor ?? null })]);
  }

  listen(handler: (runId: string) => void): Promise<() => void> {
    return this.notifications.listen(CANCEL_CHANNEL, {
      notify: (payload) => {
        try {
          const { runId, executor } = JSON.parse(payload) as { runId?: unknown; executor?: unknown };
          // Addressed to no one in particular (a run whose holder is unknown): whoever holds it stops it.
          if (typeof runId === 'string' && (executor === null || executor === this.executorId)) handler(runId);
        } catch (error) {
          this.logger.warn({ err: error }, 'a cancel notification could not be read');
        }
      },
      // A cancel sent while this connection was down is lost; the requester may cancel again.
      resync: () => undefined,
    });
  }
}
