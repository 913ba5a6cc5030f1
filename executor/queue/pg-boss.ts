/**
 * The run queue across executors: pg-boss on the executors' PostgreSQL (its tables in the
 * schema `deputy_queue`), one job per run, the job's id derived from the run's id.
 *
 * - Caps hold across executors: each queued run takes a row in `deputy.queue_slots`, counted and
 *   inserted with the job in one transaction under an advisory lock, so two executors cannot
 *   both take the last place.
 * - A worker takes jobs in its own transaction (pg-boss `fetch` with our connection) and frees
 *   their slots in the same commit: a slot is freed exactly when a run leaves the queue.
 * - Secrets never reach the database in clear: they travel sealed (AES-256-GCM, the credential
 *   key ring's current key, bound to the run's id) and are opened only in the worker.
 * - Workers wake at once on a NOTIFY sent with each new job (and poll as a floor), so a run
 *   queued on one executor starts on another without waiting for a polling interval.
 * - Jobs are never retried by pg-boss (retryLimit 0): a run must not start twice. A run whose
 *   executor died is the lease's business (executor/runs/liveness.ts), not the queue's.
 */
import { createHash } from 'node:crypto';
import { PgBoss, type Job } from 'pg-boss';
import type { Logger } from '../../lib/logger.ts';
import type { Notifications } from '../../lib/postgres/notifications.ts';
import { inTransaction, lockKey, type Client, type Pool } from '../../lib/postgres/pool.ts';
import { DeputyError } from '../contract/index.ts';
import { open, seal, type Sealed } from '../credentials/cipher.ts';
import type { KeyRing } from '../credentials/keyring.ts';
import type { QueueCaps, QueuedRun, RunQueue } from './port.ts';

export const QUEUE_SCHEMA = 'deputy_queue';
export const QUEUE_NAME = 'deputy-runs';
const WAKE_CHANNEL = 'deputy_queue';
/** A job active this long is failed by pg-boss; runs end long before (their timeouts are shorter). */
const JOB_EXPIRY_SECONDS = 24 * 60 * 60;

interface JobData {
  runId: string;
  principalId: string;
  secrets?: Sealed & { keyId: string };
}

export interface PgBossRunQueueOptions {
  url: string;
  /** The executor's pool: slots and caps are counted on it, in the same transaction as the job. */
  pool: Pool;
  notifications: Notifications;
  keys: KeyRing;
  caps: QueueCaps;
  /** Runs this executor executes at once. */
  concurrency: number;
  /** This executor's name: what it takes from the queue is recorded under it (deputy.queue_taken). */
  executorId: string;
  logger: Logger;
  /** Polling floor when no notification arrives (default 2000 ms). */
  pollMs?: number;
  /** Shows in pg_stat_activity. */
  applicationName?: string;
}

