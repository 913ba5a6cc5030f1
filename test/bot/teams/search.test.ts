/**
 * Teams' dynamic typeahead on a query-bound field: the `application/search` invoke reaches the
 * core through the real Teams edge (botbuilder, verified JWT, loopback cloud) and is answered
 * with the search response Teams expects; the Teams locale reaches the core with every activity.
 */
import { strict as assert } from 'node:assert';
import sinon from 'sinon';
import type { ChatUser, ChoiceRequest, ConversationHandler, HandleResult, Inbound } from '../../../bot/core/model.ts';
import { choicesDataset, formInputId } from '../../../cards/form.ts';
import type { Choice } from '../../../executor/contract/index.ts';
import { FakeBotFrameworkCloud } from './fake-cloud.ts';
import { executeActivity, personalChat, send, startTeamsEdge, teamsUser, type RunningBot, type TeamsActivityJson } from './harness.ts';

function searchActivity(base: TeamsActivityJson, value: Record<string, unknown>): TeamsActivityJson {
  const { replyToId: _reply, ...rest } = base;
  return { ...rest, type: 'invoke', name: 'application/search', value };
}

describe('Teams edge: typeahead search on query-bound fields (real botbuilder, loopback cloud)', function () {
  this.timeout(30_000);
  let cloud: FakeBotFrameworkCloud;
  let bot: RunningBot | undefined;
  const asked: { user: ChatUser; request: ChoiceRequest }[] = [];
  const offices: Choice[] = Array.from({ length: 30 }, (_, index) => ({ value: `O${index}`, title: `Office ${index}` }));
  const handler: ConversationHandler = {
    handle: sinon.stub<[Inbound], Promise<HandleResult>>().resolves({ immediate: { screen: 'notice', text: 'ok' } }),
    async choices(user, request) {
      asked.push({ user, request });
      return request.parameter === 'Office' ? offices.filter((office) => !request.search || office.title.includes(request.search)) : [];
    },
  };

  before(async () => {
    cloud = await new FakeBotFrameworkCloud({ members: () => [] }).start();
    bot = await startTeamsEdge(cloud, handler);
  });
  after(async () => {
    await bot?.close();
    await cloud.close();
  });

  it('answers the search with the choices, a page at a time, as the person typing', async () => {
    const user = teamsUser('alex');
    const base = executeActivity(cloud, user, personalChat(), { verb: 'open-form', data: {}, replyToId: '1' });
    const response = await send(
      bot!.url,
      searchActivity(base, { queryText: 'Office 1', dataset: choicesDataset('move-user', 'Office'), queryOptions: { skip: 2, top: 3 } }),
      await cloud.token(),
    );
    assert.equal(response.status, 200);
    assert.deepEqual(response.body, {
      type: 'application/vnd.microsoft.search.searchResponse',
      value: { results: [{ value: 'O11', title: 'Office 11' }, { value: 'O12', title: 'Office 12' }, { value: 'O13', title: 'Office 13' }] },
    });
    const last = asked.at(-1);
    assert.deepEqual(last?.request, { actionId: 'move-user', parameter: 'Office', search: 'Office 1', values: {} });
    assert.deepEqual(last?.user.identity, { channel: 'teams', tenantId: base.conversation.tenantId, aadObjectId: user.aadObjectId });
    assert.equal(last?.user.locale, 'en-US');
  });

  it('sends the form\'s other values along for a dependent field (associatedInputs), by parameter name', async () => {
    const base = executeActivity(cloud, teamsUser('alex'), personalChat(), { verb: 'open-form', data: {}, replyToId: '1' });
    await send(
      bot!.url,
      searchActivity(base, {
        queryText: '',
        dataset: choicesDataset('auto-reply', 'User', 2),
        data: { [formInputId('Office')]: 'HAM', [formInputId('Office', 0)]: 'not this part', [formInputId('Mailbox', 2)]: 'a@b.example', verb: 'x' },
      }),
      await cloud.token(),
    );
    assert.deepEqual(asked.at(-1)?.request, { actionId: 'auto-reply', parameter: 'User', values: { Office: 'HAM', Mailbox: 'a@b.example' } });
  });

  it('answers an unreadable search with an empty list, without asking the core', async () => {
    const before = asked.length;
    const base = executeActivity(cloud, teamsUser('alex'), personalChat(), { verb: 'open-form', data: {}, replyToId: '1' });
    const response = await send(bot!.url, searchActivity(base, { queryText: 'x', dataset: 'no-slash' }), await cloud.token());
    assert.deepEqual(response.body, { type: 'application/vnd.microsoft.search.searchResponse', value: { results: [] } });
    assert.equal(asked.length, before);
  });

  it('refuses a search whose token it cannot verify', async () => {
    const base = executeActivity(cloud, teamsUser('alex'), personalChat(), { verb: 'open-form', data: {}, replyToId: '1' });
    sinon.stub(console, 'error');
    try {
      const response = await send(bot!.url, searchActivity(base, { queryText: 'x', dataset: choicesDataset('move-user', 'Office') }), undefined);
      assert.equal(response.status, 401);
    } finally {
      sinon.restore();
    }
  });
});
