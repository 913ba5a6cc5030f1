import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, realpathSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { isDeputyError } from '../../../executor/contract/index.ts';
import { accountEnvironment, lookupAccount } from '../../../executor/pwsh/accounts.ts';
import { PROJECT_ROOT } from '../../../executor/pwsh/locate.ts';
import { createPwshRunner, type PwshRunner } from '../../../executor/pwsh/runner.ts';
import { systemClock } from '../../../lib/clock.ts';
import { silentLogger } from '../../../lib/logger.ts';
import { eventually, job, makeRunner, outputFields, outputTexts, ownHostProcesses, processesWith, pwshPath, uniqueSleep, WORKER_LINE } from './helpers.ts';

const RUN_AS_ACCOUNT = 'deputy-test-runas';
/** A supplementary group of the account, to prove runs get the account's groups (initgroups). */
const EXTRA_GROUP = 'deputy-test-runas-extra';
/** What a run may see of its environment: the account's own variables, pwsh's, and the telemetry opt-outs. */
const ALLOWED_VARIABLES = new Set([
  'HOME', 'USER', 'LOGNAME', 'SHELL', 'PATH', 'LANG', 'LC_ALL', 'LC_CTYPE', 'TZ', 'TMPDIR', 'DOTNET_ROOT', 'PSModulePath',
  'POWERSHELL_TELEMETRY_OPTOUT', 'POWERSHELL_UPDATECHECK', 'DOTNET_CLI_TELEMETRY_OPTOUT', 'DOTNET_EnableDiagnostics',
]);
const LEAKY_ENV = { DEPUTY_EXECUTOR_TOKEN: 'bearer-token-must-not-leak', SLACK_BOT_TOKEN: 'xoxb-must-not-leak' };
const isRoot = process.geteuid?.() === 0;

async function refusal(action: () => unknown): Promise<string> {
  try {
    await action();
  } catch (error) {
    assert.ok(isDeputyError(error), String(error));
    assert.equal(error.code, 'DEPUTY_E_MODE_UNAVAILABLE');
    return error.detail ?? '';
  }
  assert.fail('expected DEPUTY_E_MODE_UNAVAILABLE');
}

const ENVIRONMENT_PROBE = `
  "user=$([System.Environment]::UserName)"
  "uid=$(id -u)"
  "groups=$(id -Gn)"
  "token=[$env:DEPUTY_EXECUTOR_TOKEN$env:SLACK_BOT_TOKEN]"
  "home=$env:HOME"
  "variables=$((Get-ChildItem env: | ForEach-Object Name) -join ',')"
  ${WORKER_LINE}`;

