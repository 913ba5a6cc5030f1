import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadExecutorConfig } from '../../executor/config.ts';
import { DeputyError } from '../../executor/contract/index.ts';

describe('executor configuration', () => {
  it('has the fixed defaults', () => {
    const config = loadExecutorConfig({}, '/srv/deputy');
    assert.equal(config.port, 4100);
    assert.equal(config.host, '127.0.0.1');
    assert.equal(config.dataDir, '/srv/deputy/data');
    assert.equal(config.demo, false);
    assert.equal(config.tokens, undefined);
    assert.equal(config.logFormat, 'json');
  });

  it('keeps the files unless DEPUTY_DATABASE_URL names PostgreSQL; a bad URL stops start-up without echoing it', () => {
    const files = loadExecutorConfig({}, '/srv/deputy');
    assert.equal(files.databaseUrl, undefined);
    assert.equal(files.leaseMs, 15_000);
    const cluster = loadExecutorConfig({ DEPUTY_DATABASE_URL: 'postgresql://deputy:pw@db:5432/deputy', DEPUTY_EXECUTOR_ID: 'exec-1', DEPUTY_EXECUTOR_LEASE_SECONDS: '5' }, '/srv/deputy');
    assert.deepEqual([cluster.databaseUrl, cluster.executorId, cluster.leaseMs], ['postgresql://deputy:pw@db:5432/deputy', 'exec-1', 5000]);
    assert.throws(
      () => loadExecutorConfig({ DEPUTY_DATABASE_URL: 'mysql://root:hunter2@db/deputy' }),
      (error: unknown) => error instanceof DeputyError && error.message.startsWith('DEPUTY_DATABASE_URL:') && !error.message.includes('hunter2'),
    );
    assert.throws(() => loadExecutorConfig({ DEPUTY_EXECUTOR_ID: 'a/b' }), /DEPUTY_EXECUTOR_ID/);
    assert.throws(() => loadExecutorConfig({ DEPUTY_EXECUTOR_LEASE_SECONDS: '1' }), /DEPUTY_EXECUTOR_LEASE_SECONDS/);
  });

  it('prunes expired records every ten minutes unless DEPUTY_PRUNE_INTERVAL_SECONDS says otherwise', () => {
    assert.equal(loadExecutorConfig({}, '/srv/deputy').pruneIntervalMs, 600_000);
    assert.equal(loadExecutorConfig({ DEPUTY_PRUNE_INTERVAL_SECONDS: '90' }, '/srv/deputy').pruneIntervalMs, 90_000);
    for (const bad of ['0', '-5', '1.5', 'often', '86401']) {
      assert.throws(() => loadExecutorConfig({ DEPUTY_PRUNE_INTERVAL_SECONDS: bad }), /^DeputyError: DEPUTY_PRUNE_INTERVAL_SECONDS: /, bad);
    }
  });

  it('keeps the audit checkpoint outside the data folder: beside it by default, never inside it', () => {
    const config = loadExecutorConfig({}, '/srv/deputy');
    assert.equal(config.auditCheckpoint, '/srv/deputy/data.audit-checkpoint');
    assert.equal(config.auditKey, undefined);
    assert.equal(loadExecutorConfig({ DEPUTY_DATA_DIR: '/var/lib/deputy/', DEPUTY_AUDIT_CHECKPOINT: '/var/lib/deputy-audit/head' }).auditCheckpoint, '/var/lib/deputy-audit/head');
    assert.equal(loadExecutorConfig({ DEPUTY_DATA_DIR: '/var/lib/deputy/' }).auditCheckpoint, '/var/lib/deputy.audit-checkpoint');
    for (const inside of ['/var/lib/deputy/checkpoint', '/var/lib/deputy', '/var/lib/deputy/sub/../head']) {
      assert.throws(() => loadExecutorConfig({ DEPUTY_DATA_DIR: '/var/lib/deputy', DEPUTY_AUDIT_CHECKPOINT: inside }), /^DeputyError: DEPUTY_AUDIT_CHECKPOINT: .* must be outside the data folder \/var\/lib\/deputy$/);
    }
    assert.throws(() => loadExecutorConfig({ DEPUTY_AUDIT_KEY: 'not-a-key' }), /DEPUTY_AUDIT_KEY/);
  });

  it('takes pretty or json logs, nothing else', () => {
    assert.equal(loadExecutorConfig({ DEPUTY_LOG_FORMAT: 'pretty' }).logFormat, 'pretty');
    assert.throws(() => loadExecutorConfig({ DEPUTY_LOG_FORMAT: 'xml' }), /DEPUTY_LOG_FORMAT/);
  });

  it('stops on a bad value, naming the variable', () => {
    assert.throws(
      () => loadExecutorConfig({ DEPUTY_EXECUTOR_PORT: 'eighty' }),
      (error: unknown) => error instanceof DeputyError && error.code === 'DEPUTY_E_CONFIG_INVALID' && error.message.startsWith('DEPUTY_EXECUTOR_PORT'),
    );
    assert.throws(() => loadExecutorConfig({ DEPUTY_MAX_CONCURRENT_RUNS: '0' }), /DEPUTY_MAX_CONCURRENT_RUNS/);
    assert.throws(() => loadExecutorConfig({ DEPUTY_EXECUTOR_TOKEN: 'short' }), /DEPUTY_EXECUTOR_TOKEN/);
  });

  it('accepts two tokens while rotating, not three', () => {
    const a = 'a'.repeat(40);
    const b = 'b'.repeat(40);
    assert.deepEqual(loadExecutorConfig({ DEPUTY_EXECUTOR_TOKEN: `${a}, ${b}` }).tokens, [a, b]);
    assert.throws(() => loadExecutorConfig({ DEPUTY_EXECUTOR_TOKEN: `${a},${b},${a}` }), /DEPUTY_EXECUTOR_TOKEN/);
  });

  it('takes a run account and pool limits, and never root as the run account', () => {
    const defaults = loadExecutorConfig({});
    assert.deepEqual([defaults.runAccount, defaults.poolMaxWorkers, defaults.poolIdleMs, defaults.runDataDir], ['deputy-run', 8, 300_000, undefined]);
    const set = loadExecutorConfig({ DEPUTY_RUN_ACCOUNT: 'svc-runs', DEPUTY_POOL_MAX_WORKERS: '3', DEPUTY_POOL_IDLE_SECONDS: '60', DEPUTY_RUN_DATA_DIR: 'run-data' }, '/srv/deputy');
    assert.deepEqual([set.runAccount, set.poolMaxWorkers, set.poolIdleMs, set.runDataDir], ['svc-runs', 3, 60_000, '/srv/deputy/run-data']);
    assert.throws(() => loadExecutorConfig({ DEPUTY_RUN_ACCOUNT: 'root' }), /DEPUTY_RUN_ACCOUNT: never root/);
    assert.throws(() => loadExecutorConfig({ DEPUTY_RUN_ACCOUNT: 'no such; account' }), /DEPUTY_RUN_ACCOUNT/);
  });

  it('takes the operator token by the same rules, never equal to the bot token', () => {
    const bot = 'b'.repeat(40);
    const operator = 'o'.repeat(40);
    const next = 'n'.repeat(40);
    const config = loadExecutorConfig({ DEPUTY_EXECUTOR_TOKEN: bot, DEPUTY_OPERATOR_TOKEN: `${operator},${next}` });
    assert.deepEqual(config.operatorTokens, [operator, next]);
    assert.throws(() => loadExecutorConfig({ DEPUTY_OPERATOR_TOKEN: 'short' }), /DEPUTY_OPERATOR_TOKEN/);
    assert.throws(() => loadExecutorConfig({ DEPUTY_OPERATOR_TOKEN: `${operator},${next},${bot}` }), /DEPUTY_OPERATOR_TOKEN/);
    assert.throws(() => loadExecutorConfig({ DEPUTY_EXECUTOR_TOKEN: `${next},${bot}`, DEPUTY_OPERATOR_TOKEN: bot }), /DEPUTY_OPERATOR_TOKEN: must differ/);
  });

  it('lists further host names the executor answers to, lower-cased', () => {
    assert.deepEqual(loadExecutorConfig({}).allowedHosts, []);
    assert.deepEqual(loadExecutorConfig({ DEPUTY_EXECUTOR_ALLOWED_HOSTS: 'Executor.Corp.Example, 10.0.0.5' }).allowedHosts, ['executor.corp.example', '10.0.0.5']);
  });

  it('reads a YAML file and lets the environment win', () => {
    const folder = mkdtempSync(join(tmpdir(), 'deputy-config-'));
    writeFileSync(join(folder, 'deputy.yaml'), 'DEPUTY_POOL_SIZE: 6\nDEPUTY_MAX_CONCURRENT_RUNS: 3\nDEPUTY_RUNAS_ALLOWLIST: [svc-a, svc-b]\n');
    const config = loadExecutorConfig({ DEPUTY_CONFIG: 'deputy.yaml', DEPUTY_MAX_CONCURRENT_RUNS: '5' }, folder);
    assert.equal(config.poolSize, 6);
    assert.equal(config.maxConcurrentRuns, 5);
    assert.deepEqual(config.runAsAllowlist, ['svc-a', 'svc-b']);
  });
});
