/**
 * Does writing a run cost the same with a long history behind it? Times 1,000 puts into a
 * fresh store and into one with 100,000 runs already in `runs.jsonl` (written straight into
 * the file, as a long-running executor would have left it), and prints the ratio. Each put
 * is awaited, so every one pays its own fdatasync; a ratio near 1 means no per-put work
 * grows with history.
 *
 * Run alone with `node --import tsx bench/store.ts`; `npm run bench` runs it with the rest.
 */
import { mkdtemp, open, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { systemClock } from '../lib/clock.ts';
import { silentLogger } from '../lib/logger.ts';
import type { RunRecord } from '../executor/domain.ts';
import { createFileStore } from '../executor/store/file.ts';
import { mean, median } from './stats.ts';

export interface StoreBenchResult {
  name: string;
  lines: string[];
  pass: boolean;
}

export interface StoreBenchOptions {
  behind?: number;
  puts?: number;
  /** A put with history may cost at most this many times a put without (fdatasync times wander). */
  maxRatio?: number;
}

const STATES: RunRecord['state'][] = ['requested', 'queued', 'running', 'succeeded'];

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

/** A history of `count` runs, each as the four lines its life would have written. */
async function prefill(path: string, count: number): Promise<void> {
  const chunk: string[] = [];
  let text = '';
  for (let index = 0; index < count; index += 1) {
    for (const state of STATES) chunk.push(JSON.stringify(benchRun(`run_old_${index}`, index, state)));
    if (chunk.length >= 10_000) {
      text += `${chunk.join('\n')}\n`;
      chunk.length = 0;
    }
  }
  if (chunk.length > 0) text += `${chunk.join('\n')}\n`;
  // Flushed, as a running executor's history would be: otherwise the first measured
  // fdatasync would pay for writing the whole prefill.
  const handle = await open(path, 'w', 0o600);
  try {
    await handle.writeFile(text);
    await handle.sync();
  } finally {
    await handle.close();
  }
}

async function timePuts(behind: number, puts: number): Promise<{ openMs: number; putMs: number[] }> {
  const dataDir = await mkdtemp(join(tmpdir(), 'deputy-bench-store-'));
  try {
    if (behind > 0) await prefill(join(dataDir, 'runs.jsonl'), behind);
    const openedAt = performance.now();
    const store = await createFileStore({ dataDir, clock: systemClock, logger: silentLogger() });
    const openMs = performance.now() - openedAt;
    const putMs: number[] = [];
    for (let index = 0; index < puts; index += 1) {
      const run = benchRun(`run_new_${Math.floor(index / STATES.length)}`, behind + index, STATES[index % STATES.length]!);
      const startedAt = performance.now();
      await store.runs.put(run);
      putMs.push(performance.now() - startedAt);
    }
    await store.close();
    return { openMs, putMs };
  } finally {
    await rm(dataDir, { recursive: true, force: true });
  }
}


export async function benchStore(options: StoreBenchOptions = {}): Promise<StoreBenchResult[]> {
  const behind = options.behind ?? 100_000;
  const puts = options.puts ?? 1000;
  const maxRatio = options.maxRatio ?? 1.5;
  // Warm up the file system and the JIT, so the first measurement does not pay for both.
  await timePuts(0, 100);
  const empty = await timePuts(0, puts);
  const full = await timePuts(behind, puts);
  const ratio = mean(full.putMs) / mean(empty.putMs);
  return [
    {
      name: `a run put costs the same with ${behind.toLocaleString('en')} runs behind (ratio ≤ ${maxRatio})`,
      pass: ratio <= maxRatio,
      lines: [
        `${puts} awaited puts, 0 runs behind:        mean ${mean(empty.putMs).toFixed(3)} ms, median ${median(empty.putMs).toFixed(3)} ms`,
        `${puts} awaited puts, ${behind.toLocaleString('en')} runs behind:  mean ${mean(full.putMs).toFixed(3)} ms, median ${median(full.putMs).toFixed(3)} ms`,
        `ratio (with history / without): mean ${ratio.toFixed(2)}, median ${(median(full.putMs) / median(empty.putMs)).toFixed(2)}`,
        `opening the store with ${behind.toLocaleString('en')} runs (${(behind * STATES.length).toLocaleString('en')} lines) took ${full.openMs.toFixed(0)} ms`,
      ],
    },
  ];
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  for (const result of await benchStore()) {
    console.log(`${result.pass ? 'PASS' : 'MISS'}  ${result.name}`);
    for (const line of result.lines) console.log(`      ${line}`);
  }
}
