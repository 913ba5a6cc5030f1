import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LowdbConversationStore } from '../../../bot/core/conversation-store.ts';
import { FileConversations } from '../../../bot/store/port.ts';
import { conversationSuite } from './suite.ts';

const folders: string[] = [];
after(async () => {
  await Promise.all(folders.map((folder) => rm(folder, { recursive: true, force: true })));
});

conversationSuite('lowdb file', async () => {
  const folder = await mkdtemp(join(tmpdir(), 'deputy-bot-store-'));
  folders.push(folder);
  const file = join(folder, 'bot-conversations.json');
  return { shared: false, open: async () => new FileConversations(await LowdbConversationStore.open(file)) };
});
