/**
 * `POST /v1/runs` with `Idempotency-Key`: one press runs once, per principal, for 24 hours,
 * also across an executor restart; the same key with another request is a 409.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ErrorBodySchema, HEADER_IDEMPOTENCY_KEY, HEADER_IDEMPOTENT_REPLAYED } from '../../executor/contract/index.ts';
import { ManualClock } from '../../lib/clock.ts';
import { startTestExecutor, type TestExecutor } from '../helpers/executor.ts';

function post(executor: TestExecutor, principalId: string, inputs: Record<string, unknown>, key?: string, actionId = 'echo') {
  return executor.api('/v1/runs', {
    method: 'POST',
    json: { actionId, principalId, inputs, origin: { kind: 'api' } },
    headers: key === undefined ? {} : { [HEADER_IDEMPOTENCY_KEY]: key },
  });
}

async function idOf(response: Response): Promise<string> {
  assert.equal(response.status, 202, await response.clone().text());
  return ((await response.json()) as { id: string }).id;
}

async function runsOf(executor: TestExecutor, principal: string): Promise<string[]> {
  const body = (await (await executor.api(`/v1/runs?principal=${principal}&limit=100`)).json()) as { runs: { id: string }[] };
  return body.runs.map((run) => run.id);
}

describe('POST /v1/runs with an Idempotency-Key', function () {
  this.timeout(60_000);
  let dataDir: string;
  let executor: TestExecutor;
  const clock = new ManualClock(Date.UTC(2026, 5, 1, 9, 0, 0));

  before(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'deputy-idempotency-'));
    executor = await startTestExecutor({ dataDir, clock });
  });
  after(async () => {
    await executor?.dispose();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('answers a repeat with the first run, says so, and starts nothing', async () => {
    const first = await post(executor, 'alex', { Message: 'once' }, 'card-1');
    assert.equal(first.headers.get(HEADER_IDEMPOTENT_REPLAYED), null);
    const id = await idOf(first);
    const again = await post(executor, 'alex', { Message: 'once' }, 'card-1');
    assert.equal(again.headers.get(HEADER_IDEMPOTENT_REPLAYED), 'true');
    assert.equal(await idOf(again), id);
    assert.equal((await runsOf(executor, 'alex')).filter((runId) => runId === id).length, 1);
    await executor.waitForRun(id);
  });

  it('starts one run for two presses that arrive together', async () => {
    const before = (await runsOf(executor, 'alex')).length;
    const [a, b] = await Promise.all([post(executor, 'alex', { Message: 'double' }, 'card-2'), post(executor, 'alex', { Message: 'double' }, 'card-2')]);
    const ids = [await idOf(a), await idOf(b)];
    assert.equal(ids[0], ids[1]);
    assert.equal((await runsOf(executor, 'alex')).length, before + 1);
    assert.deepEqual([a, b].map((response) => response.headers.get(HEADER_IDEMPOTENT_REPLAYED)).sort(), ['true', null].sort());
    await executor.waitForRun(ids[0] as string);
  });

  it('refuses the same key with other inputs or another action with 409 DEPUTY_E_CONFLICT', async () => {
    await executor.waitForRun(await idOf(await post(executor, 'alex', { Message: 'first' }, 'card-3')));
    for (const response of [await post(executor, 'alex', { Message: 'second' }, 'card-3'), await post(executor, 'alex', { Seconds: 1 }, 'card-3', 'sleep')]) {
      assert.equal(response.status, 409);
      assert.equal(ErrorBodySchema.parse(await response.json()).error.code, 'DEPUTY_E_CONFLICT');
    }
  });

  it('keeps keys apart per principal', async () => {
    const alex = await idOf(await post(executor, 'alex', { Message: 'mine' }, 'shared-key'));
    const bea = await idOf(await post(executor, 'bea', { Message: 'mine' }, 'shared-key'));
    assert.notEqual(alex, bea);
    await Promise.all([executor.waitForRun(alex), executor.waitForRun(bea)]);
  });

  it('does not remember a refused request, so a corrected one may use the key', async () => {
    const invalid = await post(executor, 'alex', { Message: 'x', Times: 99 }, 'card-4');
    assert.equal(invalid.status, 400);
    await executor.waitForRun(await idOf(await post(executor, 'alex', { Message: 'x', Times: 2 }, 'card-4')));
  });

  it('refuses a malformed key', async () => {
    const response = await post(executor, 'alex', { Message: 'x' }, 'has spaces in it');
    assert.equal(response.status, 400);
    assert.equal(ErrorBodySchema.parse(await response.json()).error.code, 'DEPUTY_E_BAD_REQUEST');
  });

  it('remembers a key across a restart, and forgets it after 24 hours', async () => {
    const id = await idOf(await post(executor, 'alex', { Message: 'durable' }, 'card-5'));
    await executor.waitForRun(id);
    await executor.close();
    executor = await startTestExecutor({ dataDir, clock });
    const replay = await post(executor, 'alex', { Message: 'durable' }, 'card-5');
    assert.equal(replay.headers.get(HEADER_IDEMPOTENT_REPLAYED), 'true');
    assert.equal(await idOf(replay), id);

    clock.advance(24 * 60 * 60_000 + 1000);
    const fresh = await idOf(await post(executor, 'alex', { Message: 'durable' }, 'card-5'));
    assert.notEqual(fresh, id);
    await executor.waitForRun(fresh);
  });
});
