/** Files fetched by link: unguessable ids, an expiry, a bound on how many are kept. */
import { strict as assert } from 'node:assert';
import { FileShelf } from '../../../bot/core/file-shelf.ts';
import { ManualClock } from '../../../lib/clock.ts';

describe('bot core: the file shelf', () => {
  const file = (name: string) => ({ name, contentType: 'text/plain', content: name });

  it('serves a file by its 128-bit id until it expires', () => {
    const clock = new ManualClock();
    const shelf = new FileShelf(clock, { ttlMs: 1000, maxFiles: 10 });
    const id = shelf.put(file('a'));
    assert.match(id, /^[\w-]{22}$/);
    assert.equal(shelf.get(id)?.name, 'a');
    clock.advance(1000);
    assert.equal(shelf.get(id), undefined);
  });

  it('keeps the newest files only', () => {
    const shelf = new FileShelf(new ManualClock(), { ttlMs: 60_000, maxFiles: 2 });
    const [a, b, c] = ['a', 'b', 'c'].map((name) => shelf.put(file(name)));
    assert.equal(shelf.get(a!), undefined);
    assert.deepEqual([shelf.get(b!)?.name, shelf.get(c!)?.name], ['b', 'c']);
  });
});
