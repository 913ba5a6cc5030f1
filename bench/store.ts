/**
 * Does start-up, or writing a run, cost more with a long history behind it? For each backend,
 * a history of 1,000 and 100,000 runs (set `DEPUTY_BENCH_RUNS=1000,100000,1000000` for more)
 * is laid down, then the store is opened five times (median kept) and 400 run writes are
 * timed one by one (each awaited, so each pays its own flush or commit). Ratios are against
 * the smallest history, measured in the same run.
 *
 * Backends: `FileRuns` (today's executor: replays runs.jsonl at open), `IndexedFileRuns` (the
 * asynchronous port on files: a checkpointed index, no replay), and PostgreSQL's asynchronous
 * port on a private cluster started here with fsync and synchronous_commit on.
 *
 * Run alone with `node --import tsx bench/store.ts`; `npm run bench` runs it with the rest.
 */
import { mkdtemp, open, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import pg from 'pg';
import { systemClock } from '../lib/clock.ts';
import { silentLogger } from '../lib/logger.ts';
import type { RunRecord } from '../executor/domain.ts';
import { createFileStore } from '../executor/store/file.ts';
import { openPostgresBackend } from '../executor/store/pg/index.ts';
import { IndexedFileRuns } from '../executor/store/runs-indexed.ts';
import type { AsyncRunStore } from '../executor/store/state-port.ts';
import { createTestDatabase, startPostgresCluster } from '../test/helpers/postgres.ts';
import { mean, median } from './stats.ts';

export interface StoreBenchResult {
  name: string;
  lines: string[];
  pass: boolean;
}

/** The four records a run's life writes. */
const STATES: RunRecord['state'][] = ['requested', 'queued', 'running', 'succeeded'];
const WRITES = 400;
const OPENS = 5;
/** Start-up and a write may cost at most this many times what they cost with the smallest history … */
const MAX_RATIO = { open: 2, write: 1.5 };
/** … or this much more: below it, a difference is the scheduling noise of a loaded 2-core machine, not growth. */
const NOISE_MS = { open: 25, write: 1 };

function benchRun(id: string, index: number, state: RunRecord['state']): RunRecord {
  const at = new Date(Date.UTC(2026, 0, 1) + index * 1000).toISOString();
  return {
    id,
    actionId: 'disk-usage',
    actionTitle: 'Disk usage',
    principalId: `person-${index % 500}`,
    tenant: 'contoso',
    state,
    inputs: { Path: '/var/log', Top: 10 },
    origin: { kind: 'webchat', conversationId: `conv-${index % 97}` },
    correlationId: `00000000-0000-4000-8000-${index.toString(16).padStart(12, '0')}`,
    scriptId: 'disk-usage',
    scriptHash: 'a'.repeat(64),
    runAs: { kind: 'pool' },
    timeoutSeconds: 120,
    notify: [],
    createdAt: at,
    updatedAt: at,
    ...(state === 'succeeded' ? { startedAt: at, endedAt: at, durationMs: 240 } : {}),
  };
}

/** A history of `count` runs in runs.jsonl, each as the four lines its life would have written, flushed. */
async function prefillFile(path: string, count: number): Promise<void> {
  const handle = await open(path, 'w', 0o600);
  try {
    for (let from = 0; from < count; from += 10_000) {
      const lines: string[] = [];
      for (let index = from; index < Math.min(count, from + 10_000); index += 1) {
        for (const state of STATES) lines.push(JSON.stringify(benchRun(`run_old_${index}`, index, state)));
      }
      await handle.write(`${lines.join('\n')}\n`);
    }
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** The same history in deputy.runs: the latest record of each run. */
async function prefillPostgres(url: string, count: number): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    for (let from = 0; from < count; from += 5000) {
      const runs = Array.from({ length: Math.min(5000, count - from) }, (_, offset) => benchRun(`run_old_${from + offset}`, from + offset, 'succeeded'));
      await client.query('INSERT INTO deputy.runs (id, principal_id, state, record) SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::json[])', [
        runs.map((run) => run.id),
        runs.map((run) => run.principalId),
        runs.map((run) => run.state),
        runs.map((run) => JSON.stringify(run)),
      ]);
    }
    await client.query('VACUUM ANALYZE deputy.runs');
  } finally {
    await client.end();
  }
}

/** 400 awaited writes: 100 runs created and moved through their states, on the asynchronous port. */
async function timeAsyncWrites(runs: AsyncRunStore, behind: number): Promise<number[]> {
  const times: number[] = [];
  for (let index = 0; index < WRITES; index += 1) {
    const n = Math.floor(index / STATES.length);
    const state = STATES[index % STATES.length] as RunRecord['state'];
    const run = benchRun(`run_new_${n}`, behind + n, state);
    const started = performance.now();
    if (index % STATES.length === 0) await runs.create(run);
    else await runs.transition(run.id, STATES[(index % STATES.length) - 1] as RunRecord['state'], run);
    times.push(performance.now() - started);
  }
  return times;
}

interface Measurement {
  runs: number;
  openMs: number;
  writeMs: number;
  note?: string;
}

interface Backend {
  name: string;
  /** Whether start-up and writes must stay flat (today's FileRuns is measured as the baseline to beat). */
  goal: boolean;
  /** Larger histories are not measured, and why. */
  limit?: { runs: number; why: string };
  measure(runs: number): Promise<Measurement>;
}

async function timedOpens(openOnce: () => Promise<{ close(): Promise<void> }>): Promise<number> {
  const times: number[] = [];
  for (let attempt = 0; attempt < OPENS; attempt += 1) {
    const started = performance.now();
    const store = await openOnce();
    times.push(performance.now() - started);
    await store.close();
  }
  return median(times);
}

async function inDataFolder<T>(work: (dataDir: string) => Promise<T>): Promise<T> {
  const dataDir = await mkdtemp(join(tmpdir(), 'deputy-bench-store-'));
  try {
    return await work(dataDir);
  } finally {
    await rm(dataDir, { recursive: true, force: true });
  }
}

const fileRuns: Backend = {
  name: 'files, FileRuns (today: replays runs.jsonl at open)',
  goal: false,
  limit: { runs: 100_000, why: 'it reads and holds every run in memory at each open' },
  measure: (count) =>
    inDataFolder(async (dataDir) => {
      await prefillFile(join(dataDir, 'runs.jsonl'), count);
      const openStore = () => createFileStore({ dataDir, clock: systemClock, logger: silentLogger() });
      const openMs = await timedOpens(openStore);
      const store = await openStore();
      const times: number[] = [];
      for (let index = 0; index < WRITES; index += 1) {
        const run = benchRun(`run_new_${Math.floor(index / STATES.length)}`, count + index, STATES[index % STATES.length] as RunRecord['state']);
        const started = performance.now();
        await store.runs.put(run);
        times.push(performance.now() - started);
      }
      await store.close();
      return { runs: count, openMs, writeMs: mean(times) };
    }),
};

const indexedFileRuns: Backend = {
  name: 'files, IndexedFileRuns (asynchronous port: checkpointed index)',
  goal: true,
  measure: (count) =>
    inDataFolder(async (dataDir) => {
      await prefillFile(join(dataDir, 'runs.jsonl'), count);
      const openRuns = () => IndexedFileRuns.open({ path: join(dataDir, 'runs.jsonl'), indexDir: join(dataDir, 'runs-index'), outputDir: join(dataDir, 'output'), logger: silentLogger() });
      const conversionStarted = performance.now();
      await (await openRuns()).close();
      const conversionMs = performance.now() - conversionStarted;
      const openMs = await timedOpens(openRuns);
      const runs = await openRuns();
      const times = await timeAsyncWrites(runs, count);
      // The checkpoint that makes these writes part of the index (in production, one per 10,000 writes, in the background).
      const checkpointStarted = performance.now();
      await runs.checkpoint();
      const checkpointMs = performance.now() - checkpointStarted;
      await runs.close();
      return {
        runs: count,
        openMs,
        writeMs: mean(times),
        note: `checkpoint of the ${WRITES} writes ${checkpointMs.toFixed(0)} ms; the first open built the index from runs.jsonl once, in ${conversionMs.toFixed(0)} ms`,
      };
    }),
};

function postgresBackend(adminUrl: string): Backend {
  return {
    name: 'PostgreSQL, asynchronous port (fsync and synchronous_commit on)',
    goal: true,
    measure: async (count) => {
      const database = await createTestDatabase(adminUrl);
      try {
        const options = { url: database.url, clock: systemClock, logger: silentLogger(), poolSize: 4 };
        // The first open creates the schema; the history goes in after it.
        await (await openPostgresBackend(options)).close();
        await prefillPostgres(database.url, count);
        // Start-up as an executor's: connect, check migrations, listen, load the catalog, read the unfinished runs.
        const openMs = await timedOpens(async () => {
          const backend = await openPostgresBackend(options);
          await backend.state.runs.unfinished();
          return backend;
        });
        const backend = await openPostgresBackend(options);
        const times = await timeAsyncWrites(backend.state.runs, count);
        await backend.close();
        return { runs: count, openMs, writeMs: mean(times) };
      } finally {
        await database.drop();
      }
    },
  };
}

function historySizes(): number[] {
  const text = process.env.DEPUTY_BENCH_RUNS ?? '1000,100000';
  const sizes = text.split(',').map((item) => Number(item.trim()));
  if (sizes.length < 2 || sizes.some((size) => !Number.isInteger(size) || size < 1)) throw new Error(`DEPUTY_BENCH_RUNS: a comma-separated list of at least two run counts, not "${text}"`);
  return sizes.sort((a, b) => a - b);
}

function report(backend: Backend, measurements: Measurement[]): StoreBenchResult {
  const base = measurements[0] as Measurement;
  const lines: string[] = [];
  let flat = true;
  for (const measurement of measurements) {
    const openRatio = measurement.openMs / base.openMs;
    const writeRatio = measurement.writeMs / base.writeMs;
    const grew = (value: number, baseline: number, kind: 'open' | 'write') => value > Math.max(baseline * MAX_RATIO[kind], baseline + NOISE_MS[kind]);
    if (grew(measurement.openMs, base.openMs, 'open') || grew(measurement.writeMs, base.writeMs, 'write')) flat = false;
    lines.push(
      `${measurement.runs.toLocaleString('en').padStart(9)} runs: start-up ${measurement.openMs.toFixed(1).padStart(8)} ms (×${openRatio.toFixed(2)}), ` +
        `write ${measurement.writeMs.toFixed(3)} ms (×${writeRatio.toFixed(2)})${measurement.note ? `; ${measurement.note}` : ''}`,
    );
  }
  const goal = `start-up ×≤${MAX_RATIO.open} (or +${NOISE_MS.open} ms), write ×≤${MAX_RATIO.write} (or +${NOISE_MS.write} ms) against ${base.runs.toLocaleString('en')} runs`;
  return {
    name: `${backend.name}: ${backend.goal ? goal : 'baseline, no goal'}`,
    pass: !backend.goal || flat,
    lines,
  };
}

export async function benchStore(): Promise<StoreBenchResult[]> {
  const sizes = historySizes();
  const cluster = await startPostgresCluster({ durable: true });
  try {
    const results: StoreBenchResult[] = [];
    for (const backend of [fileRuns, indexedFileRuns, postgresBackend(cluster.adminUrl)]) {
      // Warm the file system, the JIT and the server before the measured sizes.
      await backend.measure(100);
      const measurements: Measurement[] = [];
      for (const size of sizes.filter((runs) => runs <= (backend.limit?.runs ?? Number.POSITIVE_INFINITY))) measurements.push(await backend.measure(size));
      const result = report(backend, measurements);
      const skipped = sizes.filter((runs) => backend.limit && runs > backend.limit.runs);
      if (skipped.length > 0) result.lines.push(`not measured at ${skipped.map((runs) => runs.toLocaleString('en')).join(', ')} runs: ${backend.limit?.why}`);
      results.push(result);
    }
    return results;
  } finally {
    cluster.stop();
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  for (const result of await benchStore()) {
    console.log(`${result.pass ? 'PASS' : 'MISS'}  ${result.name}`);
    for (const line of result.lines) console.log(`      ${line}`);
  }
}
