import assert from 'node:assert/strict';
import { mkdtemp, open, readFile, rm, type FileHandle } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isDeputyError } from '../../../executor/contract/index.ts';
import { GroupCommitFile } from '../../../executor/store/group-commit.ts';

/** A real file handle whose next `failures` calls of `method` fail, as a full disk would. */
function failing(handle: FileHandle, failures: Partial<Record<'datasync' | 'truncate', number>>): FileHandle {
  const left = { ...failures };
  return new Proxy(handle, {
    get(target, property, receiver) {
      const value = Reflect.get(target, property, receiver) as unknown;
      if ((property === 'datasync' || property === 'truncate') && (left[property] ?? 0) > 0) {
        return async () => {
          left[property] = (left[property] ?? 0) - 1;
          throw Object.assign(new Error(`${property} failed`), { code: 'ENOSPC' });
        };
      }
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}

describe('group commit', () => {
  let folder: string;
  let path: string;
  let handle: FileHandle;
  const committed: string[] = [];

  beforeEach(async () => {
    folder = await mkdtemp(join(tmpdir(), 'deputy-commit-'));
    path = join(folder, 'log.jsonl');
    handle = await open(path, 'a+');
    committed.length = 0;
  });

  afterEach(async () => {
    await handle.close().catch(() => undefined);
    await rm(folder, { recursive: true, force: true });
  });

  function log(file: FileHandle): GroupCommitFile<string, number> {
    return new GroupCommitFile<string, number>(file, path, 0, (items) => ({
      text: items.map((item) => `${item}\n`).join(''),
      results: items.map((_, index) => index),
      commit: () => committed.push(...items),
    }));
  }

  it('writes everything submitted together as one batch, in order', async () => {
    const file = log(handle);
    const results = await Promise.all(['a', 'b', 'c'].map((item) => file.submit(item)));
    assert.deepEqual(results, [0, 1, 2]);
    assert.equal(file.syncs, 1);
    assert.equal(await readFile(path, 'utf8'), 'a\nb\nc\n');
    assert.deepEqual(committed, ['a', 'b', 'c']);
  });

  it('cuts a failed batch off the file, commits nothing of it, and carries on', async () => {
    const file = log(failing(handle, { datasync: 1 }));
    const failed = await Promise.allSettled([file.submit('a'), file.submit('b')]);
    assert.ok(failed.every((result) => result.status === 'rejected' && isDeputyError(result.reason) && result.reason.code === 'DEPUTY_E_INTERNAL'));
    assert.equal(await readFile(path, 'utf8'), '');
    assert.deepEqual(committed, []);
    await file.submit('c');
    assert.equal(await readFile(path, 'utf8'), 'c\n');
    assert.deepEqual(committed, ['c']);
    assert.equal(file.size, 2);
  });

  it('refuses further writes when a failed batch cannot be cut off', async () => {
    const file = log(failing(handle, { datasync: 1, truncate: 1 }));
    await assert.rejects(file.submit('a'));
    await assert.rejects(file.submit('b'), (error: unknown) => isDeputyError(error) && /failed earlier/.test(error.detail ?? ''));
    assert.deepEqual(committed, []);
  });

  it('refuses writes after close, once the accepted ones are durable', async () => {
    const file = log(handle);
    const accepted = file.submit('a');
    await file.close();
    assert.equal(await accepted, 0);
    await assert.rejects(file.submit('b'), (error: unknown) => isDeputyError(error) && /closed/.test(error.detail ?? ''));
  });
});
