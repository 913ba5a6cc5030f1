/**
 * Does start-up, or writing a run, cost more with a long history behind it? For each backend,
 * a history of 1,000 and 100,000 runs (set `DEPUTY_BENCH_RUNS=1000,100000,1000000` for more)
 * is laid down, then the store is opened five times (median kept) and 400 run writes are
 * timed one by one (each awaited, so each pays its own flush or commit), the sizes taking turns
 * round by round. Ratios are against the smallest history, measured in the same run.
 *
 * Backends: `FileRuns` (`createFileStore`, what integration's executor opens: replays runs.jsonl
 * at open), `openFileExecutorStore` (catalog, audit and `IndexedFileRuns`, the asynchronous port
 * on files: a checkpointed index, no replay), and PostgreSQL's asynchronous port on a private
 * cluster started here with fsync and synchronous_commit on.
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
import { createFileStore, openFileExecutorStore } from '../executor/store/file.ts';
import { openPostgresBackend } from '../executor/store/pg/index.ts';
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
/** The writes are made in this many rounds, each size taking its turn. */
const WRITE_ROUNDS = 10;
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

/** Write number `index` of a run's life on the asynchronous port: a create, then one transition per state. */
async function asyncWrite(runs: AsyncRunStore, behind: number, index: number): Promise<void> {
  const n = Math.floor(index / STATES.length);
  const step = index % STATES.length;
  const run = benchRun(`run_new_${n}`, behind + n, STATES[step] as RunRecord['state']);
  if (step === 0) await runs.create(run);
  else await runs.transition(run.id, STATES[step - 1] as RunRecord['state'], run);
}

/** A store opened on a history. */
interface OpenStore {
  write(index: number): Promise<void>;
  /** Makes the writes so far durable in the index (IndexedFileRuns); returns nothing elsewhere. */
  checkpoint?(): Promise<void>;
  close(): Promise<void>;
}

/** A history laid down for one backend. */
interface Place {
  runs: number;
  open(): Promise<OpenStore>;
  note?: string;
  dispose(): Promise<void>;
}

interface Backend {
  name: string;
  /** Whether start-up and writes must stay flat (today's FileRuns is measured as the baseline to beat). */
  goal: boolean;
  /** Larger histories are not measured, and why. */
  limit?: { runs: number; why: string };
  prepare(runs: number): Promise<Place>;
}

interface Measurement {
  runs: number;
  openMs: number;
  writeMs: number;
  note?: string;
}

async function dataFolder(): Promise<{ dataDir: string; dispose(): Promise<void> }> {
  const dataDir = await mkdtemp(join(tmpdir(), 'deputy-bench-store-'));
  return { dataDir, dispose: () => rm(dataDir, { recursive: true, force: true }) };
}

const fileRuns: Backend = {
  name: 'files, FileRuns (today: replays runs.jsonl at open)',
  goal: false,
  limit: { runs: 100_000, why: 'it reads and holds every run in memory at each open' },
  prepare: async (count) => {
    const { dataDir, dispose } = await dataFolder();
    await prefillFile(join(dataDir, 'runs.jsonl'), count);
    return {
      runs: count,
      dispose,
      open: async () => {
        const store = await createFileStore({ dataDir, clock: systemClock, logger: silentLogger() });
        return {
          write: (index) => store.runs.put(benchRun(`run_new_${Math.floor(index / STATES.length)}`, count + index, STATES[index % STATES.length] as RunRecord['state'])),
          close: () => store.close(),
        };
      },
    };
  },
};

const indexedFileRuns: Backend = {
  name: 'files, openFileExecutorStore (catalog, audit, IndexedFileRuns: checkpointed index)',
  goal: true,
  prepare: async (count) => {
    const { dataDir, dispose } = await dataFolder();
    await prefillFile(join(dataDir, 'runs.jsonl'), count);
    // The whole file store an executor opens, not the run store alone: start-up is all of it.
    const openStore = () => openFileExecutorStore({ dataDir, clock: systemClock, logger: silentLogger() });
    const conversionStarted = performance.now();
    await (await openStore()).close();
    const conversionMs = performance.now() - conversionStarted;
    return {
      runs: count,
      dispose,
      note: `the first open built the index from runs.jsonl once, in ${conversionMs.toFixed(0)} ms`,
      open: async () => {
        const store = await openStore();
        return { write: (index) => asyncWrite(store.runs, count, index), checkpoint: () => store.runs.checkpoint(), close: () => store.close() };
      },
    };
  },
};

function postgresBackend(adminUrl: string): Backend {
  return {
    name: 'PostgreSQL, asynchronous port (fsync and synchronous_commit on)',
    goal: true,
    prepare: async (count) => {
      const database = await createTestDatabase(adminUrl);
      const options = { url: database.url, clock: systemClock, logger: silentLogger(), poolSize: 4 };
      // The first open creates the schema; the history goes in after it.
      await (await openPostgresBackend(options)).close();
      await prefillPostgres(database.url, count);
      return {
        runs: count,
        dispose: () => database.drop(),
        // Start-up as an executor's: connect, check migrations, listen, load the catalog, read the unfinished runs.
        open: async () => {
          const backend = await openPostgresBackend(options);
          await backend.state.runs.unfinished();
          return { write: (index) => asyncWrite(backend.state.runs, count, index), close: () => backend.close() };
        },
      };
    },
  };
}

/**
 * Opens and writes take turns between the histories (round by round), so a burst of load on this
 * shared machine falls on all sizes alike instead of on whichever was measured at that moment.
 */
async function measure(backend: Backend, sizes: number[]): Promise<Measurement[]> {
  const places: Place[] = [];
  try {
    for (const size of sizes) places.push(await backend.prepare(size));
    const openMs = places.map((): number[] => []);
    for (let round = 0; round < OPENS; round += 1) {
      for (const [index, place] of places.entries()) {
        const started = performance.now();
        const store = await place.open();
        openMs[index]?.push(performance.now() - started);
        await store.close();
      }
    }
    const stores = await Promise.all(places.map((place) => place.open()));
    const writeMs = places.map((): number[] => []);
    const perRound = WRITES / WRITE_ROUNDS;
    for (let round = 0; round < WRITE_ROUNDS; round += 1) {
      for (const [index, store] of stores.entries()) {
        for (let write = round * perRound; write < (round + 1) * perRound; write += 1) {
          const started = performance.now();
          await store.write(write);
          writeMs[index]?.push(performance.now() - started);
        }
      }
    }
    const notes = await Promise.all(
      stores.map(async (store, index) => {
        const checkpoint = store.checkpoint;
        if (!checkpoint) return places[index]?.note;
        // The checkpoint that makes these writes part of the index (in production one per 10,000 writes, in the background).
        const started = performance.now();
        await checkpoint();
        return `checkpoint of the ${WRITES} writes ${(performance.now() - started).toFixed(0)} ms; ${places[index]?.note ?? ''}`;
      }),
    );
    await Promise.all(stores.map((store) => store.close()));
    return places.map((place, index) => ({ runs: place.runs, openMs: median(openMs[index] ?? []), writeMs: mean(writeMs[index] ?? []), ...(notes[index] ? { note: notes[index] } : {}) }));
  } finally {
    await Promise.all(places.map((place) => place.dispose()));
  }
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
      await measure(backend, [100]);
      const measurements = await measure(backend, sizes.filter((runs) => runs <= (backend.limit?.runs ?? Number.POSITIVE_INFINITY)));
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
