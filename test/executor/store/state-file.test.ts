import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { silentLogger } from '../../../lib/logger.ts';
import { openFileState } from '../../../executor/store/state-file.ts';
import { FileRuns } from '../../../executor/store/runs-file.ts';
import { FileRunsAsync } from '../../../executor/store/runs-async.ts';
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

// The executor's run port on files today: FileRuns (runs.jsonl, replayed at open) behind FileRunsAsync.
stateSuite('files, runs through FileRunsAsync', async () => {
  const dataDir = await dataFolder();
  const runsDir = await dataFolder();
  return {
    shared: false,
    durableLeases: false,
    open: async (clock) => {
      const state = await openFileState({ dataDir, clock, logger: silentLogger() });
      await mkdir(join(runsDir, 'output'), { recursive: true });
      const fileRuns = await FileRuns.open(join(runsDir, 'runs.jsonl'), join(runsDir, 'output'), silentLogger());
      return {
        ...state,
        runs: new FileRunsAsync(fileRuns),
        close: async () => {
          await fileRuns.close();
          await state.close();
        },
      };
    },
  };
});
