/**
 * The example catalog tells the truth (issue 12, item 5): through the real executor and real
 * pwsh, an answer is not a failure, every action says what it does, and a form's examples fit
 * the office its action serves.
 */
import { strict as assert } from 'node:assert';
import type { ActionView } from '../../executor/contract/index.ts';
import { EXAMPLE_CATALOG_FOLDER, startTestExecutor, type TestExecutor } from '../helpers/executor.ts';

describe('example catalog: answers people can trust', function () {
  this.timeout(120_000);
  let executor: TestExecutor;

  before(async () => {
    executor = await startTestExecutor({ catalog: EXAMPLE_CATALOG_FOLDER });
  });
  after(async () => {
    await executor?.dispose();
  });

  async function actionsOf(principal: string): Promise<ActionView[]> {
    return ((await (await executor.api(`/v1/actions?principal=${principal}`)).json()) as { actions: ActionView[] }).actions;
  }

  it('"Is a service running?" for a service that is not running succeeds and says "not running"', async () => {
    const response = await executor.api('/v1/runs', { method: 'POST', json: { actionId: 'service-status', principalId: 'alex', inputs: { Name: 'sshd-not-here' } } });
    assert.equal(response.status, 202, await response.clone().text());
    const run = await executor.waitForRun(((await response.json()) as { id: string }).id);
    assert.equal(run.state, 'succeeded', JSON.stringify(run.summary));
    assert.deepEqual(run.summary?.errors, []);
    const row = run.summary?.table?.rows[0] ?? [];
    const running = run.summary?.table?.columns.indexOf('Running') ?? -1;
    assert.equal(row[running], 'false');
  });

  it('every action a helpdesk agent sees says what it does', async () => {
    for (const principal of ['alex', 'max', 'carla']) {
      for (const action of await actionsOf(principal)) assert.ok(action.description && action.description.length > 10, `${action.id} has no description`);
    }
  });

  it('Max’s Munich password form gives a Munich account as its example', async () => {
    const reset = (await actionsOf('max')).find((action) => action.id === 'reset-password-munich');
    const user = reset?.form.fields.find((field) => field.name === 'UserPrincipalName');
    assert.match(user?.hint ?? '', /Munich account, for example sophie\.maier@contoso\.example/);
    assert.doesNotMatch(user?.hint ?? '', /Hamburg|lena\.hoffmann/);
  });
});
