/**
 * The executor cluster (issue 13): trivial runs per second through the REST API with one and with
 * two `deputy executor` processes on one PostgreSQL, and failover: after one executor is killed
 * with SIGKILL, how long until the first of the runs it accepted that were still queued runs on
 * the other, and until the runs it was executing are marked `interrupted` (its lease running out).
 *
 * Both executors share this machine's cores, so two executors measure what a second process
 * adds on the same two cores, not what a second host would.
 * Run alone with `npm run bench -- cluster`; `npm run bench` runs it with the rest.
 */
import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import pg from 'pg';
import { isFinalRunState, type RunState } from '../executor/contract/index.ts';
import { createTestDatabase, startPostgresCluster } from '../test/helpers/postgres.ts';
import { clusterSecrets, startExecutorProcess, until, type ExecutorProcess } from '../test/executor/cluster/processes.ts';
import type { BenchResult } from './executor.ts';

const RUNS = Number(process.env.DEPUTY_BENCH_CLUSTER_RUNS ?? 200);
const LEASE_SECONDS = 4;
const DRAIN_BOUND_MS = 180_000;

/** The probe's first answer, or undefined once `timeoutMs` passed without one. */
async function within<T>(probe: () => Promise<T | undefined | false>, timeoutMs: number, everyMs = 25): Promise<T | undefined> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) return undefined;
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
}

/** Submits `count` runs, in turn to each executor, 16 at a time; resolves with their ids. */
async function submitAll(executors: ExecutorProcess[], count: number, milliseconds: number): Promise<string[]> {
  const ids: string[] = [];
  let next = 0;
  const client = async () => {
    for (let index = next++; index < count; index = next++) {
      const executor = executors[index % executors.length] as ExecutorProcess;
      const response = await executor.api('/v1/runs', {
        method: 'POST',
        json: { actionId: 'mark', principalId: 'alex', inputs: { Token: `b${randomBytes(6).toString('hex')}`, Milliseconds: milliseconds }, origin: { kind: 'api' } },
      });
      if (response.status !== 202) throw new Error(`submission refused: ${response.status} ${await response.text()}`);
      ids.push(((await response.json()) as { id: string }).id);
    }
  };
  await Promise.all(Array.from({ length: 16 }, () => client()));
  return ids;
}

async function states(db: pg.Client, ids: string[]): Promise<{ id: string; state: RunState; executor: string | null }[]> {
  const { rows } = await db.query<{ id: string; state: RunState; executor: string | null }>(`SELECT id, state, record->>'executor' AS executor FROM deputy.runs WHERE id = ANY($1)`, [ids]);
  return rows;
}

/** Runs per second for `count` trivial runs submitted to `executors`, from the first submission to the last run's end. */
async function throughput(db: pg.Client, executors: ExecutorProcess[], count: number): Promise<number> {
  const started = performance.now();
  const ids = await submitAll(executors, count, 0);
  await until('every run final', async () => (await states(db, ids)).every((run) => isFinalRunState(run.state)), 600_000);
  return count / ((performance.now() - started) / 1000);
}

/**
 * Kills `dead` with SIGKILL while it executes runs and more runs it accepted wait in the queue,
 * then measures from the kill to the first of those waiting runs claimed by `survivor`, and to
 * the dead one's running runs marked `interrupted`. Every wait is bounded: a step that does not
 * happen in time is reported as such, and one that cannot be measured (nothing of the dead
 * executor's was waiting at the kill) says so.
 */
