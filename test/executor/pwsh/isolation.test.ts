/**
 * Run isolation (docs/security.md): no service or pool run reads the data folder or the
 * executor's process, and every process a run starts ends with it, also one that left its
 * process group with setsid. Real pwsh, real processes, real namespaces.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdtempSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isDeputyError } from '../../../executor/contract/index.ts';
import { findProgram, lookupAccount } from '../../../executor/pwsh/accounts.ts';
import { PROJECT_ROOT } from '../../../executor/pwsh/locate.ts';
import { WORK_ROOT_PREFIX, type PwshRunner } from '../../../executor/pwsh/runner.ts';
import type { ExecutionRequest } from '../../../executor/pwsh/types.ts';
import { FIXTURE_CATALOG, startTestExecutor } from '../../helpers/executor.ts';
import { eventually, job, makeRunner, outputFields, processesWith, pwshPath, uniqueSleep } from './helpers.ts';

const isRoot = process.geteuid?.() === 0;

/** What this host allows (a runner decides it when it is made). */
function makeRunnerIsolation() {
  const runner = makeRunner();
  void runner.close();
  return runner.isolation();
}

/** What a hostile script would try: the executor's secrets on disk, its environment, its processes. */
const SNOOP = `
  param([string]$DataDir, [int]$ExecutorPid)
  "token=[$(try { [System.IO.File]::ReadAllText((Join-Path $DataDir 'executor-token')).Trim() } catch { 'denied' })]"
  "key=[$(try { [System.IO.File]::ReadAllText((Join-Path $DataDir 'secret.key')).Trim() } catch { 'denied' })]"
  "auditkey=[$(try { [System.IO.File]::ReadAllText("$DataDir.audit-checkpoint.key").Trim() } catch { 'denied' })]"
  "config=[$(try { [System.IO.File]::ReadAllText("$DataDir.config.yaml").Trim() } catch { 'denied' })]"
  "environ=[$(try { [System.IO.File]::ReadAllText("/proc/$ExecutorPid/environ").Length } catch { 'denied' })]"
  "uid=$(id -u)"
  "folder=$($PWD.Path)"
  "processes=$((Get-ChildItem /proc -Directory | Where-Object Name -match '^\\d+$' | ForEach-Object { try { [System.IO.File]::ReadAllText("$($_.FullName)/cmdline").Replace([char]0, ' ') } catch { } }) -join '|')"`;

/**
 * A data folder as the executor keeps it: 0700, with a token and a key at 0600; the audit
 * checkpoint's key beside it; and a DEPUTY_CONFIG file anyone may read (as /etc files often are).
 */
function privateDataFolder(): { dataDir: string; token: string; protectedPaths: string[] } {
  const dataDir = mkdtempSync(join(tmpdir(), 'deputy-isolation-data-'));
  const token = `token-${randomBytes(12).toString('hex')}`;
  writeFileSync(join(dataDir, 'executor-token'), `${token}\n`, { mode: 0o600 });
  writeFileSync(join(dataDir, 'secret.key'), `key-${token}\n`, { mode: 0o600 });
  writeFileSync(`${dataDir}.audit-checkpoint.key`, `audit-${token}\n`, { mode: 0o600 });
  writeFileSync(`${dataDir}.config.yaml`, `DEPUTY_OPERATOR_TOKEN: config-${token}\n`, { mode: 0o644 });
  chmodSync(`${dataDir}.config.yaml`, 0o644);
  return { dataDir, token, protectedPaths: protectedPathsOf(dataDir) };
}

function protectedPathsOf(dataDir: string): string[] {
  return [dataDir, `${dataDir}.audit-checkpoint.key`, `${dataDir}.config.yaml`];
}

function removePrivateDataFolder(dataDir: string): void {
  rmSync(dataDir, { recursive: true, force: true });
  rmSync(`${dataDir}.audit-checkpoint.key`, { force: true });
  rmSync(`${dataDir}.config.yaml`, { force: true });
}

function snoop(dataDir: string, runAs: ExecutionRequest['runAs']): ExecutionRequest {
  return job(SNOOP, { runAs, parameters: { DataDir: dataDir, ExecutorPid: process.pid } });
}

