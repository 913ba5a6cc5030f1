/**
 * Forms mean what PowerShell means: every parameter of a corpus of real-world-style scripts, read
 * by Deputy's parser, against what Get-Command and Get-Help say of the same file in real pwsh.
 * DEPUTY_PS_CORPUS=<folder> holds the parser against another corpus as well (for example a
 * checkout of ScriptRunner's ActionPacks; see test/fixtures/powershell-corpus/README.md).
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { PROJECT_ROOT } from '../../../executor/pwsh/locate.ts';
import { checkFidelity, scriptFiles, type FidelityReport } from './fidelity/fidelity.ts';
import { pwshPath } from './helpers.ts';

const CORPUS = join(PROJECT_ROOT, 'test', 'fixtures', 'powershell-corpus');

function problemsOf(report: FidelityReport): string[] {
  return report.scripts.flatMap((script) => [
    ...script.problems.map((problem) => `${script.path}: ${problem}`),
    ...script.parameters.flatMap((parameter) => parameter.problems.map((problem) => `${script.path} $${parameter.name}: ${problem}`)),
  ]);
}

describe('parameter fidelity: Deputy against Get-Command and Get-Help (real pwsh)', function () {
  this.timeout(300_000);

  it('reads every parameter of the committed corpus as PowerShell does', async () => {
    const files = scriptFiles(CORPUS);
    assert.ok(files.length >= 18, `the corpus has ${files.length} scripts`);
    const report = await checkFidelity(pwshPath(), files);
    assert.deepEqual(report.scripts.filter((script) => script.skipped).map((script) => `${script.path}: ${script.skipped}`), []);
    assert.deepEqual(problemsOf(report), []);
    // The corpus exercises what the comparison is about, so an empty problem list means something.
    assert.ok(report.parameters >= 100, `${report.parameters} parameters compared`);
  });

  const external = process.env.DEPUTY_PS_CORPUS;
  (external ? it : it.skip)(`reads the scripts of DEPUTY_PS_CORPUS (${external ?? 'not set'}) as PowerShell does`, async () => {
    const report = await checkFidelity(pwshPath(), scriptFiles(external as string));
    assert.deepEqual(problemsOf(report), []);
  });
});
