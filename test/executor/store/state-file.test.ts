import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { silentLogger } from '../../../lib/logger.ts';
import { openFileState } from '../../../executor/store/state-file.ts';
import { stateSuite } from './state-suite.ts';

const folders: string[] = [];
after(async () => {
  await Promise.all(folders.map((folder) => rm(folder, { recursive: true, force: true })));
});

async function dataFolder(): Promise<string> {
  const folder = await mkdtemp(join(tmpdir(), 'deputy-state-'));
  folders.push(folder);
  return join(folder, 'data');
}

stateSuite('files', async () => {
  const dataDir = await dataFolder();
  return { shared: false, durableLeases: false, open: (clock) => openFileState({ dataDir, clock, logger: silentLogger() }) };
});

// A checkpoint every few lines, so the same cases read runs from the index files as well as from memory.
stateSuite('files, checkpointing every 3 lines', async () => {
  const dataDir = await dataFolder();
  return { shared: false, durableLeases: false, open: (clock) => openFileState({ dataDir, clock, logger: silentLogger(), checkpointEvery: 3 }) };
});
