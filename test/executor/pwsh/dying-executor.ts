/**
 * An executor that dies without a word (SIGKILL) while a service run and a pool run are under way,
 * each with a child that left its session: isolation.test.ts checks that nothing outlives it.
 * Input: argv[2] = JSON { pwsh, markers: [service, pool] }.
 */
import { createPwshRunner } from '../../../executor/pwsh/runner.ts';
import { silentLogger } from '../../../lib/logger.ts';

const input = JSON.parse(process.argv[2] ?? '{}') as { pwsh: string; markers: [string, string] };
const runner = createPwshRunner({ pwshPath: input.pwsh, logger: silentLogger(), clock: { now: () => Date.now() }, runAsAllowlist: [] });
let started = 0;
(['service', 'pool'] as const).forEach((kind, index) => {
  void runner.execute(
    {
      runId: `run_${kind}`,
      requester: 'probe',
      scriptText: `param([string]$Marker) Start-Process -FilePath setsid -ArgumentList 'sleep', $Marker; 'started'; Start-Sleep 120`,
      scriptHash: '0'.repeat(64),
      parameters: { Marker: input.markers[index] },
      secretParameters: [],
      runAs: { kind },
      timeoutMs: 120_000,
      limits: { maxOutputBytes: 1_000_000, maxRecords: 10_000 },
    },
    {
      onRecord: (record) => {
        if (record.text !== 'started' || ++started < 2) return;
        process.stdout.write('both started\n');
        process.kill(process.pid, 'SIGKILL');
      },
    },
  );
});
