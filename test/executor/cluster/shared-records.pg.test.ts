/**
 * What one executor of a cluster decides, the other holds to (real `deputy executor` processes on
 * one PostgreSQL, started at the same moment): the catalog is imported once, a plan disabled
 * through A is disabled on B, a script review decided through A is known to B (and a second
 * decision there is refused, naming who decided), a signed hook accepted by A is a replay on B
 * unless it repeats its Idempotency-Key (then B answers with A's run), a mail delivered to both
 * at once starts one run and gets one answer, expired records are pruned by one of them, and a
 * cancel sent while the holder's listening connection is down reaches it once the connection is back.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { signPayload } from '../../../executor/connectors/signature.ts';
import { isFinalRunState, type PlanView, type RunView, type ScriptView } from '../../../executor/contract/index.ts';
import { useTestDatabase, withClient } from '../../helpers/postgres.ts';
import { MailSink, sendMail } from '../mail/fixture.ts';
import { CLUSTER_CATALOG, clusterSecrets, startExecutorProcess, until, type ExecutorProcess } from './processes.ts';

/** The cluster catalog, with a plan, a script waiting in Testing, a signed web service connector, and a mailbox answering through `relayPort`. */
function sharedRecordsCatalog(hookKey: string, relayPort: number): string {
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
  - id: mailbox
    kind: mail
    principal: hook-bot
    actions: [mark]
    allowSenders: [alice@contoso.example]
    listen: { host: 127.0.0.1, port: 0 }
    replyVia: { host: 127.0.0.1, port: ${relayPort} }
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
  const relay = new MailSink();
  let catalog: string;
  let a: ExecutorProcess;
  let b: ExecutorProcess;

  before(async function () {
    this.timeout(180_000);
    await relay.start();
    catalog = sharedRecordsCatalog(hookKey, relay.port);
    const secrets = clusterSecrets(runDataDir);
    // Together, on a new database: both would import the catalog folder, but only one may.
    // At info level, each says where its mail listener is bound; the prune duty every second.
    const start = (id: string) =>
      startExecutorProcess({ id, databaseUrl: databaseUrl(), secrets, catalog, env: { DEPUTY_LOG_LEVEL: 'info', DEPUTY_PRUNE_INTERVAL_SECONDS: '1' } });
    [a, b] = await Promise.all([start('exec-a'), start('exec-b')]);
  });

  after(async function () {
    this.timeout(60_000);
    for (const executor of [a, b]) {
      await executor?.stop();
      executor?.dispose();
    }
    await relay.close();
    rmSync(catalog, { recursive: true, force: true });
    rmSync(runDataDir, { recursive: true, force: true });
  });

  /** The executor's log lines (JSON), for what it says about itself. */
  const logLines = (executor: ExecutorProcess) =>
    executor
      .output()
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as { msg?: string; connector?: string; port?: number; removed?: Record<string, number> });

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

  it('a mail handled by one executor is a repeat on the other: one run, one mark, one answer, when both get it at once', async () => {
    const mailPort = (executor: ExecutorProcess) => {
      const port = logLines(executor).find((line) => line.msg === 'mail connector listening' && line.connector === 'mailbox')?.port;
      assert.ok(port, `${executor.id} says where its mailbox listens:\n${executor.output()}`);
      return port;
    };
    const token = `mail-${randomBytes(4).toString('hex')}`;
    const messageId = `<${token}@contoso.example>`;
    const mail = { from: 'alice@contoso.example', subject: 'run mark', text: `Token: ${token}`, messageId };
    // The sender's server delivered it twice, once to each executor's listener (two MX hosts, a retry after a timeout).
    await Promise.all([sendMail(mailPort(a), mail), sendMail(mailPort(b), mail)]);
    const answer = await relay.waitForReply(messageId, 60_000);
    assert.match(answer.parsed.text ?? '', /succeeded/i);
    const runs = await sql<{ id: string }>(`SELECT id FROM deputy.runs WHERE record->'origin'->>'conversationId' = $1`, [messageId]);
    assert.equal(runs.length, 1, 'one run for the message');
    assert.equal(readFileSync(join(runDataDir, `mark-${token}`), 'utf8').trim(), 'ran', 'it ran once');
    const decisions = await sql<{ outcome: string; reason: string | null }>(
      `SELECT line::json->>'outcome' AS outcome, line::json->'detail'->>'reason' AS reason FROM deputy.audit
       WHERE line::json->>'type' = 'mail.message' AND line::json->'detail'->>'messageId' = $1`,
      [messageId],
    );
    assert.deepEqual(decisions.map((decision) => [decision.outcome, decision.reason]).sort(), [
      ['allowed', null],
      ['denied', 'repeated Message-ID: already handled'],
    ]);
    assert.equal(relay.repliesTo(messageId).length, 1, 'the repeat is not answered');
  });

  it('drops expired records of every kind from the database on its own (a pass a second here), and keeps the live ones', async () => {
    const tag = randomBytes(4).toString('hex');
    const expiredKey = `expired-${tag}`;
    const liveKey = `live-${tag}`;
    await sql(
      `INSERT INTO deputy.idempotency_keys (kind, scope, key, body_hash, answer, created_at, expires_at) VALUES
         ('hook', 'itsm', $1, 'b', '{"runId":"run_x","state":"queued","correlationId":"c"}', now() - interval '2 days', now() - interval '1 day'),
         ('run', 'principal:alex', $1, 'b', NULL, now() - interval '2 days', now() - interval '1 day'),
         ('hook', 'itsm', $2, 'b', '{"runId":"run_y","state":"queued","correlationId":"c"}', now(), now() + interval '1 day')`,
      [expiredKey, liveKey],
    );
    await sql(`INSERT INTO deputy.hook_signatures (connector, digest, expires_at) VALUES ('itsm', $1, now() - interval '1 minute'), ('itsm', $2, now() + interval '1 hour')`, [
      expiredKey,
      liveKey,
    ]);
    await sql(
      `INSERT INTO deputy.mail_messages (connector, message_id, entry, at) VALUES
         ('mailbox', $1, '{}', now() - interval '31 days'), ('mailbox', $2, '{}', now() - interval '29 days')`,
      [expiredKey, liveKey],
    );
    const [{ seq } = { seq: '' }] = await sql<{ seq: string }>(`UPDATE deputy.outbox SET created_at = now() - interval '8 days' WHERE seq = (SELECT min(seq) FROM deputy.outbox) RETURNING seq`);
    const left = async (key: string) =>
      (
        await sql<{ count: number }>(
          `SELECT (SELECT count(*) FROM deputy.idempotency_keys WHERE key = $1) + (SELECT count(*) FROM deputy.hook_signatures WHERE digest = $1)
                + (SELECT count(*) FROM deputy.mail_messages WHERE message_id = $1) AS count`,
          [key],
        )
      )[0]?.count;
    await until('the expired rows to be pruned', async () => Number(await left(expiredKey)) === 0 && (await sql(`SELECT 1 FROM deputy.outbox WHERE seq = $1`, [seq])).length === 0, 30_000);
    assert.equal(Number(await left(liveKey)), 3, 'the live rows stay');
    const [lease] = await sql<{ holder: string }>(`SELECT holder FROM deputy.leases WHERE name = 'duty:prune'`);
    assert.ok(lease && ['exec-a', 'exec-b'].includes(lease.holder), `the duty's lease: ${JSON.stringify(lease)}`);
    const pruned = (executor: ExecutorProcess) => logLines(executor).filter((line) => line.removed !== undefined && /^pruned \d+ expired records$/.test(line.msg ?? ''));
    assert.ok(pruned(a).length + pruned(b).length > 0, 'a pass said what it removed');
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
