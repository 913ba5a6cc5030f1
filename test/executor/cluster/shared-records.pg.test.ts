/**
 * What one executor of a cluster decides, the other holds to (real `deputy executor` processes on
 * one PostgreSQL): a plan disabled through A is disabled on B, a script review decided through A is
 * known to B (and a second decision there is refused, naming who decided), a signed hook accepted
 * by A is a replay on B unless it repeats its Idempotency-Key (then B answers with A's run).
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { signPayload } from '../../../executor/connectors/signature.ts';
import type { PlanView, ScriptView } from '../../../executor/contract/index.ts';
import { useTestDatabase } from '../../helpers/postgres.ts';
import { CLUSTER_CATALOG, clusterSecrets, startExecutorProcess, type ExecutorProcess } from './processes.ts';

/** The cluster catalog, with a plan, a script waiting in Testing, and a signed web service connector. */
function sharedRecordsCatalog(hookKey: string): string {
  const folder = mkdtempSync(join(tmpdir(), 'deputy-cluster-shared-'));
  cpSync(join(CLUSTER_CATALOG, 'scripts'), join(folder, 'scripts'), { recursive: true });
  writeFileSync(join(folder, 'hook.key'), `${hookKey}\n`, { mode: 0o600 });
  writeFileSync(
    join(folder, 'catalog.yaml'),
    `tenants:
  - { id: contoso, name: Contoso }
principals:
  - { id: alex, name: Alex (helpdesk), tenant: contoso, roles: [administrator] }
  - { id: cyra, name: Cyra (cyber), tenant: contoso, roles: [cyber-admin] }
  - { id: hook-bot, name: ITSM connector, tenant: contoso, roles: [administrator] }
scripts:
  - { id: mark, file: scripts/Mark.ps1, tenant: contoso, status: approved }
  - { id: candidate, file: scripts/Sleep.ps1, tenant: contoso, status: testing }
actions:
  - id: mark
    script: mark
    title: Leave a mark
    runAs: pool
    fixed: { Folder: '{runDataDir}' }
    allow: { roles: [administrator], principals: [] }
    timeoutSeconds: 60
connectors:
  - id: itsm
    principal: hook-bot
    actions: [mark]
    secretFile: hook.key
    mapping: { mark: { Token: "$.token" } }
plans:
  - { id: nightly, principal: alex, action: mark, inputs: { Token: nightly }, schedule: "0 3 * * *" }
`,
  );
  return folder;
}

async function until<T>(what: string, probe: () => Promise<T | undefined | false>, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

describe('records one executor decides hold on the other (two processes, one PostgreSQL)', function () {
  this.timeout(120_000);
  const databaseUrl = useTestDatabase();
  const hookKey = randomBytes(32).toString('hex');
  const runDataDir = join(tmpdir(), `deputy-cluster-shared-run-data-${randomBytes(6).toString('hex')}`);
  let catalog: string;
  let a: ExecutorProcess;
  let b: ExecutorProcess;

  before(async function () {
    this.timeout(180_000);
    catalog = sharedRecordsCatalog(hookKey);
    const secrets = clusterSecrets(runDataDir);
    a = await startExecutorProcess({ id: 'exec-a', databaseUrl: databaseUrl(), secrets, catalog });
    b = await startExecutorProcess({ id: 'exec-b', databaseUrl: databaseUrl(), secrets, catalog });
  });

  after(async function () {
    this.timeout(60_000);
    for (const executor of [a, b]) {
      await executor?.stop();
      executor?.dispose();
    }
    rmSync(catalog, { recursive: true, force: true });
    rmSync(runDataDir, { recursive: true, force: true });
  });

  const plan = async (executor: ExecutorProcess) => {
    const response = await executor.operatorApi('/v1/plans?principal=alex');
    assert.equal(response.status, 200, await response.clone().text());
    return ((await response.json()) as { plans: PlanView[] }).plans.find((candidate) => candidate.id === 'nightly');
  };

  it('a plan disabled through one executor is disabled on the other, and enabled again through it', async () => {
    assert.equal((await plan(b))?.enabled, true, 'enabled, as the catalog says');
    const disable = await a.operatorApi('/v1/plans/nightly/disable', { method: 'POST', json: { principalId: 'alex' } });
    assert.equal(disable.status, 200, await disable.clone().text());
    const onB = await plan(b);
    assert.equal(onB?.enabled, false, 'exec-b reads the state exec-a wrote');
    assert.equal(onB?.nextRunAt, undefined);
    const enable = await b.operatorApi('/v1/plans/nightly/enable', { method: 'POST', json: { principalId: 'alex' } });
    assert.equal(enable.status, 200, await enable.clone().text());
    assert.equal((await plan(a))?.enabled, true);
  });

  it('a script review decided through one executor is known to the other, which refuses to decide it again', async () => {
    const script = async (executor: ExecutorProcess) => (await (await executor.operatorApi('/v1/scripts/candidate?principal=cyra')).json()) as ScriptView;
    const { currentHash } = await script(a);
    const approve = (executor: ExecutorProcess) =>
      executor.operatorApi('/v1/scripts/candidate/status', { method: 'POST', json: { principalId: 'cyra', from: 'testing', to: 'approved', hash: currentHash, comment: 'looks fine' } });
    const approved = await approve(a);
    assert.equal(approved.status, 200, await approved.clone().text());
    // The catalog reaches exec-b through its NOTIFY; the review record is read from the shared store.
    const seen = await until('exec-b to see the approval', async () => {
      const view = await script(b);
      return view.status === 'approved' && view;
    }, 30_000);
    assert.equal(seen.review?.decision?.by, 'cyra');
    assert.equal(seen.review?.decision?.comment, 'looks fine');
    const again = await approve(b);
    assert.equal(again.status, 409);
    const body = (await again.json()) as { error: { message: string } };
    assert.match(body.error.message, /already decided: Cyra \(cyber\) approved it/);
  });

  it('a signed hook accepted by one executor is a replay on the other, unless it repeats its Idempotency-Key', async () => {
    const body = JSON.stringify({ token: `hook-${randomBytes(4).toString('hex')}` });
    const signature = signPayload(hookKey, body, Date.now());
    const send = (executor: ExecutorProcess, idempotencyKey?: string) =>
      fetch(`${executor.url}/v1/hooks/itsm`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-deputy-signature': signature, ...(idempotencyKey ? { 'idempotency-key': idempotencyKey } : {}) },
        body,
      });
    const first = await send(a, 'incident-42');
    assert.equal(first.status, 202, await first.clone().text());
    const { id } = (await first.json()) as { id: string };
    const retried = await send(b, 'incident-42');
    assert.equal(retried.status, 202, await retried.clone().text());
    assert.equal(((await retried.json()) as { id: string }).id, id, 'exec-b answers the retry with exec-a’s run');
    for (const key of [undefined, 'incident-43']) {
      const replayed = await send(b, key);
      assert.equal(replayed.status, 409, `a replay with ${key ?? 'no'} Idempotency-Key`);
      assert.equal(((await replayed.json()) as { error: { code: string } }).error.code, 'DEPUTY_E_REPLAY');
    }
  });
});
