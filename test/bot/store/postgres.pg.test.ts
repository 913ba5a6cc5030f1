import assert from 'node:assert/strict';
import { ManualClock } from '../../../lib/clock.ts';
import { silentLogger } from '../../../lib/logger.ts';
import { PgConversations } from '../../../bot/store/postgres.ts';
import { dropSchemas, useTestDatabase, withClient } from '../../helpers/postgres.ts';
import { conversationSuite } from './suite.ts';
import { BotCore } from '../../../bot/core/core.ts';
import { MemoryExecutor } from '../core/memory-executor.ts';
import { RecordingPort } from '../core/recording-port.ts';

describe('bot conversation store on PostgreSQL', () => {
  const databaseUrl = useTestDatabase();
  const clock = new ManualClock(Date.UTC(2026, 2, 1));

  const reset = () => dropSchemas(databaseUrl(), 'deputy_bot');

  conversationSuite('postgres', async () => {
    await reset();
    return { shared: true, open: () => PgConversations.open({ url: databaseUrl(), clock, logger: silentLogger(), poolSize: 2 }) };
  });

  it('hands the event lease to another bot once its holder stops renewing it', async () => {
    await reset();
    const [a, b] = await Promise.all([0, 1].map(() => PgConversations.open({ url: databaseUrl(), clock, logger: silentLogger(), poolSize: 1 })));
    try {
      assert.equal(await a!.leadEvents('bot-a', 15_000), true);
      clock.advance(14_000);
      assert.equal(await b!.leadEvents('bot-b', 15_000), false);
      clock.advance(1_000);
      assert.equal(await b!.leadEvents('bot-b', 15_000), true, 'expired');
      assert.equal(await a!.leadEvents('bot-a', 15_000), false, 'the old holder learns it lost the lease');
    } finally {
      await Promise.all([a!.close(), b!.close()]);
    }
  });

  it('keeps to its own schema, and prunes what was last written long ago', async () => {
    await reset();
    const store = await PgConversations.open({ url: databaseUrl(), clock, logger: silentLogger(), poolSize: 2 });
    try {
      await store.rememberPrincipal('alex', { channel: 'webchat', conversationId: 'old' });
      await store.rememberRunMessage('run_old', { channel: 'webchat', conversationId: 'old', messageId: 'm', viewer: 'alex' });
      clock.advance(31 * 24 * 60 * 60_000);
      await store.rememberRunMessage('run_new', { channel: 'webchat', conversationId: 'new', messageId: 'm', viewer: 'alex' });
      assert.equal(await store.prune(clock.now() - 30 * 24 * 60 * 60_000), 3);
      assert.equal(await store.lastConversationOf('alex'), undefined);
      assert.equal((await store.runMessage('run_new'))?.conversationId, 'new');
      const { rows } = await withClient(databaseUrl(), (client) =>
        client.query<{ schema: string }>("SELECT DISTINCT table_schema AS schema FROM information_schema.tables WHERE table_schema LIKE 'deputy%'"),
      );
      assert.deepEqual(rows.map((row) => row.schema), ['deputy_bot']);
    } finally {
      await store.close();
    }
  });

  it('is pruned by the bot that follows the events, of what was last written over 90 days ago', async () => {
    await reset();
    const store = await PgConversations.open({ url: databaseUrl(), clock, logger: silentLogger(), poolSize: 2 });
    const core = new BotCore({ executor: new MemoryExecutor([], []), logger: silentLogger(), clock, conversations: store, edges: [{ channel: 'webchat', port: new RecordingPort() }] });
    try {
      await store.rememberRunMessage('run_old', { channel: 'webchat', conversationId: 'old', messageId: 'm', viewer: 'alex' });
      clock.advance(91 * 24 * 60 * 60_000);
      await store.rememberRunMessage('run_new', { channel: 'webchat', conversationId: 'new', messageId: 'm', viewer: 'alex' });
      await core.start();
      await core.idle();
      assert.equal(await store.runMessage('run_old'), undefined);
      assert.equal((await store.runMessage('run_new'))?.conversationId, 'new');
    } finally {
      await core.close();
      await store.close();
    }
  });
});
