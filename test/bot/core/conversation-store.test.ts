/** The bot's small lowdb file: what notifications and in-place updates need after a restart. */
import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sinon from 'sinon';
import { LowdbConversationStore } from '../../../bot/core/conversation-store.ts';
import { PrivateJsonFile } from '../../../lib/private-files.ts';

describe('conversation store', () => {
  let folder: string;
  beforeEach(() => {
    folder = mkdtempSync(join(tmpdir(), 'deputy-conversations-'));
  });
  afterEach(() => rmSync(folder, { recursive: true, force: true }));

  it('keeps each principal’s last conversation and each run’s message across a reopen', async () => {
    const file = join(folder, 'nested', 'bot-conversations.json');
    const store = await LowdbConversationStore.open(file);
    await store.rememberPrincipal('alex', { channel: 'teams', conversationId: 'a:1', platform: { serviceUrl: 'http://127.0.0.1:1/' } });
    await store.rememberPrincipal('alex', { channel: 'slack', conversationId: 'D42', threadId: '171.1' });
    await store.rememberRunMessage('run_1', { channel: 'slack', conversationId: 'D42', messageId: '171.2', viewer: 'alex' });

    const reopened = await LowdbConversationStore.open(file);
    assert.deepEqual(reopened.lastConversationOf('alex'), { channel: 'slack', conversationId: 'D42', threadId: '171.1' });
    assert.deepEqual(reopened.conversation('teams', 'a:1')?.platform, { serviceUrl: 'http://127.0.0.1:1/' }, 'older conversations stay known');
    assert.equal(reopened.runMessage('run_1')?.messageId, '171.2');
    assert.equal(reopened.lastConversationOf('bea'), undefined);
    // Who talks to the bot where is no one else's business: folder 0700, file 0600.
    assert.equal(statSync(file).mode & 0o777, 0o600);
    assert.equal(statSync(join(folder, 'nested')).mode & 0o777, 0o700);
  });

  it('refuses a file that is not its own format instead of silently resetting it', async () => {
    const file = join(folder, 'bot-conversations.json');
    writeFileSync(file, JSON.stringify({ principals: { alex: { channel: 'fax', conversationId: 1 } } }));
    await assert.rejects(LowdbConversationStore.open(file));
  });

  it('keeps every change of a burst that shares one write', async () => {
    const folder = mkdtempSync(join(tmpdir(), 'deputy-conv-burst-'));
    try {
      const file = join(folder, 'conversations.json');
      const store = await LowdbConversationStore.open(file);
      await Promise.all(
        Array.from({ length: 50 }, (_, i) =>
          Promise.all([
            store.rememberPrincipal(`p${i}`, { channel: 'webchat', conversationId: `c${i}` }),
            store.rememberRunMessage(`run_${i}`, { channel: 'webchat', conversationId: `c${i}`, messageId: `m${i}`, viewer: `p${i}` }),
          ]),
        ),
      );
      const reopened = await LowdbConversationStore.open(file);
      for (let i = 0; i < 50; i++) {
        assert.equal(reopened.lastConversationOf(`p${i}`)?.conversationId, `c${i}`);
        assert.equal(reopened.runMessage(`run_${i}`)?.messageId, `m${i}`);
      }
    } finally {
      rmSync(folder, { recursive: true, force: true });
    }
  });

  it('writes once more for every change made while a write is under way, and a change resolves only once it is on disk', async () => {
    const file = join(folder, 'conversations.json');
    const store = await LowdbConversationStore.open(file);
    const write = PrivateJsonFile.prototype.write;
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    let started!: () => void;
    const firstStarted = new Promise<void>((resolve) => (started = resolve));
    const writes = sinon.stub(PrivateJsonFile.prototype, 'write').callsFake(async function (this: PrivateJsonFile<unknown>, data: unknown) {
      if (writes.callCount === 1) {
        started();
        await held;
      }
      return write.call(this, data as never);
    });
    try {
      const first = store.rememberPrincipal('p0', { channel: 'webchat', conversationId: 'c0' });
      await firstStarted;
      let laterSettled = false;
      const later = Promise.all(
        Array.from({ length: 20 }, (_, i) => store.rememberRunMessage(`run_${i}`, { channel: 'webchat', conversationId: 'c0', messageId: `m${i}`, viewer: 'p0' })),
      ).then(() => (laterSettled = true));
      // Turns go by while the first write is held: the later changes are not on disk, so they wait.
      for (let turn = 0; turn < 5; turn++) await new Promise((resolve) => setImmediate(resolve));
      assert.equal(laterSettled, false);
      assert.equal(writes.callCount, 1);
      release();
      await first;
      await later;
      assert.equal(writes.callCount, 2);
      const reopened = await LowdbConversationStore.open(file);
      assert.equal(reopened.lastConversationOf('p0')?.conversationId, 'c0');
      for (let i = 0; i < 20; i++) assert.equal(reopened.runMessage(`run_${i}`)?.messageId, `m${i}`);
    } finally {
      writes.restore();
    }
  });
});
