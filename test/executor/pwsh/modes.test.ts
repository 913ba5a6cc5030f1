import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isDeputyError } from '../../../executor/contract/index.ts';
import { accountEnvironment, lookupAccount } from '../../../executor/pwsh/accounts.ts';
import { PROJECT_ROOT } from '../../../executor/pwsh/locate.ts';
import { createPwshRunner, type PwshRunner } from '../../../executor/pwsh/runner.ts';
import { systemClock } from '../../../lib/clock.ts';
import { silentLogger } from '../../../lib/logger.ts';
import { eventually, job, makeRunner, outputTexts, ownHostProcesses, processGone, pwshPath } from './helpers.ts';

const RUN_AS_ACCOUNT = 'deputy-test-runas';
/** A supplementary group of the account, to prove runs get the account's groups (initgroups). */
const EXTRA_GROUP = 'deputy-test-runas-extra';
/** What a run may see of its environment: the account's own variables, pwsh's, and the telemetry opt-outs. */
const ALLOWED_VARIABLES = new Set([
  'HOME', 'USER', 'LOGNAME', 'SHELL', 'PATH', 'LANG', 'LC_ALL', 'LC_CTYPE', 'TZ', 'TMPDIR', 'DOTNET_ROOT', 'PSModulePath',
  'POWERSHELL_TELEMETRY_OPTOUT', 'POWERSHELL_UPDATECHECK', 'DOTNET_CLI_TELEMETRY_OPTOUT',
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
  "pid=$PID"`;

function probe(records: Array<{ stream: string; text: string }>): Record<string, string> {
  return Object.fromEntries(outputTexts(records).map((text) => [text.slice(0, text.indexOf('=')), text.slice(text.indexOf('=') + 1)]));
}

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
      const one = probe(first?.records ?? []);
      const two = probe(second?.records ?? []);
      assert.notEqual(one.pid, two.pid);
      assert.equal(one.token, '[]');
      for (const name of (one.variables ?? '').split(',')) assert.ok(ALLOWED_VARIABLES.has(name), `unexpected variable ${name}`);
      assert.ok(await eventually(() => processGone(Number(one.pid)) && processGone(Number(two.pid))), 'a service run\'s process ends with it');
    });

    it('cancels a run by killing its pwsh and the processes it started', async () => {
      const controller = new AbortController();
      const result = await runner.execute(
        job('$child = Start-Process -FilePath sleep -ArgumentList 300 -PassThru; "child=$($child.Id)"; "pid=$PID"; Start-Sleep 60', { runAs: { kind: 'service' } }),
        { signal: controller.signal, onRecord: (record) => record.text.startsWith('pid=') && controller.abort() },
      );
      assert.equal(result.outcome, 'cancelled');
      const seen = probe(result.records);
      assert.ok(await eventually(() => processGone(Number(seen.child)) && processGone(Number(seen.pid))));
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
    let closing: Promise<void> | undefined;
    const result = await running.execute(job('"pid=$PID"; Start-Sleep 60', { runAs: { kind: 'service' } }), {
      onRecord: (record) => {
        if (record.text.startsWith('pid=')) closing = running.close();
      },
    });
    await closing;
    assert.equal(result.outcome, 'cancelled');
    assert.ok(await eventually(() => processGone(Number(probe(result.records).pid))));
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
        const seen = probe(result.records);
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

      it('refuses an account that cannot reach pwsh, naming the path', async () => {
        const hidden = mkdtempSync(join(tmpdir(), 'deputy-hidden-')); // mode 0700, root's
        try {
          const unreachable = join(hidden, 'pwsh');
          symlinkSync(pwshPath(), unreachable);
          const blocked = makeRunner({ pwshPath: unreachable, runAsAllowlist: [RUN_AS_ACCOUNT] });
          const detail = await refusal(() => blocked.assertModeAvailable({ kind: 'process', account: RUN_AS_ACCOUNT }));
          assert.ok(detail.includes(`cannot execute ${unreachable}`), detail);
          await blocked.close();
        } finally {
          rmSync(hidden, { recursive: true, force: true });
        }
      });

      it('refuses run-as in an executor that runs without the privilege to switch users', () => {
        const account = lookupAccount(RUN_AS_ACCOUNT);
        assert.ok(account);
        // The same check, in an executor process that runs as the unprivileged account itself.
        const probeCode = `
          const { createPwshRunner } = await import(${JSON.stringify(join(PROJECT_ROOT, 'executor/pwsh/runner.ts'))});
          const { silentLogger } = await import(${JSON.stringify(join(PROJECT_ROOT, 'lib/logger.ts'))});
          const runner = createPwshRunner({ pwshPath: ${JSON.stringify(pwshPath())}, logger: silentLogger(), clock: { now: () => 0 }, runAsAllowlist: ['${RUN_AS_ACCOUNT}'] });
          try { runner.assertModeAvailable({ kind: 'process', account: '${RUN_AS_ACCOUNT}' }); console.log('{"code":"none"}'); }
          catch (error) { console.log(JSON.stringify({ code: error.code, detail: error.detail })); }`;
        const unprivileged = spawnSync(
          'setpriv',
          [`--reuid=${account.uid}`, `--regid=${account.gid}`, '--init-groups', '--', process.execPath, '--import', 'tsx', '--input-type=module', '-e', probeCode],
          { cwd: PROJECT_ROOT, env: accountEnvironment(account), encoding: 'utf8', timeout: 30_000 },
        );
        assert.equal(unprivileged.status, 0, unprivileged.stderr);
        const answer = JSON.parse(unprivileged.stdout.trim().split('\n').at(-1) ?? '{}') as { code: string; detail: string };
        assert.equal(answer.code, 'DEPUTY_E_MODE_UNAVAILABLE');
        assert.match(answer.detail, new RegExp(`runs as uid ${account.uid} without CAP_SETUID`));
      });

      it('cancels a process:<account> run', async () => {
        const controller = new AbortController();
        const result = await runner.execute(job('"pid=$PID"; Start-Sleep 60', { runAs: { kind: 'process', account: RUN_AS_ACCOUNT } }), {
          signal: controller.signal,
          onRecord: (record) => record.text.startsWith('pid=') && controller.abort(),
        });
        assert.equal(result.outcome, 'cancelled');
        assert.ok(await eventually(() => processGone(Number(probe(result.records).pid))));
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