/** A stable UUID per run id: a second enqueue of one run is the same job, and remove finds it without a lookup. */
export function jobIdOf(runId: string): string {
  const hex = createHash('sha256').update(`deputy-run/${runId}`).digest('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-8${hex.slice(13, 16)}-${((Number.parseInt(hex[16] as string, 16) & 0x3) | 0x8).toString(16)}${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

/** The additional data a run's sealed secrets are bound to: moved to another run, they do not open. */
const secretsContext = (runId: string) => `deputy-queued-run/1:${runId}`;

/** pg-boss's database interface over one client of our pool (inside our transaction). */
function onClient(client: Client) {
  return { executeSql: (text: string, values?: unknown[]) => client.query(text, values) };
}

export class PgBossRunQueue implements RunQueue {
  private readonly active = new Set<Promise<void>>();
  private execute: ((run: QueuedRun) => Promise<void>) | undefined;
  private loop: Promise<void> | undefined;
  private stopping = false;
  private wake: (() => void) | undefined;
  private stopListening: (() => void) | undefined;

  private constructor(
    private readonly boss: PgBoss,
    private readonly options: PgBossRunQueueOptions,
  ) {}

  static async start(options: PgBossRunQueueOptions): Promise<PgBossRunQueue> {
    const boss = new PgBoss({
      connectionString: options.url,
      schema: QUEUE_SCHEMA,
      application_name: options.applicationName ?? 'deputy-queue',
      max: 2,
      // pg-boss's own cron and schedules are not used: plans have their own scheduler.
      schedule: false,
    });
    boss.on('error', (error) => options.logger.error({ err: error }, 'pg-boss reported an error'));
    await boss.start();
    await boss.createQueue(QUEUE_NAME, { retryLimit: 0, expireInSeconds: JOB_EXPIRY_SECONDS });
    const queue = new PgBossRunQueue(boss, options);
    queue.stopListening = await options.notifications.listen(WAKE_CHANNEL, { notify: () => queue.kick(), resync: () => queue.kick() });
    return queue;
  }

  async enqueue(run: QueuedRun): Promise<void> {
    const data: JobData = { runId: run.runId, principalId: run.principalId };
    if (run.secrets && Object.keys(run.secrets).length > 0) {
      const key = this.options.keys.current;
      data.secrets = { ...seal(key.key, JSON.stringify(run.secrets), secretsContext(run.runId)), keyId: key.id };
    }
    await inTransaction(this.options.pool, async (client) => {
      // One enqueue at a time across executors while the caps are counted.
      await client.query('SELECT pg_advisory_xact_lock($1::bigint)', [lockKey('deputy.queue.caps')]);
      const { rows } = await client.query<{ total: string; mine: string }>(
        'SELECT count(*) AS total, count(*) FILTER (WHERE principal_id = $1) AS mine FROM deputy.queue_slots',
        [run.principalId],
      );
      this.assertCaps(run.principalId, Number(rows[0]?.total ?? 0), Number(rows[0]?.mine ?? 0));
      const { rowCount } = await client.query('INSERT INTO deputy.queue_slots (run_id, principal_id) VALUES ($1, $2) ON CONFLICT DO NOTHING', [run.runId, run.principalId]);
      if (rowCount === 0) throw new DeputyError('DEPUTY_E_CONFLICT', { detail: `run ${run.runId} is queued already` });
      await this.boss.send(QUEUE_NAME, data, { id: jobIdOf(run.runId), db: onClient(client) });
      await client.query('SELECT pg_notify($1, $2)', [WAKE_CHANNEL, run.runId]);
    });
    this.kick();
  }

  async remove(runId: string): Promise<boolean> {
    // The slot row is the run's place in the queue: whoever deletes it (this, or a worker taking
    // the job) has the run. The job is cancelled after that commit, not inside it: a worker
    // locks the job first and the slot second, and taking the locks the other way round here
    // could deadlock with it. A worker that finds the slot gone drops the job itself.
    const { rowCount } = await this.options.pool.query('DELETE FROM deputy.queue_slots WHERE run_id = $1', [runId]);
    if (rowCount === 0) return false;
    await this.boss.cancel(QUEUE_NAME, jobIdOf(runId));
    return true;
  }

  async work(execute: (run: QueuedRun) => Promise<void>): Promise<void> {
    if (this.execute) throw new DeputyError('DEPUTY_E_INTERNAL', { detail: 'work() was called twice on the run queue' });
    this.execute = execute;
    this.loop = this.takeJobs();
  }

  async depth(): Promise<number> {
    const { rows } = await this.options.pool.query<{ count: string }>('SELECT count(*) FROM deputy.queue_slots');
    return Number(rows[0]?.count ?? 0);
  }

  async assertRoom(principalId: string): Promise<void> {
    const { rows } = await this.options.pool.query<{ total: string; mine: string }>(
      'SELECT count(*) AS total, count(*) FILTER (WHERE principal_id = $1) AS mine FROM deputy.queue_slots',
      [principalId],
    );
    const total = Number(rows[0]?.total ?? 0);
    const mine = Number(rows[0]?.mine ?? 0);
    this.assertCaps(principalId, total, mine);
  }

  async holds(runId: string): Promise<boolean> {
    const jobs = await this.boss.findJobs(QUEUE_NAME, { id: jobIdOf(runId) });
    return jobs.some((job) => job.state === 'created' || job.state === 'retry' || job.state === 'active');
  }

  async idle(): Promise<void> {
    // Other executors may be working too: this waits for the shared queue and for this executor's runs.
    while (this.active.size > 0 || (await this.depth()) > 0) {
      if (this.active.size > 0) await Promise.race(this.active);
      else await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  private assertCaps(principalId: string, total: number, mine: number): void {
    const { maxQueued, maxQueuedPerPrincipal } = this.options.caps;
    if (total >= maxQueued) throw new DeputyError('DEPUTY_E_BUSY', { detail: `queue full: ${total} runs waiting` });
    if (mine >= maxQueuedPerPrincipal) throw new DeputyError('DEPUTY_E_BUSY', { detail: `principal ${principalId} has ${mine} runs waiting` });
  }

  async close(): Promise<void> {
    this.stopping = true;
    this.stopListening?.();
    this.kick();
    await this.loop;
    await Promise.all(this.active);
    await this.boss.stop({ graceful: true, close: true });
  }

  private kick(): void {
    const wake = this.wake;
    this.wake = undefined;
    wake?.();
  }

  private async takeJobs(): Promise<void> {
    const pollMs = this.options.pollMs ?? 2000;
    while (!this.stopping) {
      // Armed before fetching, so a notification that arrives during the fetch is not lost.
      const woken = new Promise<void>((resolve) => (this.wake = resolve));
      const free = this.options.concurrency - this.active.size;
      let taken = 0;
      if (free > 0) {
        try {
          const jobs = await this.fetch(free);
          taken = jobs.length;
          for (const job of jobs) this.start(job);
        } catch (error) {
          this.options.logger.error({ err: error }, 'taking runs from the queue failed; trying again');
        }
      }
      if (this.stopping) break;
      // A full batch means more may wait: fetch again at once (a free slot will kick us otherwise).
      if (taken > 0 && taken === free) continue;
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([woken, new Promise<void>((resolve) => (timer = setTimeout(resolve, pollMs)))]);
      clearTimeout(timer);
    }
  }

  /** Takes up to `count` jobs and frees their slots, in one transaction; a job whose slot a `remove` took is dropped. */
  private fetch(count: number): Promise<Job<JobData>[]> {
    return inTransaction(this.options.pool, async (client) => {
      const jobs = await this.boss.fetch<JobData>(QUEUE_NAME, { batchSize: count, db: onClient(client) });
      if (jobs.length === 0) return jobs;
      const { rows } = await client.query<{ run_id: string }>('DELETE FROM deputy.queue_slots WHERE run_id = ANY($1::text[]) RETURNING run_id', [
        jobs.map((job) => job.data.runId),
      ]);
      const ours = new Set(rows.map((row) => row.run_id));
      const removed = jobs.filter((job) => !ours.has(job.data.runId));
      if (removed.length > 0) await this.boss.cancel(QUEUE_NAME, removed.map((job) => job.id), { db: onClient(client) });
      const taken = jobs.filter((job) => ours.has(job.data.runId));
      if (taken.length > 0) {
        await client.query('INSERT INTO deputy.queue_taken (run_id, executor, principal_id) SELECT * FROM unnest($1::text[], $2::text[], $3::text[])', [
          taken.map((job) => job.data.runId),
          taken.map(() => this.options.executorId),
          taken.map((job) => job.data.principalId),
        ]);
      }
      return taken;
    });
  }

  private start(job: Job<JobData>): void {
    const running = this.runJob(job).finally(() => {
      this.active.delete(running);
      this.kick();
    });
    this.active.add(running);
  }

  private async runJob(job: Job<JobData>): Promise<void> {
    const { runId, principalId } = job.data;
    try {
      const run: QueuedRun = { runId, principalId };
      if (job.data.secrets) run.secrets = this.openSecrets(runId, job.data.secrets);
      await (this.execute as (run: QueuedRun) => Promise<void>)(run);
      await this.boss.complete(QUEUE_NAME, job.id);
    } catch (error) {
      this.options.logger.error({ err: error, runId }, 'a queued run failed outside its own error handling');
      await this.boss.fail(QUEUE_NAME, job.id, { message: error instanceof Error ? error.message : String(error) }).catch((failure: unknown) =>
        this.options.logger.error({ err: failure, runId }, 'marking a queue job failed did not work'),
      );
    }
    // A row left behind (this failed) names a run that is no longer queued: giveBackTakenBy drops it.
    await this.options.pool
      .query('DELETE FROM deputy.queue_taken WHERE run_id = $1 AND executor = $2', [runId, this.options.executorId])
      .catch((error: unknown) => this.options.logger.warn({ err: error, runId }, 'forgetting a run taken from the queue did not work'));
  }

  async giveBackTakenBy(executor: string, stillQueued: (runId: string) => Promise<boolean>): Promise<number> {
    const { rows } = await this.options.pool.query<{ run_id: string; principal_id: string }>('SELECT run_id, principal_id FROM deputy.queue_taken WHERE executor = $1', [executor]);
    let given = 0;
    for (const { run_id: runId, principal_id: principalId } of rows) {
      const queued = await stillQueued(runId);
      const back = await inTransaction(this.options.pool, async (client) => {
        // Whoever deletes the row (of several executors sweeping) gives the run back.
        const { rowCount } = await client.query('DELETE FROM deputy.queue_taken WHERE run_id = $1 AND executor = $2', [runId, executor]);
        if (rowCount === 0 || !queued) return false;
        // Its place in the queue again, and its job (still active, with its sealed secrets) failed and retried: any worker takes it.
        await client.query('INSERT INTO deputy.queue_slots (run_id, principal_id) VALUES ($1, $2) ON CONFLICT DO NOTHING', [runId, principalId]);
        await this.boss.fail(QUEUE_NAME, jobIdOf(runId), { message: `taken by ${executor}, which stopped before starting it` }, { db: onClient(client) });
        await this.boss.retry(QUEUE_NAME, jobIdOf(runId), { db: onClient(client) });
        await client.query('SELECT pg_notify($1, $2)', [WAKE_CHANNEL, runId]);
        return true;
      });
      if (back) given += 1;
    }
    if (given > 0) this.kick();
    return given;
  }

  private openSecrets(runId: string, sealed: Sealed & { keyId: string }): Record<string, unknown> {
    const key = this.options.keys.get(sealed.keyId);
    if (!key) throw new DeputyError('DEPUTY_E_INTERNAL', { detail: `the secrets of queued run ${runId} are sealed under key ${sealed.keyId}, which this executor does not have` });
    return JSON.parse(open(key.key, sealed, secretsContext(runId))) as Record<string, unknown>;
  }
}
