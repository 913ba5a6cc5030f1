/** What every SharedConversationStore (bot/store/port.ts) must do: the lowdb file and PostgreSQL each run it. */
import assert from 'node:assert/strict';
import type { SharedConversationStore } from '../../../bot/store/port.ts';

export interface ConversationPlace {
  open(): Promise<SharedConversationStore>;
  /** Two bot processes may have it open at once (PostgreSQL), or one only (the file). */
  shared: boolean;
}

export function conversationSuite(name: string, places: () => Promise<ConversationPlace>): void {
  describe(`conversation store suite: ${name}`, () => {
    let place: ConversationPlace;
    let store: SharedConversationStore;
    const open: SharedConversationStore[] = [];
    const track = async () => {
      const opened = await place.open();
      open.push(opened);
      return opened;
    };

    beforeEach(async () => {
      place = await places();
      store = await track();
    });

    afterEach(async () => {
      await Promise.all(open.splice(0).map((handle) => handle.close()));
    });

    it("keeps each principal's last conversation and every conversation it had", async () => {
      await store.rememberPrincipal('alex', { channel: 'teams', conversationId: 'a:1', platform: { serviceUrl: 'http://127.0.0.1:1/' } });
      await store.rememberPrincipal('alex', { channel: 'slack', conversationId: 'D42', threadId: '171.1' });
      assert.deepEqual(await store.lastConversationOf('alex'), { channel: 'slack', conversationId: 'D42', threadId: '171.1' });
      assert.deepEqual((await store.conversation('teams', 'a:1'))?.platform, { serviceUrl: 'http://127.0.0.1:1/' });
      assert.equal(await store.conversation('slack', 'a:1'), undefined);
      assert.equal(await store.lastConversationOf('bea'), undefined);
    });

    it('keeps the message of each run and the approvers asked', async () => {
      await store.rememberRunMessage('run_1', { channel: 'slack', conversationId: 'D42', messageId: '171.2', viewer: 'alex' });
      await store.rememberRunMessage('run_1', { channel: 'slack', conversationId: 'D42', messageId: '171.3', viewer: 'alex' });
      assert.equal((await store.runMessage('run_1'))?.messageId, '171.3');
      assert.equal(await store.runMessage('run_2'), undefined);
      await store.rememberApprovers('run_1', ['casey', 'dana']);
      assert.deepEqual(await store.approversOf('run_1'), ['casey', 'dana']);
      await store.forgetApprovers('run_1');
      assert.equal(await store.approversOf('run_1'), undefined);
      await store.forgetApprovers('run_never');
    });

    it('marks the cards asking "Cancel this run?" until the mark is cleared', async () => {
      assert.equal(await store.isAskingToCancel('teams:a:1:m1'), false);
      await store.setAskingToCancel('teams:a:1:m1', true);
      assert.equal(await store.isAskingToCancel('teams:a:1:m1'), true);
      assert.equal(await store.isAskingToCancel('teams:a:1:m2'), false);
      if (place.shared) assert.equal(await (await track()).isAskingToCancel('teams:a:1:m1'), true);
      await store.setAskingToCancel('teams:a:1:m1', false);
      assert.equal(await store.isAskingToCancel('teams:a:1:m1'), false);
    });

    it('lets one bot at a time follow the executor\'s events, and keeps where it stopped', async () => {
      assert.equal(await store.leadEvents('bot-a', 60_000), true);
      assert.equal(await store.leadEvents('bot-a', 60_000), true, 'the holder renews');
      await store.saveEventCursor('1017');
      if (!place.shared) return;
      const other = await track();
      assert.equal(await other.leadEvents('bot-b', 60_000), false, 'a lease held by another is refused');
      assert.equal(await other.eventCursor(), '1017');
      await store.releaseEvents('bot-a');
      assert.equal(await other.leadEvents('bot-b', 60_000), true, 'a released lease is free');
      assert.equal(await store.leadEvents('bot-a', 60_000), false);
      // Two bots asking at once: exactly one gets it.
      await other.releaseEvents('bot-b');
      const racing = await Promise.all([store.leadEvents('bot-a', 60_000), other.leadEvents('bot-b', 60_000)]);
      assert.equal(racing.filter(Boolean).length, 1);
    });

    it('keeps everything across a restart, and shares it between bot processes where it can', async () => {
      await store.rememberPrincipal('alex', { channel: 'webchat', conversationId: 'w1' });
      await store.rememberRunMessage('run_1', { channel: 'webchat', conversationId: 'w1', messageId: 'm1', viewer: 'alex' });
      await store.rememberApprovers('run_1', ['casey']);
      if (place.shared) {
        const other = await track();
        assert.equal((await other.runMessage('run_1'))?.messageId, 'm1');
        await other.rememberApprovers('run_2', ['dana']);
        assert.deepEqual(await store.approversOf('run_2'), ['dana']);
      }
      await store.close();
      open.splice(open.indexOf(store), 1);
      store = await track();
      assert.deepEqual(await store.lastConversationOf('alex'), { channel: 'webchat', conversationId: 'w1' });
      assert.equal((await store.runMessage('run_1'))?.viewer, 'alex');
      assert.deepEqual(await store.approversOf('run_1'), ['casey']);
    });
  });
}
