/**
 * Two `deputy executor` processes (real processes, real pwsh) on one PostgreSQL: runs move
 * between them, a cancel reaches the one that holds the run, and when one dies with SIGKILL its
 * running runs become `interrupted` while its queued runs run on the other, none lost, none twice.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isFinalRunState, RunEventSchema, type RunEvent, type RunView } from '../../../executor/contract/index.ts';
import { useTestDatabase, withClient } from '../../helpers/postgres.ts';
import { clusterSecrets, startExecutorProcess, until, type ExecutorProcess } from './processes.ts';

interface StoredRun {
  id: string;
  state: string;
  executor: string | null;
  token: string | null;
}

/** Reads `GET /v1/events` until `done` says enough (or the stream ends). */
async function readEvents(executor: ExecutorProcess, done: (events: RunEvent[]) => boolean, headers: Record<string, string> = {}): Promise<RunEvent[]> {
  return (await openEvents(executor, headers))(done);
}

/** Opens `GET /v1/events` (resolves once the executor answered, so it is subscribed); the result reads it. */
async function openEvents(executor: ExecutorProcess, headers: Record<string, string> = {}): Promise<(done: (events: RunEvent[]) => boolean) => Promise<RunEvent[]>> {
  const response = await executor.api('/v1/events', { headers });
  assert.equal(response.status, 200);
  return (done) => readStream(response, done);
}

async function readStream(response: Response, done: (events: RunEvent[]) => boolean): Promise<RunEvent[]> {
  const reader = (response.body as ReadableStream<Uint8Array>).getReader();
  const decoder = new TextDecoder();
  const events: RunEvent[] = [];
  let buffer = '';
  try {
    while (!done(events)) {
      const { value, done: ended } = await reader.read();
      if (ended) break;
      buffer += decoder.decode(value, { stream: true });
      for (let end = buffer.indexOf('\n\n'); end >= 0; end = buffer.indexOf('\n\n')) {
        const message = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const data = message.split('\n').find((line) => line.startsWith('data: '));
        const event = data ? (JSON.parse(data.slice(6)) as { type: string }) : undefined;
        if (event?.type.startsWith('run.')) events.push(RunEventSchema.parse(event));
      }
    }
  } finally {
    await reader.cancel();
  }
  return events;
}