describe('pwsh runner: service and run-as modes', function () {
  this.timeout(60_000);

  describe('service mode', () => {
    let runner: PwshRunner;
    before(() => {
      runner = makeRunner({ env: { ...process.env, ...LEAKY_ENV } });
    });
    after(() => runner.close());

    it('runs each job in a new pwsh with none of the executor\'s secrets in its environment', async () => {
      const starts: number[] = [];
      const [first, second] = await Promise.all(
        [1, 2].map(() => runner.execute(job(ENVIRONMENT_PROBE, { runAs: { kind: 'service' } }), { onStarted: () => starts.push(Date.now()) })),
      );
      assert.equal(first?.outcome, 'succeeded');
      assert.equal(second?.outcome, 'succeeded');
      assert.equal(starts.length, 2);
      const one = outputFields(first?.records ?? []);
      const two = outputFields(second?.records ?? []);
      assert.notEqual(one.worker, two.worker);
      assert.equal(one.token, '[]');
      for (const name of (one.variables ?? '').split(',')) assert.ok(ALLOWED_VARIABLES.has(name), `unexpected variable ${name}`);
    });

    it('cancels a run by killing its pwsh and the processes it started', async () => {
      const before = new Set(ownHostProcesses());
      const sleep = uniqueSleep();
      const controller = new AbortController();
      const result = await runner.execute(
        job(`$null = Start-Process -FilePath sleep -ArgumentList ${sleep} -PassThru; 'child started'; Start-Sleep 60`, { runAs: { kind: 'service' } }),
        { signal: controller.signal, onRecord: (record) => record.text === 'child started' && controller.abort() },
      );
      assert.equal(result.outcome, 'cancelled');
      assert.ok(await eventually(() => processesWith(sleep).length === 0));
      assert.ok(await eventually(() => ownHostProcesses().every((pid) => before.has(pid))));
    });

    it('reports the outcome of a run whose timeout passed', async () => {
      const result = await runner.execute(job("'started'; Start-Sleep 60", { runAs: { kind: 'service' }, timeoutMs: 4000 }));
      assert.equal(result.outcome, 'timed-out');
      assert.equal(result.exitCode, null);
    });
  });

  it('close() cancels runs under way and kills workers still starting, leaving no pwsh behind', async () => {
    // Other test files share this process: count only the hosts this test starts.
    const before = new Set(ownHostProcesses());
    const started = () => ownHostProcesses().filter((pid) => !before.has(pid));
    const starting = makeRunner();
    const warming = starting.prewarm({ kind: 'pool' }).catch(() => undefined);
    await new Promise((resolve) => setTimeout(resolve, 100));
    assert.equal(started().length, 2, 'two workers are starting');
    await starting.close();
    await warming;
    assert.ok(await eventually(() => started().length === 0), `left: ${started().join(', ')}`);

    const running = makeRunner();
    const sleep = uniqueSleep();
    let closing: Promise<void> | undefined;
    const result = await running.execute(job(`$null = Start-Process -FilePath sleep -ArgumentList ${sleep} -PassThru; 'started'; Start-Sleep 60`, { runAs: { kind: 'service' } }), {
      onRecord: (record) => {
        if (record.text === 'started') closing = running.close();
      },
    });
    await closing;
    assert.equal(result.outcome, 'cancelled');
    assert.ok(await eventually(() => processesWith(sleep).length === 0));
    assert.ok(await eventually(() => started().length === 0), `left: ${started().join(', ')}`);
  });

  it('fails with DEPUTY_E_PWSH_MISSING when there is no pwsh', async () => {
    for (const pwshPath of [undefined, '/nonexistent/pwsh']) {
      const runner = createPwshRunner({ pwshPath, logger: silentLogger(), clock: systemClock, runAsAllowlist: [] });
      await assert.rejects(runner.execute(job("'x'", { runAs: { kind: 'service' } })), (error: unknown) => isDeputyError(error) && error.code === 'DEPUTY_E_PWSH_MISSING');
      await assert.rejects(runner.execute(job("'x'")), (error: unknown) => isDeputyError(error) && error.code === 'DEPUTY_E_PWSH_MISSING');
      await runner.close();
    }
  });

  describe('run as a local account', () => {
    let runner: PwshRunner;

    before(() => {
      if (isRoot) {
        const run = (command: string, args: string[]): void => {
          const done = spawnSync(command, args, { encoding: 'utf8' });
          assert.equal(done.status, 0, `${command} ${args.join(' ')}: ${done.stderr}`);
        };
        if (!lookupAccount(RUN_AS_ACCOUNT)) run('useradd', ['--system', '--no-create-home', RUN_AS_ACCOUNT]);
        if (spawnSync('getent', ['group', EXTRA_GROUP]).status !== 0) run('groupadd', ['--system', EXTRA_GROUP]);
        run('usermod', ['--append', '--groups', EXTRA_GROUP, RUN_AS_ACCOUNT]);
      }
      runner = makeRunner({ runAsAllowlist: [RUN_AS_ACCOUNT, 'root', 'deputy-no-such-account'], poolSize: 1, env: { ...process.env, ...LEAKY_ENV } });
    });
    after(() => runner.close());

    it('refuses accounts off the allowlist, unknown accounts and root', async () => {
      assert.match(await refusal(() => runner.assertModeAvailable({ kind: 'process', account: 'daemon' })), /not on the run-as allowlist/);
      assert.match(await refusal(() => runner.assertModeAvailable({ kind: 'pool', account: 'daemon' })), /not on the run-as allowlist/);
      assert.match(await refusal(() => runner.assertModeAvailable({ kind: 'process', account: 'deputy-no-such-account' })), /does not exist/);
      assert.match(await refusal(() => runner.assertModeAvailable({ kind: 'process', account: 'root' })), /is root/);
      assert.match(await refusal(() => runner.execute(job("'x'", { runAs: { kind: 'process', account: 'daemon' } }))), /allowlist/);
      assert.doesNotThrow(() => runner.assertModeAvailable({ kind: 'service' }));
      assert.doesNotThrow(() => runner.assertModeAvailable({ kind: 'pool' }));
    });

    if (isRoot) {
      it('runs process:<account> as that account, with its clean environment', async () => {
        const account = lookupAccount(RUN_AS_ACCOUNT);
        assert.ok(account);
        runner.assertModeAvailable({ kind: 'process', account: RUN_AS_ACCOUNT });
        const result = await runner.execute(job(ENVIRONMENT_PROBE, { runAs: { kind: 'process', account: RUN_AS_ACCOUNT } }));
        assert.equal(result.outcome, 'succeeded', JSON.stringify(result.records));
        const seen = outputFields(result.records);
        assert.equal(seen.user, RUN_AS_ACCOUNT);
        assert.equal(seen.uid, String(account.uid));
        const groups = (seen.groups ?? '').split(' ');
        assert.ok(groups.includes(EXTRA_GROUP), `supplementary groups: ${seen.groups}`);
        assert.equal(groups.includes('root'), false);
        assert.equal(seen.home, account.home);
        assert.equal(seen.token, '[]');
        const variables = (seen.variables ?? '').split(',');
        assert.ok(variables.includes('USER') && variables.includes('LOGNAME') && variables.includes('PATH'));
        for (const name of variables) assert.ok(ALLOWED_VARIABLES.has(name), `unexpected variable ${name}`);
      });

      it('gives an account that cannot reach pwsh a copy it can run, or a refusal naming the path', async () => {
        // pwsh inside a folder only root may enter, as in a clone under /root.
        const hidden = mkdtempSync(join(tmpdir(), 'deputy-hidden-')); // mode 0700, root's
        const runtime = mkdtempSync(join(tmpdir(), 'deputy-runtime-'));
        chmodSync(runtime, 0o755);
        try {
          const tools = join(hidden, 'tools');
          const real = realpathSync(pwshPath());
          const linked = spawnSync('cp', ['-al', dirname(real), tools]);
          if (linked.status !== 0) assert.equal(spawnSync('cp', ['-a', dirname(real), tools]).status, 0);
          const unreachable = join(tools, basename(real));
          const staged = makeRunner({ pwshPath: unreachable, runAsAllowlist: [RUN_AS_ACCOUNT], runtimeFolder: runtime });
          try {
            const result = await staged.execute(job('"home=$PSHOME"; [System.Environment]::UserName', { runAs: { kind: 'process', account: RUN_AS_ACCOUNT } }));
            assert.equal(result.outcome, 'succeeded', JSON.stringify(result.records));
            assert.ok(outputFields(result.records).home?.startsWith(`${runtime}/pwsh-`), JSON.stringify(result.records));
            assert.equal(outputTexts(result.records)[1], RUN_AS_ACCOUNT);
          } finally {
            await staged.close();
          }
          // No copy possible (the runtime folder cannot be made): the refusal names the path.
          const blocked = makeRunner({ pwshPath: unreachable, runAsAllowlist: [RUN_AS_ACCOUNT], runtimeFolder: join(hidden, 'tools', basename(real), 'runtime') });
          const detail = await refusal(() => blocked.assertModeAvailable({ kind: 'process', account: RUN_AS_ACCOUNT }));
          assert.ok(detail.includes(`cannot execute ${unreachable}`), detail);
          assert.match(detail, /no copy could be made/);
          await blocked.close();
        } finally {
          rmSync(hidden, { recursive: true, force: true });
          rmSync(runtime, { recursive: true, force: true });
        }
      });

      it('refuses run-as in an executor that runs without the privilege to switch users', () => {
        const account = lookupAccount(RUN_AS_ACCOUNT);
        assert.ok(account);
        // The same check, in an executor process that runs as the unprivileged account's uid. A user
        // namespace maps it (rather than setpriv), so the process still reads a clone only root may enter.
        const probeCode = `
          const { createPwshRunner } = await import(${JSON.stringify(join(PROJECT_ROOT, 'executor/pwsh/runner.ts'))});
          const { silentLogger } = await import(${JSON.stringify(join(PROJECT_ROOT, 'lib/logger.ts'))});
          const runner = createPwshRunner({ pwshPath: ${JSON.stringify(pwshPath())}, logger: silentLogger(), clock: { now: () => 0 }, runAsAllowlist: ['${RUN_AS_ACCOUNT}'] });
          try { runner.assertModeAvailable({ kind: 'process', account: '${RUN_AS_ACCOUNT}' }); console.log('{"code":"none"}'); }
          catch (error) { console.log(JSON.stringify({ code: error.code, detail: error.detail })); }`;
        const unprivileged = spawnSync(
          'unshare',
          [`--map-user=${account.uid}`, `--map-group=${account.gid}`, '--', process.execPath, '--import', 'tsx', '--input-type=module', '-e', probeCode],
          { cwd: PROJECT_ROOT, env: accountEnvironment(account), encoding: 'utf8', timeout: 30_000 },
        );
        assert.equal(unprivileged.status, 0, unprivileged.stderr);
        const answer = JSON.parse(unprivileged.stdout.trim().split('\n').at(-1) ?? '{}') as { code: string; detail: string };
        assert.equal(answer.code, 'DEPUTY_E_MODE_UNAVAILABLE');
        assert.match(answer.detail, new RegExp(`runs as uid ${account.uid} without CAP_SETUID`));
      });

      it('cancels a process:<account> run with everything it started, also in a new session', async () => {
        const before = new Set(ownHostProcesses());
        const sleep = uniqueSleep();
        const controller = new AbortController();
        const result = await runner.execute(job(`Start-Process -FilePath setsid -ArgumentList 'sleep', '${sleep}'; 'started'; Start-Sleep 60`, { runAs: { kind: 'process', account: RUN_AS_ACCOUNT } }), {
          signal: controller.signal,
          onRecord: (record) => record.text === 'started' && controller.abort(),
        });
        assert.equal(result.outcome, 'cancelled');
        assert.ok(await eventually(() => processesWith(sleep).length === 0), 'the setsid child ends with the run');
        assert.ok(await eventually(() => ownHostProcesses().every((pid) => before.has(pid))));
      });

      it('keeps a warm pool:<account> whose workers run as that account', async () => {
        const account = lookupAccount(RUN_AS_ACCOUNT);
        await runner.prewarm({ kind: 'pool', account: RUN_AS_ACCOUNT });
        const result = await runner.execute(job('id -u; [System.Environment]::UserName', { runAs: { kind: 'pool', account: RUN_AS_ACCOUNT } }));
        assert.deepEqual(outputTexts(result.records), [String(account?.uid), RUN_AS_ACCOUNT]);
        assert.deepEqual(runner.stats().pools.map((pool) => pool.identity), [RUN_AS_ACCOUNT]);
      });
    } else {
      it('refuses run-as accounts when the executor cannot switch users', async () => {
        assert.match(await refusal(() => runner.assertModeAvailable({ kind: 'process', account: RUN_AS_ACCOUNT })), /CAP_SETUID|does not exist/);
      });
    }
  });
});
