/**
 * How a cancel reaches the executor that holds a running run: whichever executor the user asked
 * decides the cancel (policy, audit), then tells the holder, which kills the process tree and
 * finishes the run as cancelled. In one process that is a call; across executors a
 * `NOTIFY deputy_cancel` naming the run and its holder, with the request also stored, so a holder
 * whose listening connection was down when it was sent finds it once the connection is back.
 */
import type { Logger } from '../../lib/logger.ts';
import type { Notifications } from '../../lib/postgres/notifications.ts';
import type { Pool } from '../../lib/postgres/pool.ts';

export interface CancelChannel {
  /** Asks `executor` (the run's holder) to stop `runId`. */
  request(runId: string, executor: string | undefined): Promise<void>;
  /**
   * Delivers the requests addressed to this executor. `held` names the runs executing here: the
   * requests stored for them are delivered again after the channel was interrupted.
   */
  listen(handler: (runId: string) => void, held: () => string[]): Promise<() => void>;
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
/** Longer than any run may last: a request older than this can only be for a run that ended. */
const REQUEST_RETENTION = '1 day';

export class PgCancels implements CancelChannel {
  constructor(
    private readonly pool: Pool,
    private readonly notifications: Notifications,
    private readonly executorId: string,
    private readonly logger: Logger,
  ) {}

  async request(runId: string, executor: string | undefined): Promise<void> {
    // Stored and notified in one statement; old requests are dropped on the way.
    await this.pool.query(
      `WITH dropped AS (DELETE FROM deputy.cancel_requests WHERE requested_at < now() - interval '${REQUEST_RETENTION}'),
            stored AS (INSERT INTO deputy.cancel_requests (run_id, executor) VALUES ($3, $4) ON CONFLICT (run_id) DO UPDATE SET executor = EXCLUDED.executor, requested_at = now())
       SELECT pg_notify($1, $2)`,
      [CANCEL_CHANNEL, JSON.stringify({ runId, executor: executor ?? null }), runId, executor ?? null],
    );
  }

  listen(handler: (runId: string) => void, held: () => string[]): Promise<() => void> {
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
      // Notifications sent while the connection was down are gone: the stored requests are not.
      resync: () => void this.redeliver(handler, held()),
    });
  }

  private async redeliver(handler: (runId: string) => void, runIds: string[]): Promise<void> {
    if (runIds.length === 0) return;
    try {
      const { rows } = await this.pool.query<{ run_id: string }>('SELECT run_id FROM deputy.cancel_requests WHERE run_id = ANY($1)', [runIds]);
      for (const { run_id: runId } of rows) handler(runId);
    } catch (error) {
      this.logger.error({ err: error, runs: runIds.length }, 'cancel requests could not be read after the notification connection came back');
    }
  }
}
