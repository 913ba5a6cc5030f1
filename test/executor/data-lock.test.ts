import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { acquireDataLock } from '../../executor/data-lock.ts';

describe('data folder lock', () => {
  it('refuses a second owner while the first lives, and frees on release', () => {
    const folder = mkdtempSync(join(tmpdir(), 'deputy-lock-'));
    const child = spawn('sleep', ['30']);
    try {
      writeFileSync(join(folder, '.lock'), `${child.pid}\n`);
      assert.throws(() => acquireDataLock(folder), /in use by process/);
    } finally {
      child.kill('SIGKILL');
    }
  });

  it('takes over a stale lock whose process is gone', () => {
    const folder = mkdtempSync(join(tmpdir(), 'deputy-lock-'));
    writeFileSync(join(folder, '.lock'), '999999999\n');
    const lock = acquireDataLock(folder);
    lock.release();
    acquireDataLock(folder).release();
  });
});
