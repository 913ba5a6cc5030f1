/**
 * The SSH transport against a real OpenSSH server on loopback, running the project's real pwsh
 * on the "remote" side: the job protocol over the channel, host key pinning, key
 * authentication, unreachable targets, timeout and cancel ending the remote process tree,
 * output caps, and warm sessions kept per (target, requester).
 */
import assert from 'node:assert/strict';
import { systemClock } from '../../../lib/clock.ts';
import { silentLogger } from '../../../lib/logger.ts';
import type { Target } from '../../../executor/domain.ts';
import { fingerprintOf, parseHostKey } from '../../../executor/targets/host-key.ts';
import { createTargetRunner, type TargetJob, type TargetRunner } from '../../../executor/targets/runner.ts';
import type { TargetConnectError } from '../../../executor/targets/ssh.ts';
import type { ExecutionRequest } from '../../../executor/pwsh/types.ts';
import { generateKeyPair, startSilentServer, startSshd, type KeyPair, type TestSshd } from '../../helpers/sshd.ts';
import { eventually, job as hostJob, outputTexts, processGone, pwshPath } from '../pwsh/helpers.ts';

function probe(records: Array<{ stream: string; text: string }>): Record<string, string> {
  return Object.fromEntries(outputTexts(records).filter((text) => text.includes('=')).map((text) => [text.slice(0, text.indexOf('=')), text.slice(text.indexOf('=') + 1)]));
}

