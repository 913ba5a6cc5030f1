/** The Teams edge's authentication builds each connector and token client once, not once per turn. */
import { strict as assert } from 'node:assert';
import { ConfigurationBotFrameworkAuthentication } from 'botbuilder';
import { ClaimsIdentity, PasswordServiceClientCredentialFactory } from 'botframework-connector';
import sinon from 'sinon';
import { botFrameworkAuthOptions } from '../../../bot/teams/config.ts';
import { ReusedClientsAuthentication } from '../../../bot/teams/reused-clients.ts';

const APP_ID = '00000000-0000-4000-8000-000000000001';
const SERVICE_URL = 'https://smba.trafficmanager.net/emea/';

function authentication(): ReusedClientsAuthentication {
  return new ReusedClientsAuthentication(
    botFrameworkAuthOptions({ appId: APP_ID, appPassword: 'secret', appTenantId: undefined, appType: 'MultiTenant' }),
    new PasswordServiceClientCredentialFactory(APP_ID, 'secret'),
  );
}

const addressedTo = (appId: string) => new ClaimsIdentity([{ type: 'aud', value: appId }], true);

describe('Teams: connector and token clients reused across turns', () => {
  afterEach(() => sinon.restore());

  it('gives every turn with one service URL and audience the same connector client, and another URL or audience its own', async () => {
    const auth = authentication();
    const first = await auth.createConnectorFactory(addressedTo(APP_ID)).create(SERVICE_URL);
    const again = await auth.createConnectorFactory(addressedTo(APP_ID)).create(SERVICE_URL);
    assert.equal(again, first);
    assert.notEqual(await auth.createConnectorFactory(addressedTo(APP_ID)).create('https://smba.trafficmanager.net/amer/'), first);
    assert.notEqual(await auth.createConnectorFactory(addressedTo(APP_ID)).create(SERVICE_URL, 'https://api.botframework.us'), first);
  });

  it('builds the user token client once per app id', async () => {
    const auth = authentication();
    const built = sinon.spy(ConfigurationBotFrameworkAuthentication.prototype, 'createUserTokenClient');
    const first = await auth.createUserTokenClient(addressedTo(APP_ID));
    assert.equal(await auth.createUserTokenClient(addressedTo(APP_ID)), first);
    assert.equal(built.callCount, 1);
  });

  it('forgets a client whose building failed, so the next turn tries again', async () => {
    const auth = authentication();
    const inner = auth.createConnectorFactory(addressedTo(APP_ID));
    const stubbed = sinon.stub(ConfigurationBotFrameworkAuthentication.prototype, 'createConnectorFactory');
    const create = sinon.stub();
    create.onFirstCall().rejects(new Error('token endpoint unreachable'));
    create.callsFake((serviceUrl: string, audience?: string) => inner.create(serviceUrl, audience));
    stubbed.returns({ create } as unknown as ReturnType<ConfigurationBotFrameworkAuthentication['createConnectorFactory']>);
    const fresh = authentication();
    await assert.rejects(fresh.createConnectorFactory(addressedTo(APP_ID)).create(SERVICE_URL), /token endpoint unreachable/);
    const client = await fresh.createConnectorFactory(addressedTo(APP_ID)).create(SERVICE_URL);
    assert.equal(await fresh.createConnectorFactory(addressedTo(APP_ID)).create(SERVICE_URL), client);
    assert.equal(create.callCount, 2);
  });
});
