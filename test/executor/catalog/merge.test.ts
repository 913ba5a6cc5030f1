/** The three-way decision of an import (folder, store, baseline), and the staged uploads' bounds. */
import assert from 'node:assert/strict';
import { decide, fingerprint } from '../../../executor/catalog/merge.ts';
import { UploadStore } from '../../../executor/authoring/uploads.ts';
import { ManualClock } from '../../../lib/clock.ts';

describe('catalog merge: folder, store and what the folder last said', () => {
  const base = 'v1';
  it('the folder wins while the store has not moved since the last import (or since the export)', () => {
    assert.deepEqual(decide({ store: 'v1', folder: 'v2', base, legacy: false }), { take: 'folder' });
    assert.deepEqual(decide({ store: 'v3', folder: 'v4', base, basedOn: 'v3', legacy: false }), { take: 'folder' }, 'edited after an export of v3');
    assert.deepEqual(decide({ store: undefined, folder: 'v1', base: undefined, legacy: false }), { take: 'folder' }, 'new in the folder');
    assert.deepEqual(decide({ store: 'v1', folder: undefined, base, legacy: false }), { take: 'folder' }, 'removed from the folder');
    assert.deepEqual(decide({ store: 'v9', folder: 'v2', base: undefined, legacy: true }), { take: 'folder' }, 'a store from before baselines');
  });
  it('the store is kept, and the kind says why, once it moved', () => {
    assert.deepEqual(decide({ store: 'v2', folder: 'v1', base, legacy: false }), { take: 'store', kind: 'kept-newer' });
    assert.deepEqual(decide({ store: 'v2', folder: 'v3', base, legacy: false }), { take: 'store', kind: 'both-changed' });
    assert.deepEqual(decide({ store: 'v2', folder: 'v1', base: undefined, basedOn: 'v1', legacy: false }), { take: 'store', kind: 'kept-newer' }, 'the folder is what was exported');
    assert.deepEqual(decide({ store: undefined, folder: 'v1', base, legacy: false }), { take: 'store', kind: 'kept-deleted' });
    assert.deepEqual(decide({ store: 'a1', folder: undefined, base: undefined, legacy: false }), { take: 'store', kind: 'kept-added' });
  });
  it('fingerprints records by content, whatever the order of their keys', () => {
    assert.equal(fingerprint({ a: 1, b: [1, { c: 2, d: 3 }] }), fingerprint({ b: [1, { d: 3, c: 2 }], a: 1 }));
    assert.notEqual(fingerprint({ a: 1 }), fingerprint({ a: 2 }));
    assert.match(fingerprint({}), /^[0-9a-f]{16}$/);
  });
});

describe('staged uploads', () => {
  it('are their uploader’s only, expire, and are bounded per principal', () => {
    const clock = new ManualClock(0);
    const uploads = new UploadStore(clock, { ttlMs: 1000, perPrincipal: 2, total: 10 });
    uploads.put('alex', 'h1', { fileName: 'a.ps1', text: 'a' });
    assert.equal(uploads.get('bea', 'h1'), undefined);
    assert.deepEqual(uploads.get('alex', 'h1'), { fileName: 'a.ps1', text: 'a' });
    uploads.put('alex', 'h2', { fileName: 'b.ps1', text: 'b' });
    uploads.put('alex', 'h3', { fileName: 'c.ps1', text: 'c' });
    assert.equal(uploads.get('alex', 'h1'), undefined, 'the oldest gave way');
    assert.ok(uploads.get('alex', 'h3'));
    clock.advance(1001);
    assert.equal(uploads.get('alex', 'h3'), undefined, 'expired');
  });
});
