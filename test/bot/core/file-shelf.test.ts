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
    assert.equal(shelf.get(id)?.name, 'a', 'still there at its time to live');
    clock.advance(1);
    assert.equal(shelf.get(id), undefined);
  });

  it('keeps the most recently used files only', () => {
    const shelf = new FileShelf(new ManualClock(), { ttlMs: 60_000, maxFiles: 2 });
    const [a, b] = ['a', 'b'].map((name) => shelf.put(file(name)));
    assert.equal(shelf.get(a!)?.name, 'a');
    const c = shelf.put(file('c'));
    assert.equal(shelf.get(b!), undefined, 'the one not fetched since goes first');
    assert.deepEqual([shelf.get(a!)?.name, shelf.get(c)?.name], ['a', 'c']);
  });
});
