/** `$SRXEnv` for scripts written for ScriptRunner, in real pwsh: set before the script, read after it. */
import assert from 'node:assert/strict';
import { MASK } from '../../../executor/contract/index.ts';
import type { PwshRunner } from '../../../executor/pwsh/runner.ts';
import { job, makeRunner, outputTexts } from './helpers.ts';

const srx = { startedBy: 'alex', startedReason: 'Started from Teams by Alex Wagner', displayName: 'Add users to groups', actionId: 'add-users', scriptName: 'Add-ADUsersToGroups' };

describe('$SRXEnv (real pwsh)', function () {
  this.timeout(60_000);
  let runner: PwshRunner;
  before(() => (runner = makeRunner({ poolSize: 1 })));
  after(() => runner.close());

  it('tells the script who started it and why, and carries back message, lists and HTML', async () => {
    const script = `
      Set-StrictMode -Version Latest
      "by $($SRXEnv.SRXStartedBy): $($SRXEnv.SRXStartedReason) [$($SRXEnv.SRXDisplayName) / $($SRXEnv.SRXActionID)]"
      $SRXEnv.ResultMessage = @('first line', 'second line')
      $null = $SRXEnv.ResultList.Add('CN=Alex')
      $null = $SRXEnv.ResultList2.Add('Alex Wagner (awagner)')
      $SRXEnv.ResultList += 'CN=Uma'
      $SRXEnv.ResultList2 += 'Uma Patel (upatel)'
      $SRXEnv.ResultHtml = '<table><tr><td>x</td></tr></table>'`;
    const result = await runner.execute(job(script, { srx }));
    assert.equal(result.outcome, 'succeeded', JSON.stringify(result.records));
    assert.deepEqual(outputTexts(result.records), ['by alex: Started from Teams by Alex Wagner [Add users to groups / add-users]']);
    assert.deepEqual(result.srx, {
      message: 'first line\nsecond line',
      list: ['CN=Alex', 'CN=Uma'],
      list2: ['Alex Wagner (awagner)', 'Uma Patel (upatel)'],
      listCut: false,
      html: '<table><tr><td>x</td></tr></table>',
    });
  });

  it('gives no $SRXEnv to a run that does not ask for one', async () => {
    const result = await runner.execute(job(`Test-Path variable:SRXEnv`));
    assert.deepEqual(outputTexts(result.records), ['False']);
    assert.equal(result.srx, undefined);
  });

  it("turns objects into text in the job's own runspace, never in the host's", async () => {
    const script = `
      "job $([runspace]::DefaultRunspace.Id)"
      $SRXEnv | Add-Member -Force -MemberType ScriptProperty -Name ResultMessage -Value { "read in $([runspace]::DefaultRunspace.Id)" }`;
    const result = await runner.execute(job(script, { srx }));
    const jobRunspace = outputTexts(result.records)[0]?.replace('job ', '');
    assert.equal(result.srx?.message, `read in ${jobRunspace}`);
  });

  it('masks secrets in what it carries back', async () => {
    const script = `param([securestring] $Password)
      $plain = [System.Net.NetworkCredential]::new('', $Password).Password
      $SRXEnv.ResultMessage = "the password is $plain"
      $null = $SRXEnv.ResultList.Add($plain)
      $SRXEnv.ResultHtml = "<b>$plain</b>"`;
    const result = await runner.execute(job(script, { srx, parameters: { Password: 'S3cret!pw' }, secretParameters: ['Password'] }));
    assert.equal(result.srx?.message, `the password is ${MASK}`);
    assert.deepEqual(result.srx?.list, [MASK]);
    assert.equal(result.srx?.html, `<b>${MASK}</b>`);
  });

  it('cuts long lists at the same index in both, and says so', async () => {
    const script = `foreach ($i in 1..4000) { $null = $SRXEnv.ResultList.Add("value-$i-" + ('x' * 100)); $null = $SRXEnv.ResultList2.Add("title $i") }`;
    const result = await runner.execute(job(script, { srx }));
    assert.equal(result.outcome, 'succeeded');
    assert.equal(result.srx?.listCut, true);
    assert.ok((result.srx?.list.length ?? 0) > 1000);
    assert.equal(result.srx?.list.length, result.srx?.list2.length);
  });
});