async function measureFailover(db: pg.Client, dead: ExecutorProcess, survivor: ExecutorProcess): Promise<{ pass: boolean; lines: string[] }> {
  const bound = (LEASE_SECONDS + 30) * 1000;
  // Longer runs, all accepted by `dead`: it executes some, the rest wait in the shared queue for either executor.
  const ids = await submitAll([dead], 80, 400);
  const ready = await within(async () => {
    const now = await states(db, ids);
    return now.some((run) => run.state === 'running' && run.executor === dead.id) && now.some((run) => run.state === 'queued' && run.executor === dead.id);
  }, 30_000);
  const killedAt = performance.now();
  await dead.kill();
  // Read after the kill: nothing the dead executor held can change any more but through the survivor.
  const afterKill = await states(db, ids);
  const heldIds = afterKill.filter((run) => run.state === 'running' && run.executor === dead.id).map((run) => run.id);
  const waitingIds = afterKill.filter((run) => run.state === 'queued' && run.executor === dead.id).map((run) => run.id);
  const since = () => performance.now() - killedAt;
  const queuedMoved =
    waitingIds.length === 0 ? undefined : await within(async () => (await states(db, waitingIds)).some((run) => run.executor === survivor.id) && since(), bound);
  const interrupted = heldIds.length === 0 ? undefined : await within(async () => (await states(db, heldIds)).every((run) => run.state === 'interrupted') && since(), bound);
  // Not failover but throughput: how long the survivor takes to work off the rest (bounded too).
  const drained = await within(async () => (await states(db, ids)).every((run) => isFinalRunState(run.state)) && since(), DRAIN_BOUND_MS, 100);
  const lines = [
    ...(ready ? [] : ['(the kill came without the moment sought: the dead executor was not both running runs and holding queued ones within 30 s)']),
    waitingIds.length === 0
      ? 'kill → its queued runs running elsewhere: not measured, none of the runs it accepted were still queued at the kill'
      : queuedMoved === undefined
        ? `kill → first of its ${waitingIds.length} queued run(s) running on the survivor: not within ${bound} ms`
        : `kill → first of its ${waitingIds.length} queued run(s) running on the survivor: ${queuedMoved.toFixed(0)} ms (the queue is shared: no lease to wait for)`,
    heldIds.length === 0
      ? 'kill → its running runs interrupted: not measured, it was running none at the kill'
      : interrupted === undefined
        ? `kill → its ${heldIds.length} running run(s) interrupted: not within ${bound} ms`
        : `kill → its ${heldIds.length} running run(s) interrupted: ${interrupted.toFixed(0)} ms (lease expiry plus one renewal period at most)`,
    drained === undefined ? `not every one of the ${ids.length} runs had ended ${DRAIN_BOUND_MS} ms after the kill` : `all ${ids.length} runs ended ${drained.toFixed(0)} ms after the kill`,
  ];
  const pass = queuedMoved !== undefined && interrupted !== undefined && interrupted < (LEASE_SECONDS + 5) * 1000;
  return { pass, lines };
}

export async function benchCluster(): Promise<BenchResult[]> {
  const cluster = await startPostgresCluster({ durable: true });
  const database = await createTestDatabase(cluster.adminUrl);
  const runDataDir = join(tmpdir(), `deputy-bench-cluster-${randomBytes(6).toString('hex')}`);
  const secrets = clusterSecrets(runDataDir);
  const executors: ExecutorProcess[] = [];
  const db = new pg.Client({ connectionString: database.url });
  try {
    const start = async (id: string) => {
      const executor = await startExecutorProcess({ id, databaseUrl: database.url, secrets, leaseSeconds: LEASE_SECONDS, concurrency: 4 });
      executors.push(executor);
      return executor;
    };
    const one = await start('bench-1');
    await db.connect();
    await throughput(db, [one], 20); // warm: pool workers, JIT, caches
    const single = await throughput(db, [one], RUNS);
    const two = await start('bench-2');
    await throughput(db, [two], 20);
    const pair = await throughput(db, [one, two], RUNS);

    const failover = await measureFailover(db, one, two);

    return [
      {
        name: `executor cluster: ${RUNS} trivial pool runs through the REST API, one and two executors on one PostgreSQL`,
        pass: true,
        lines: [
          `one executor:  ${single.toFixed(1)} runs/s`,
          `two executors: ${pair.toFixed(1)} runs/s (×${(pair / single).toFixed(2)} of one; both share this machine's ${availableParallelism()} cores)`,
        ],
      },
      {
        name: `executor cluster: failover after SIGKILL (lease ${LEASE_SECONDS} s)`,
        pass: failover.pass,
        lines: failover.lines,
      },
    ];
  } finally {
    await db.end().catch(() => undefined);
    for (const executor of executors) {
      await executor.stop();
      executor.dispose();
    }
    rmSync(runDataDir, { recursive: true, force: true });
    await database.drop().catch(() => undefined);
    cluster.stop();
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  for (const result of await benchCluster()) {
    console.log(`${result.pass ? 'PASS' : 'MISS'}  ${result.name}`);
    for (const line of result.lines) console.log(`      ${line}`);
  }
}
