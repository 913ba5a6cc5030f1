import assert from 'node:assert/strict';
import { bearerToken, createTokenCheck, tokenFingerprint } from '../../executor/http/auth.ts';

describe('bearer token check', () => {
  const current = 'c'.repeat(43);
  const previous = 'p'.repeat(43);
  const check = createTokenCheck([current, previous]);

  it('accepts both tokens during a rotation and labels each by fingerprint', () => {
    assert.equal(check.match(current), tokenFingerprint(current));
    assert.equal(check.match(previous), tokenFingerprint(previous));
    assert.notEqual(tokenFingerprint(current), tokenFingerprint(previous));
    assert.ok(!tokenFingerprint(current).includes(current.slice(0, 8)), 'the label does not reveal the token');
  });

  it('refuses anything else, whatever its length', () => {
    for (const candidate of [undefined, '', 'c', current.slice(0, -1), `${current}c`, current.toUpperCase()]) {
      assert.equal(check.match(candidate), undefined, String(candidate));
    }
  });

  it('reads only a well-formed Bearer header', () => {
    assert.equal(bearerToken(`Bearer ${current}`), current);
    assert.equal(bearerToken(`bearer ${current}`), current);
    assert.equal(bearerToken(`Basic ${current}`), undefined);
    assert.equal(bearerToken(`Bearer ${current} extra`), undefined);
    assert.equal(bearerToken(undefined), undefined);
  });
});
