/**
 * What one executor of a cluster decides, the other holds to (real `deputy executor` processes on
 * one PostgreSQL, started at the same moment): the catalog is imported once, a plan disabled
 * through A is disabled on B, a script review decided through A is known to B (and a second
 * decision there is refused, naming who decided), a signed hook accepted by A is a replay on B
 * unless it repeats its Idempotency-Key (then B answers with A's run), and a cancel sent while
 * the holder's listening connection is down reaches it once the connection is back.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { signPayload } from '../../../executor/connectors/signature.ts';
import { isFinalRunState, type PlanView, type RunView, type ScriptView } from '../../../executor/contract/index.ts';
import { useTestDatabase, withClient } from '../../helpers/postgres.ts';
import { CLUSTER_CATALOG, clusterSecrets, startExecutorProcess, until, type ExecutorProcess } from './processes.ts';

/** The cluster catalog, with a plan, a script waiting in Testing, and a signed web service connector. */
function sharedRecordsCatalog(hookKey: string): string {
  const folder = mkdtempSync(join(tmpdir(), 'deputy-cluster-shared-'));
  cpSync(join(CLUSTER_CATALOG, 'scripts'), join(folder, 'scripts'), { recursive: true });
  writeFileSync(join(folder, 'hook.key'), `${hookKey}\n`, { mode: 0o600 });
  writeFileSync(join(folder, 'scripts', 'Candidate.ps1'), `# A new version, waiting for its review.\n${readFileSync(join(folder, 'scripts', 'Sleep.ps1'), 'utf8')}`);
  writeFileSync(
    join(folder, 'catalog.yaml'),
    `tenants:
  - { id: contoso, name: Contoso }
principals:
  - { id: alex, name: Alex (helpdesk), tenant: contoso, roles: [administrator], identities: { webchat: alex } }
  - { id: cyra, name: Cyra (cyber), tenant: contoso, roles: [cyber-admin] }
  - { id: hook-bot, name: ITSM connector, tenant: contoso, roles: [administrator] }
scripts:
  - { id: mark, file: scripts/Mark.ps1, tenant: contoso, status: approved }
  - { id: sleep, file: scripts/Sleep.ps1, tenant: contoso, status: approved }
  - { id: candidate, file: scripts/Candidate.ps1, tenant: contoso, status: testing }
actions:
  - id: sleep
    script: sleep
    title: Sleep a long while
    runAs: pool
    allow: { roles: [administrator], principals: [] }
    timeoutSeconds: 120
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
    // Together, on a new database: both would import the catalog folder, but only one may.
    const start = (id: string) => startExecutorProcess({ id, databaseUrl: databaseUrl(), secrets, catalog });
    [a, b] = await Promise.all([start('exec-a'), start('exec-b')]);
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

  const sql = <R extends object>(text: string, values: unknown[] = []) => withClient(databaseUrl(), async (client) => (await client.query<R>(text, values)).rows);

  it('imports the catalog once when both start at the same moment', async () => {
    const imports = await sql<{ correlation: string; entries: number }>(
      `SELECT line::json->>'correlationId' AS correlation, count(*)::int AS entries FROM deputy.audit WHERE line::json->>'type' = 'catalog.import' GROUP BY 1`,
    );
    assert.equal(imports.length, 1, `one import, not ${imports.length}`);
    assert.ok((imports[0]?.entries ?? 0) > 0);
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

  it('delivers a cancel sent while the holder’s listening connection was down once it is back', async () => {
    const response = await a.api('/v1/runs', { method: 'POST', json: { actionId: 'sleep', principalId: 'alex', inputs: { Seconds: 120 }, origin: { kind: 'api' } } });
    assert.equal(response.status, 202, await response.clone().text());
    const { id } = (await response.json()) as { id: string };
    const view = async (executor: ExecutorProcess) => (await (await executor.operatorApi(`/v1/runs/${id}`)).json()) as RunView;
    await until('the run to start', async () => (await view(a)).state === 'running', 60_000);
    const [{ executor: holderId } = { executor: '' }] = await sql<{ executor: string }>(`SELECT record->>'executor' AS executor FROM deputy.runs WHERE id = $1`, [id]);
    const [holder, elsewhere] = holderId === 'exec-a' ? [a, b] : [b, a];
    const [{ database } = { database: '' }] = await sql<{ database: string }>('SELECT current_database() AS database');
    const listening = `deputy-executor-${holder.id}-listen`;
    // No new connections for a moment, and the holder's listening one cut: the NOTIFY of the cancel cannot reach it.
    // (A database cannot refuse connections while the session saying so is connected to it: this one is not.)
    const elsewhereDb = new URL(databaseUrl());
    elsewhereDb.pathname = '/postgres';
    await withClient(elsewhereDb.toString(), async (admin) => {
      await admin.query(`ALTER DATABASE ${database} ALLOW_CONNECTIONS false`);
      try {
        await admin.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1', [listening]);
        await until('the listening connection to be gone', async () => (await admin.query('SELECT 1 FROM pg_stat_activity WHERE application_name = $1', [listening])).rowCount === 0, 10_000);
        const cancel = await elsewhere.api(`/v1/runs/${id}/cancel`, { method: 'POST', json: { principalId: 'alex' } });
        assert.equal(cancel.status, 202, await cancel.clone().text());
      } finally {
        await admin.query(`ALTER DATABASE ${database} ALLOW_CONNECTIONS true`);
      }
    });
    const ended = await until('the holder to stop the run', async () => {
      const seen = await view(elsewhere);
      return isFinalRunState(seen.state) && seen;
    }, 30_000);
    assert.equal(ended.state, 'cancelled');
  });
});