describe('run isolation', function () {
  this.timeout(180_000);

  describe('in this executor process', () => {
    let runner: PwshRunner;
    let dataDir: string;
    let token: string;

    before(() => {
      const folder = privateDataFolder();
      ({ dataDir, token } = folder);
      runner = makeRunner({ protectedPaths: folder.protectedPaths });
    });
    after(async () => {
      await runner.close();
      removePrivateDataFolder(dataDir);
    });

    for (const kind of ['service', 'pool'] as const) {
      it(`keeps a ${kind} run from the data folder, the executor's environment and its processes`, async () => {
        const isolation = runner.isolation();
        if (isolation.kind === 'none') {
          // Nothing here could isolate a run: such runs are refused outside demo mode.
          assert.throws(() => runner.assertModeAvailable({ kind }), (error: unknown) => isDeputyError(error) && error.code === 'DEPUTY_E_MODE_UNAVAILABLE');
          return;
        }
        const result = await runner.execute(snoop(dataDir, { kind }));
        assert.equal(result.outcome, 'succeeded', JSON.stringify(result.records));
        const seen = outputFields(result.records);
        assert.equal(seen.token, '[denied]');
        assert.equal(seen.key, '[denied]');
        assert.equal(seen.environ, '[denied]');
        assert.match(seen.auditkey ?? '', /^\[(denied)?\]$/);
        assert.match(seen.config ?? '', /^\[(denied)?\]$/, 'a DEPUTY_CONFIG file others may read is hidden too');
        assert.equal(JSON.stringify(result).includes(token), false);
        assert.equal((seen.processes ?? '').includes(process.argv[1] ?? 'mocha'), false, 'the executor\'s process is not even visible');
        assert.ok(seen.folder?.startsWith(join(tmpdir(), WORK_ROOT_PREFIX)), seen.folder);
        if (isolation.kind === 'run-account') {
          assert.equal(seen.uid, String(isolation.account?.uid));
          assert.notEqual(seen.uid, '0');
        }
      });
    }
  });

  describe('one run cannot reach another', () => {
    let runner: PwshRunner;
    before(() => {
      runner = makeRunner();
    });
    after(() => runner.close());

    // The victim keeps a file in its job folder and its worker folder, and stays until cancelled.
    const VICTIM = `
      'victim secret' | Set-Content -LiteralPath (Join-Path $PWD.Path 'secret.txt')
      'victim secret' | Set-Content -LiteralPath (Join-Path $env:TMPDIR 'secret.txt')
      "job=$($PWD.Path)"
      "worker=$($env:TMPDIR.TrimEnd('/'))"
      Start-Sleep 60`;
    // All service and pool runs are one account: what the path of another run's folder leads to,
    // and the sockets /proc/net/unix lists there (pwsh's Enter-PSHostProcess pipe, .NET diagnostics).
    const INTRUDER = `
      param([string]$Job, [string]$Worker)
      "jobfile=[$(try { [System.IO.File]::ReadAllText("$Job/secret.txt").Trim() } catch { 'denied' })]"
      "workerfile=[$(try { [System.IO.File]::ReadAllText("$Worker/secret.txt").Trim() } catch { 'denied' })]"
      $sockets = @(Get-Content /proc/net/unix | ForEach-Object { ($_ -split '\\s+')[-1] } | Where-Object { $_.StartsWith("$Worker/") })
      "reachable=$(@($sockets | Where-Object { Test-Path -LiteralPath $_ }).Count)"
      $entered = foreach ($pipe in $sockets | Where-Object { $_ -like '*CoreFxPipe_PSHost*' }) {
        try {
          $runspace = [runspacefactory]::CreateRunspace([System.Management.Automation.Runspaces.NamedPipeConnectionInfo]::new($pipe, 3000))
          $runspace.Open()
          $runspace.Close()
          $pipe
        } catch { }
      }
      "entered=$(@($entered).Count)"`;

    for (const kind of ['service', 'pool'] as const) {
      it(`keeps a ${kind} run out of another run's folder and its pwsh`, async function () {
        if (runner.isolation().kind === 'none') this.skip();
        const controller = new AbortController();
        let victimPaths: (value: Record<string, string>) => void = () => undefined;
        const paths = new Promise<Record<string, string>>((resolve) => (victimPaths = resolve));
        const lines: Array<{ stream: string; text: string }> = [];
        const victim = runner.execute(job(VICTIM, { runAs: { kind }, requester: 'victim', timeoutMs: 90_000 }), {
          signal: controller.signal,
          onRecord: (record) => {
            lines.push(record);
            const fields = outputFields(lines);
            if (fields.job && fields.worker) victimPaths(fields);
          },
        });
        try {
          const { job: jobFolder, worker } = await paths;
          const result = await runner.execute(job(INTRUDER, { runAs: { kind }, requester: 'intruder', parameters: { Job: jobFolder, Worker: worker } }));
          assert.equal(result.outcome, 'succeeded', JSON.stringify(result.records));
          const seen = outputFields(result.records);
          assert.equal(seen.jobfile, '[denied]');
          assert.equal(seen.workerfile, '[denied]');
          assert.equal(seen.reachable, '0', 'no socket of the other run is there by its path');
          assert.equal(seen.entered, '0', 'no code runs in the other run\'s pwsh');
        } finally {
          controller.abort();
          await victim;
        }
      });
    }
  });

  describe('every process a run starts ends with it', () => {
    let runner: PwshRunner;
    before(() => {
      runner = makeRunner();
    });
    after(() => runner.close());

    // Two ways out of a process group: setsid from Start-Process, and `setsid -f` from a shell (its parent exits at once).
    const ESCAPE = `
      param([string]$First, [string]$Second, [switch]$Linger)
      Start-Process -FilePath setsid -ArgumentList 'sleep', $First
      sh -c "setsid -f sleep $Second </dev/null >/dev/null 2>&1"
      'children started'
      if ($Linger) { Start-Sleep 60 }`;

    for (const kind of ['service', 'pool'] as const) {
      for (const ending of ['ends', 'times out', 'is cancelled'] as const) {
        it(`when a ${kind} run ${ending}`, async function () {
          if (runner.isolation().containment !== 'pid-namespace') {
            // Documented limit: without a PID namespace, setsid escapes (and /readyz says so).
            assert.match(runner.isolation().gaps.join(' ') + runner.isolation().headline, /setsid/);
            this.skip();
          }
          const [first, second] = [uniqueSleep(), uniqueSleep()];
          const controller = new AbortController();
          let whileRunning: number[] = [];
          const result = await runner.execute(
            job(ESCAPE, {
              runAs: { kind },
              requester: `escape-${ending}`,
              parameters: { First: first, Second: second, Linger: ending !== 'ends' },
              // Long enough for a cold pwsh start on a loaded machine; the run sleeps far longer.
              timeoutMs: ending === 'times out' ? 20_000 : 60_000,
            }),
            {
              signal: controller.signal,
              onRecord: (record) => {
                if (record.text !== 'children started') return;
                whileRunning = [processesWith(first).length, processesWith(second).length];
                if (ending === 'is cancelled') controller.abort();
              },
            },
          );
          assert.equal(result.outcome, { ends: 'succeeded', 'times out': 'timed-out', 'is cancelled': 'cancelled' }[ending], JSON.stringify(result.records));
          assert.deepEqual(whileRunning, [1, 1], 'both children ran in their own session while the run was under way');
          assert.ok(await eventually(() => processesWith(first).length + processesWith(second).length === 0, 10_000), 'no child outlives its run');
        });
      }
    }
  });

  describe('when the executor dies', () => {
    it('ends every process of its service and pool runs, also those in a session of their own', async function () {
      if (makeRunnerIsolation().containment !== 'pid-namespace') this.skip();
      const markers = [uniqueSleep(), uniqueSleep()];
      const input = JSON.stringify({ pwsh: pwshPath(), markers });
      // A dead executor leaves its runs' folders behind (nothing of it runs to remove them): in a folder of this test's.
      const temporary = mkdtempSync(join(tmpdir(), 'deputy-dying-'));
      chmodSync(temporary, 0o755);
      try {
        const child = spawn(process.execPath, ['--import', 'tsx', join(PROJECT_ROOT, 'test/executor/pwsh/dying-executor.ts'), input], {
          cwd: PROJECT_ROOT,
          env: { ...process.env, TMPDIR: temporary },
          stdio: ['ignore', 'pipe', 'inherit'],
        });
        let output = '';
        child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
        const signal = await new Promise((resolve) => child.once('exit', (_code, killed) => resolve(killed)));
        assert.equal(signal, 'SIGKILL');
        assert.match(output, /both started/);
        assert.ok(await eventually(() => markers.every((marker) => processesWith(marker).length === 0), 10_000), 'no run outlives a dead executor');
      } finally {
        rmSync(temporary, { recursive: true, force: true });
      }
    });
  });

  describe('in an executor that is not root', () => {
    /** The runner in a process of its own, as an ordinary uid (a user namespace maps it, so it can still read a clone only root may enter). */
    function unprivileged(options: { withBubblewrap: boolean; allowUnisolated: boolean; dataDir: string }) {
      const protectedPaths = protectedPathsOf(options.dataDir);
      // PATH decides whether the executor finds bubblewrap; without it, PATH still has what pwsh and the script use.
      const path = options.withBubblewrap ? '/usr/local/bin:/usr/bin:/bin' : programsWithoutBubblewrap;
      const input = JSON.stringify({ pwsh: pwshPath(), dataDir: options.dataDir, protectedPaths, allowUnisolated: options.allowUnisolated, script: SNOOP });
      const node = [process.execPath, '--import', 'tsx', join(PROJECT_ROOT, 'test/executor/pwsh/unprivileged-runner.ts'), input];
      const command = isRoot ? [findProgram('unshare', process.env) ?? 'unshare', '--map-user=65534', '--map-group=65534', '--', ...node] : node;
      const done = spawnSync(command[0] as string, command.slice(1), {
        cwd: PROJECT_ROOT,
        env: { PATH: path, HOME: options.dataDir },
        encoding: 'utf8',
        timeout: 150_000,
      });
      assert.equal(done.status, 0, done.stderr);
      type Attempt = { outcome?: string; records?: Array<{ stream: string; text: string }>; refused?: string; detail?: string };
      return JSON.parse(done.stdout.trim().split('\n').at(-1) ?? '{}') as { uid: number; isolation: { kind: string }; service: Attempt; pool: Attempt };
    }

    let dataDir: string;
    let token: string;
    let programsWithoutBubblewrap: string;
    before(() => {
      ({ dataDir, token } = privateDataFolder());
      programsWithoutBubblewrap = mkdtempSync(join(tmpdir(), 'deputy-path-'));
      for (const program of ['dotnet', 'id']) symlinkSync(findProgram(program, process.env) as string, join(programsWithoutBubblewrap, program));
    });
    after(() => {
      removePrivateDataFolder(dataDir);
      rmSync(programsWithoutBubblewrap, { recursive: true, force: true });
    });

    it('runs service and pool runs in a namespace (bubblewrap) where the data folder is empty', () => {
      const answer = unprivileged({ withBubblewrap: true, allowUnisolated: false, dataDir });
      assert.notEqual(answer.uid, 0);
      if (answer.isolation.kind === 'none') {
        // This machine allows no user namespaces: the runs are refused, as they must be.
        assert.equal(answer.service.refused, 'DEPUTY_E_MODE_UNAVAILABLE');
        assert.equal(answer.pool.refused, 'DEPUTY_E_MODE_UNAVAILABLE');
        return;
      }
      assert.equal(answer.isolation.kind, 'namespace');
      for (const attempt of [answer.service, answer.pool]) {
        assert.equal(attempt.outcome, 'succeeded', JSON.stringify(attempt));
        const seen = outputFields(attempt.records ?? []);
        assert.deepEqual([seen.token, seen.key, seen.environ], ['[denied]', '[denied]', '[denied]']);
        assert.match(seen.auditkey ?? '', /^\[(denied)?\]$/, 'the audit checkpoint key beside the data folder is hidden too');
        assert.match(seen.config ?? '', /^\[(denied)?\]$/, 'and so is a DEPUTY_CONFIG file');
        assert.equal(JSON.stringify(attempt).includes(token), false);
        assert.equal((seen.processes ?? '').includes('unprivileged-runner'), false, 'the executor\'s process is not visible');
      }
    });

    it('refuses service and pool runs outside demo mode where nothing can isolate them, and says why', () => {
      const refused = unprivileged({ withBubblewrap: false, allowUnisolated: false, dataDir });
      assert.equal(refused.isolation.kind, 'none');
      for (const attempt of [refused.service, refused.pool]) {
        assert.equal(attempt.refused, 'DEPUTY_E_MODE_UNAVAILABLE');
        assert.match(attempt.detail ?? '', /refused outside demo mode: runs are NOT isolated.*bubblewrap \(bwrap\) is not on PATH/);
      }
      // In demo mode they run, and could read the data folder: exactly why they are refused otherwise.
      const demo = unprivileged({ withBubblewrap: false, allowUnisolated: true, dataDir });
      assert.equal(outputFields(demo.service.records ?? []).token, `[${token}]`);
    });
  });

  if (isRoot) {
    describe('the run account', () => {
      const name = `deputy-t${randomBytes(4).toString('hex')}`;
      after(() => {
        spawnSync('userdel', [name]);
      });

      it('is created at first start when missing: a system account without a home or a login shell', async () => {
        assert.equal(lookupAccount(name), undefined);
        const runner = makeRunner({ runAccount: name });
        try {
          const isolation = runner.isolation();
          assert.equal(isolation.kind, 'run-account');
          const account = lookupAccount(name);
          assert.ok(account && account.uid > 0 && account.uid < 1000, JSON.stringify(account));
          assert.equal(account.shell, '/usr/sbin/nologin');
          assert.equal(existsSync(account.home), false);
          const result = await runner.execute(job('[System.Environment]::UserName', { runAs: { kind: 'service' } }));
          assert.deepEqual(result.records.map((record) => record.text), [name]);
        } finally {
          await runner.close();
        }
      });

      it('is never root: such runs are refused outside demo mode', async () => {
        const runner = makeRunner({ runAccount: 'root' });
        try {
          assert.equal(runner.isolation().kind, 'none');
          assert.match(runner.isolation().gaps.join(' '), /root/);
          await assert.rejects(runner.execute(job("'x'", { runAs: { kind: 'service' } })), (error: unknown) => isDeputyError(error) && error.code === 'DEPUTY_E_MODE_UNAVAILABLE');
        } finally {
          await runner.close();
        }
      });
    });
  }

  describe('the executor', () => {
    it('makes its data folder private, and says in /readyz and to the demo which isolation is in force', async () => {
      const dataDir = mkdtempSync(join(tmpdir(), 'deputy-open-data-'));
      chmodSync(dataDir, 0o755);
      writeFileSync(join(dataDir, 'notes.json'), '{}', { mode: 0o644 });
      chmodSync(join(dataDir, 'notes.json'), 0o644);
      const executor = await startTestExecutor({ dataDir });
      try {
        assert.equal(statSync(dataDir).mode & 0o777, 0o700);
        assert.equal(statSync(join(dataDir, 'notes.json')).mode & 0o777, 0o600);
        type Ready = { checks: { isolation: { ok: boolean; detail?: string } } };
        // Anyone learns whether runs are isolated; a token holder also learns how.
        const anonymous = (await (await fetch(`${executor.url}/readyz`)).json()) as Ready;
        assert.deepEqual(anonymous.checks.isolation, { ok: executor.isolation.kind !== 'none' });
        const ready = (await (await executor.api('/readyz')).json()) as Ready;
        assert.deepEqual(ready.checks.isolation, { ok: executor.isolation.kind !== 'none', detail: executor.isolation.headline });
        assert.match(ready.checks.isolation.detail ?? '', /PID namespace/);
        const personas = (await (await executor.api('/v1/personas')).json()) as { runIsolation?: string };
        assert.equal(personas.runIsolation, executor.isolation.headline);
      } finally {
        await executor.dispose();
        rmSync(dataDir, { recursive: true, force: true });
      }
    });

    it('writes the isolation in force into its start-up output', async () => {
      const dataDir = mkdtempSync(join(tmpdir(), 'deputy-startup-'));
      const child = spawn(process.execPath, [join(PROJECT_ROOT, 'bin/deputy.mjs'), 'executor'], {
        env: { ...process.env, DEPUTY_DATA_DIR: dataDir, DEPUTY_RUN_DATA_DIR: `${dataDir}-run-data`, DEPUTY_EXECUTOR_PORT: '0', DEPUTY_CATALOG: FIXTURE_CATALOG, DEPUTY_LOG_LEVEL: 'warn' },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      try {
        let output = '';
        child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
        child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
        assert.ok(await eventually(() => /Run isolation: .*\n/.test(output), 60_000), output);
        const line = /Run isolation: (.*)\n/.exec(output)?.[1] ?? '';
        assert.match(line, isRoot ? /runs use the account \S+ \(uid \d+\) and a fresh folder; a PID namespace per run/ : /namespace|NOT isolated/);
      } finally {
        const exited = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGTERM');
        await exited;
        rmSync(dataDir, { recursive: true, force: true });
        rmSync(`${dataDir}-run-data`, { recursive: true, force: true });
      }
    });
  });
});