describe('targets: running pwsh over SSH on a real sshd', function () {
  this.timeout(120_000);
  let userKey: KeyPair;
  let sshd: TestSshd;
  let runner: TargetRunner;
  const failures: TargetConnectError[] = [];

  const target = (overrides: Partial<Target> = {}): Target => ({
    id: 'web-01',
    name: 'Web server 01',
    tenant: 'hamburg',
    host: '127.0.0.1',
    port: sshd.port,
    user: sshd.user,
    credential: 'web-01-key',
    hostKey: sshd.hostKey,
    pwsh: pwshPath(),
    ...overrides,
  });

  const job = (script: string, overrides: { request?: Partial<ExecutionRequest>; target?: Partial<Target>; requester?: string; privateKey?: string } = {}): TargetJob => ({
    request: hostJob(script, overrides.request),
    target: target(overrides.target),
    privateKey: overrides.privateKey ?? userKey.privateKey,
    credentialVersion: 1,
    requester: overrides.requester ?? 'alex',
  });

  before(async () => {
    userKey = generateKeyPair();
    sshd = await startSshd({ authorizedKeys: [userKey.publicKey] });
    runner = createTargetRunner({
      logger: silentLogger(),
      clock: systemClock,
      connectTimeoutMs: 15_000,
      idleMs: 60_000,
      maxIdleSessions: 8,
      onConnectFailure: (_job, error) => failures.push(error),
    });
  });

  after(async () => {
    await runner?.close();
    await sshd?.stop();
  });

  it('runs a job on the target: inputs stay data, secrets travel on stdin and are masked', async () => {
    const hostile = `x'; Remove-Item -Recurse /; "$(whoami)" \`n ; exit 3`;
    const result = await runner.execute(
      job(
        `param([string] $Text, [SecureString] $Secret)
         "text=$Text"
         "secret=$([System.Net.NetworkCredential]::new('', $Secret).Password)"
         "pid=$PID"
         "parent=$((Get-Content /proc/$PID/stat).Split(' ')[3])"`,
        { request: { parameters: { Text: hostile, Secret: 'hunter2-very-secret' }, secretParameters: ['Secret'], runAs: { kind: 'service' } } },
      ),
    );
    assert.equal(result.outcome, 'succeeded', JSON.stringify(result.records));
    const seen = probe(result.records);
    assert.equal(seen.text, hostile);
    assert.equal(seen.secret, '********');
    assert.ok(!JSON.stringify(result).includes('hunter2'), 'the secret never leaves unmasked');
    // The script ran in a process of the SSH session, not one this test started.
    assert.notEqual(Number(seen.parent), process.pid);
    assert.ok(await eventually(() => processGone(Number(seen.pid))), 'a service-mode session ends with its run');
  });

  it('refuses a target whose host presents another key, naming the mismatch', async () => {
    const stranger = generateKeyPair();
    const before = failures.length;
    const result = await runner.execute(job("'never runs'", { target: { hostKey: stranger.publicKey } }));
    assert.equal(result.outcome, 'failed');
    assert.equal(result.error?.code, 'DEPUTY_E_TARGET_REFUSED');
    assert.equal(result.error?.message, 'web-01: host key mismatch');
    assert.deepEqual(outputTexts(result.records), []);
    const failure = failures[before];
    const presented = parseHostKey(sshd.hostKey);
    assert.ok(failure && typeof presented !== 'string');
    assert.equal(failure.failure, 'host-key');
    assert.equal(failure.presentedFingerprint, fingerprintOf(presented.blob));
  });

  it('fails with the reason when the target refuses the stored key', async () => {
    const result = await runner.execute(job("'never runs'", { privateKey: generateKeyPair().privateKey }));
    assert.equal(result.outcome, 'failed');
    assert.equal(result.error?.code, 'DEPUTY_E_TARGET_REFUSED');
    assert.match(result.error?.message ?? '', /^web-01: authentication failed/);
  });

  it('fails at once when nothing listens on the target port', async () => {
    const closed = await startSilentServer();
    await closed.stop(); // a port that was free a moment ago and is closed now
    const startedAt = Date.now();
    const result = await runner.execute(job("'never runs'", { target: { port: closed.port } }));
    assert.equal(result.outcome, 'failed');
    assert.deepEqual(result.error, { code: 'DEPUTY_E_TARGET_UNREACHABLE', message: 'web-01: connection refused' });
    assert.ok(result.summary.errors.includes('web-01: connection refused'));
    assert.ok(Date.now() - startedAt < 10_000);
  });

  it('fails within the run timeout when the target never completes a handshake', async () => {
    const silent = await startSilentServer();
    try {
      const startedAt = Date.now();
      const result = await runner.execute(job("'never runs'", { target: { port: silent.port }, request: { timeoutMs: 2000 } }));
      assert.equal(result.outcome, 'failed');
      assert.equal(result.error?.code, 'DEPUTY_E_TARGET_UNREACHABLE');
      assert.match(result.error?.message ?? '', /^web-01: connection timed out/);
      assert.ok(Date.now() - startedAt < 6000, `took ${Date.now() - startedAt} ms`);
    } finally {
      await silent.stop();
    }
  });

  it('fails with a clear reason when the target has no pwsh at the configured path', async () => {
    const result = await runner.execute(job("'never runs'", { target: { pwsh: '/nonexistent/pwsh' }, request: { runAs: { kind: 'service' } } }));
    assert.equal(result.outcome, 'failed');
    assert.equal(result.error?.message, 'web-01: pwsh not found at "/nonexistent/pwsh"');
  });

  it('ends the remote process tree when the run times out', async () => {
    // A warm session first, so the timeout below is spent in the script, not in a cold start on a busy machine.
    assert.equal((await runner.execute(job("'warm'", { requester: 'timeout-test' }))).outcome, 'succeeded');
    const result = await runner.execute(
      job('$child = Start-Process -FilePath sleep -ArgumentList 300 -PassThru; "child=$($child.Id)"; "pid=$PID"; Start-Sleep 120', {
        requester: 'timeout-test',
        request: { timeoutMs: 8000 },
      }),
    );
    assert.equal(result.outcome, 'timed-out');
    const seen = probe(result.records);
    assert.ok(Number(seen.child) > 0 && Number(seen.pid) > 0, JSON.stringify(result.records));
    assert.ok(await eventually(() => processGone(Number(seen.child)) && processGone(Number(seen.pid)), 10_000), 'the remote pwsh and its child are gone');
  });

  it('cancels a run by ending the remote process tree, and never reuses that session', async () => {
    const first = await runner.execute(job('"pid=$PID"', { requester: 'cancel-test' }));
    const controller = new AbortController();
    const cancelled = await runner.execute(
      job('$child = Start-Process -FilePath sleep -ArgumentList 300 -PassThru; "child=$($child.Id)"; "pid=$PID"; Start-Sleep 120', { requester: 'cancel-test' }),
      { signal: controller.signal, onRecord: (record) => record.text.startsWith('pid=') && controller.abort() },
    );
    assert.equal(cancelled.outcome, 'cancelled');
    const seen = probe(cancelled.records);
    assert.equal(seen.pid, probe(first.records).pid, 'the warm session took the job');
    assert.ok(await eventually(() => processGone(Number(seen.child)) && processGone(Number(seen.pid)), 10_000));
    const after = await runner.execute(job('"pid=$PID"', { requester: 'cancel-test' }));
    assert.equal(after.outcome, 'succeeded');
    assert.notEqual(probe(after.records).pid, seen.pid, 'a new session after the cancel');
  });

  it('keeps a warm session per (target, requester): reused for the same requester, never for another', async () => {
    const pidOf = async (requester: string) => probe((await runner.execute(job('"pid=$PID"', { requester }))).records).pid;
    const alice = await pidOf('alice');
    assert.equal(await pidOf('alice'), alice);
    const bob = await pidOf('bob');
    assert.notEqual(bob, alice);
    assert.equal(await pidOf('alice'), alice);
    assert.equal(await pidOf('bob'), bob);
    const live = runner.stats().sessions.filter((session) => ['alice', 'bob'].includes(session.requester));
    assert.deepEqual(live.map((session) => [session.requester, String(session.pid)]).sort(), [['alice', alice], ['bob', bob]]);
  });

  it('ends a warm session whose job left a process behind, even one whose parent exited', async () => {
    const first = await runner.execute(job(`"pid=$PID"; sh -c 'sleep 300 > /dev/null 2>&1 & echo orphan=$!'`, { requester: 'stray-test' }));
    assert.equal(first.outcome, 'succeeded', JSON.stringify(first.records));
    const seen = probe(first.records);
    assert.ok(await eventually(() => processGone(Number(seen.orphan)), 10_000), 'the orphan ended with its session');
    const next = await runner.execute(job('"pid=$PID"', { requester: 'stray-test' }));
    assert.notEqual(probe(next.records).pid, seen.pid);
  });

  it('holds the output caps', async () => {
    const result = await runner.execute(job('1..500 | ForEach-Object { "line $_" }', { request: { limits: { maxOutputBytes: 1_000_000, maxRecords: 20 } } }));
    assert.equal(result.outcome, 'succeeded');
    assert.equal(result.truncated, true);
    assert.ok(result.records.length <= 21);
  });
});
