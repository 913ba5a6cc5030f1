/**
 * A runner in an executor process that is not root (started by isolation.test.ts under another
 * uid): runs one script as `service` and as `pool` and prints what happened as one JSON line.
 * Input: argv[2] = JSON { pwsh, dataDir, protectedPaths, allowUnisolated, script }.
 */
import { isDeputyError } from '../../../executor/contract/index.ts';
import { createPwshRunner } from '../../../executor/pwsh/runner.ts';
import type { RunAs } from '../../../executor/domain.ts';
import { silentLogger } from '../../../lib/logger.ts';

const input = JSON.parse(process.argv[2] ?? '{}') as { pwsh: string; dataDir: string; protectedPaths: string[]; allowUnisolated: boolean; script: string };
const runner = createPwshRunner({
  pwshPath: input.pwsh,
  logger: silentLogger(),
  clock: { now: () => Date.now() },
  runAsAllowlist: [],
  protectedPaths: input.protectedPaths,
  allowUnisolated: input.allowUnisolated,
});

async function attempt(runAs: RunAs) {
  try {
    runner.assertModeAvailable(runAs);
    const result = await runner.execute({
      runId: 'run_probe',
      requester: 'probe',
      scriptText: input.script,
      scriptHash: '0'.repeat(64),
      parameters: { DataDir: input.dataDir, ExecutorPid: process.pid },
      secretParameters: [],
      runAs,
      timeoutMs: 60_000,
      limits: { maxOutputBytes: 1_000_000, maxRecords: 10_000 },
    });
    return { outcome: result.outcome, records: result.records };
  } catch (error) {
    return { refused: isDeputyError(error) ? error.code : String(error), detail: isDeputyError(error) ? error.detail : undefined };
  }
}

const { kind, containment, gaps } = runner.isolation();
const service = await attempt({ kind: 'service' });
const pool = await attempt({ kind: 'pool' });
await runner.close();
process.stdout.write(`${JSON.stringify({ uid: process.geteuid?.(), isolation: { kind, containment, gaps }, service, pool })}\n`);