describe('a cluster of two executors on one PostgreSQL (real processes, real pwsh)', function () {
  this.timeout(240_000);
  const databaseUrl = useTestDatabase();
  const runDataDir = join(tmpdir(), `deputy-cluster-run-data-${randomBytes(6).toString('hex')}`);
  let a: ExecutorProcess;
  let b: ExecutorProcess;

  const storedRuns = (where = 'true', values: unknown[] = []) =>
    withClient(databaseUrl(), async (client) => {
      const { rows } = await client.query<StoredRun>(
        `SELECT id, state, record->>'executor' AS executor, record->'inputs'->>'Token' AS token FROM deputy.runs WHERE ${where}`,
        values,
      );
      return rows;
    });

  before(async function () {
    this.timeout(180_000);
    const secrets = clusterSecrets(runDataDir);
    // One after the other: the first migrates the database and imports the catalog, the second finds both done.
    a = await startExecutorProcess({ id: 'exec-a', databaseUrl: databaseUrl(), secrets });
    b = await startExecutorProcess({ id: 'exec-b', databaseUrl: databaseUrl(), secrets });
  });

  after(async function () {
    this.timeout(60_000);
    for (const executor of [a, b]) {
      await executor?.stop();
      executor?.dispose();
    }
    rmSync(runDataDir, { recursive: true, force: true });
  });

  const submit = (executor: ExecutorProcess, actionId: string, inputs: Record<string, unknown>, key?: string) =>
    executor.api('/v1/runs', { method: 'POST', json: { actionId, principalId: 'alex', inputs, origin: { kind: 'api' } }, ...(key ? { headers: { 'idempotency-key': key } } : {}) });

  const view = async (executor: ExecutorProcess, id: string) => (await (await executor.operatorApi(`/v1/runs/${id}`)).json()) as RunView;

  it('streams every executor’s events on each, resumable with Last-Event-ID on the other', async () => {
    const token = `sse-${randomBytes(4).toString('hex')}`;
    const finished = (events: RunEvent[]) => events.some((event) => event.type === 'run.finished' && event.run.inputs.Token === token);
    const live = await openEvents(a);
    const response = await submit(b, 'mark', { Token: token, Milliseconds: 0 });
    assert.equal(response.status, 202);
    const seen = (await live(finished)).filter((event) => event.run.inputs.Token === token);
    assert.deepEqual([seen[0]?.type, seen.at(-1)?.type], ['run.created', 'run.finished'], 'exec-b’s run, followed on exec-a');
    const first = seen[0] as RunEvent;
    // Resumed on the other executor from just before the first event: the same events, in the same order, with the same numbers.
    const resumed = (await readEvents(b, finished, { 'last-event-id': String(first.seq - 1) })).filter((event) => event.run.inputs.Token === token);
    assert.deepEqual(resumed.map((event) => [event.seq, event.type]), seen.map((event) => [event.seq, event.type]));
  });

  it('shows a run submitted to one executor through the other, which can cancel it where it runs', async () => {
    const response = await submit(b, 'sleep', { Seconds: 120 });
    assert.equal(response.status, 202, await response.clone().text());
    const { id } = (await response.json()) as { id: string };
    const running = await until('the run to start', async () => {
      const seen = await view(a, id);
      return seen.state === 'running' && seen;
    }, 60_000);
    assert.equal(running.actionId, 'sleep', 'visible through the executor it was not submitted to');
    // Whichever executor took it from the shared queue holds it; the cancel goes to the other one.
    const [stored] = await storedRuns('id = $1', [id]);
    const holder = stored?.executor;
    assert.ok(holder === 'exec-a' || holder === 'exec-b', `held by ${holder}`);
    const elsewhere = holder === 'exec-a' ? b : a;
    const cancel = await elsewhere.api(`/v1/runs/${id}/cancel`, { method: 'POST', json: { principalId: 'alex' } });
    assert.equal(cancel.status, 202, await cancel.clone().text());
    const ended = await until(`the cancel to reach ${holder}`, async () => {
      const seen = await view(elsewhere, id);
      return isFinalRunState(seen.state) && seen;
    }, 30_000);
    assert.equal(ended.state, 'cancelled');
    const entries = await withClient(databaseUrl(), async (client) =>
      (await client.query<{ line: string }>(`SELECT line FROM deputy.audit WHERE line::json->>'subject' = $1 AND line::json->>'type' = 'run.cancel'`, [id])).rows,
    );
    assert.equal(entries.length, 1, 'the cancel is audited once');
  });

  it('runs 300 runs submitted to both in turn, once each, through the SIGKILL of one of them', async () => {
    const total = 300;
    const tag = randomBytes(4).toString('hex');
    const tokens = Array.from({ length: total }, (_, index) => `${tag}-${index}`);
    const acceptedBy = new Map<string, string>();
    const runOf = new Map<string, string>();
    let dead = false;
    let next = 0;

    /** One client: submits in turn to a and b, each run under an Idempotency-Key, so a request a never answered is sent to b again without running twice. */
    const client = async () => {
      for (let index = next++; index < total; index = next++) {
        const token = tokens[index] as string;
        const executor = index % 2 === 0 && !dead ? a : b;
        try {
          const response = await submit(executor, 'mark', { Token: token, Milliseconds: 150 }, token);
          assert.equal(response.status, 202, await response.clone().text());
          runOf.set(token, ((await response.json()) as { id: string }).id);
          acceptedBy.set(token, executor.id);
        } catch (error) {
          if (executor !== a) throw error;
          // a died with this request open: it may have stored the run or not. The same key on b finds it, or starts it.
          await until('exec-a to be dead', async () => dead, 60_000, 20);
          const retried = await submit(b, 'mark', { Token: token, Milliseconds: 150 }, token);
          assert.equal(retried.status, 202, await retried.clone().text());
          runOf.set(token, ((await retried.json()) as { id: string }).id);
          acceptedBy.set(token, 'exec-b');
        }
      }
    };

    const clients = Array.from({ length: 12 }, () => client());
    // Kill a in the middle, at a moment it is running runs and runs it accepted are still queued.
    const killedAt = await until('exec-a to be running runs with more of its runs queued', async () => {
      if (next < total / 3) return undefined;
      const held = await storedRuns(`state = 'running' AND record->>'executor' = 'exec-a'`);
      const waiting = await storedRuns(`state = 'queued' AND record->>'executor' = 'exec-a'`);
      return held.length > 0 && waiting.length > 0 && Date.now();
    }, 120_000, 50);
    await a.kill();
    dead = true;
    const heldByDead = await storedRuns(`state = 'running' AND record->>'executor' = 'exec-a'`);
    const queuedOfDead = await storedRuns(`state = 'queued' AND record->>'executor' = 'exec-a'`);
    const failoverMs = await until('a run exec-a accepted to start on exec-b', async () => {
      const moved = await storedRuns(`id = ANY($1) AND record->>'executor' = 'exec-b'`, [queuedOfDead.map((run) => run.id)]);
      return moved.length > 0 && Date.now() - killedAt;
    }, 60_000, 50);
    await Promise.all(clients);

    const ids = tokens.map((token) => runOf.get(token));
    assert.ok(ids.every((id) => id !== undefined), 'every submission has a run');
    const finals = await until('every run to end', async () => {
      const rows = await storedRuns(`id = ANY($1)`, [ids]);
      return rows.length === total && rows.every((row) => isFinalRunState(row.state as RunView['state'])) && rows;
    }, 150_000, 250);
    const byId = new Map(finals.map((row) => [row.id, row]));

    // None lost, none twice: each run's mark holds one line per execution.
    const marks = tokens.map((token) => {
      const file = join(runDataDir, `mark-${token}`);
      return existsSync(file) ? readFileSync(file, 'utf8').split('\n').filter(Boolean).length : 0;
    });
    assert.deepEqual(marks.filter((count) => count > 1), [], 'no run ran twice');
    for (const [index, token] of tokens.entries()) {
      const run = byId.get(runOf.get(token) as string);
      if (run?.state === 'succeeded') assert.equal(marks[index], 1, `${token} succeeded and left one mark`);
      else assert.equal(run?.state, 'interrupted', `${token} ended ${run?.state}`);
    }
    // The dead executor's running runs were interrupted; its queued ones succeeded on the other.
    assert.ok(heldByDead.length > 0 && queuedOfDead.length > 0);
    for (const run of heldByDead) assert.equal(byId.get(run.id)?.state ?? (await storedRuns('id = $1', [run.id]))[0]?.state, 'interrupted');
    for (const run of queuedOfDead) {
      const [after] = await storedRuns('id = $1', [run.id]);
      assert.deepEqual({ state: after?.state, executor: after?.executor }, { state: 'succeeded', executor: 'exec-b' });
    }
    const interrupted = finals.filter((row) => row.state === 'interrupted');
    assert.ok(interrupted.every((row) => row.executor === 'exec-a'), 'only the dead executor’s runs were interrupted');
    const succeeded = finals.filter((row) => row.state === 'succeeded').length;
    process.stdout.write(
      `      ${succeeded} succeeded, ${interrupted.length} interrupted (held by the dead executor), ${queuedOfDead.length} of its queued runs ran on exec-b; failover ${failoverMs} ms\n`,
    );
  });
});
