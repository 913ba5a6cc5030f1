import assert from 'node:assert/strict';
import { bearerToken, createHostCheck, createTokenCheck, tokenFingerprint } from '../../executor/http/auth.ts';

describe('bearer token check', () => {
  const current = 'c'.repeat(43);
  const previous = 'p'.repeat(43);
  const operator = 'o'.repeat(43);
  const check = createTokenCheck({ bot: [current, previous], operator: [operator] });

  it('accepts both tokens during a rotation and labels each by kind and fingerprint', () => {
    assert.deepEqual(check.identify(current), { kind: 'bot', via: `bot:${tokenFingerprint(current)}` });
    assert.deepEqual(check.identify(previous), { kind: 'bot', via: `bot:${tokenFingerprint(previous)}` });
    assert.deepEqual(check.identify(operator), { kind: 'operator', via: `operator:${tokenFingerprint(operator)}` });
    assert.notEqual(tokenFingerprint(current), tokenFingerprint(previous));
    assert.ok(!tokenFingerprint(current).includes(current.slice(0, 8)), 'the label does not reveal the token');
  });

  it('refuses anything else, whatever its length', () => {
    for (const candidate of [undefined, '', 'c', current.slice(0, -1), `${current}c`, current.toUpperCase(), operator.slice(1)]) {
      assert.equal(check.identify(candidate), undefined, String(candidate));
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

describe('Host check', () => {
  it('answers to loopback, the address it listens on and the configured names, in any case and with any port', () => {
    const allowed = createHostCheck('10.1.2.3', ['Executor.Corp.Example']);
    for (const host of ['127.0.0.1:4100', 'localhost', 'LOCALHOST:4100', '[::1]:4100', '127.9.9.9', '10.1.2.3:4100', 'executor.corp.example', 'EXECUTOR.corp.example:443']) {
      assert.equal(allowed(host), true, host);
    }
  });

  it('refuses other names, a missing Host, and every name when it listens on a wildcard address without configured names', () => {
    const allowed = createHostCheck('127.0.0.1', []);
    for (const host of [undefined, '', 'evil.example', 'evil.example:4100', 'localhost.evil.example', '127.0.0.1.evil.example', '10.0.0.1']) {
      assert.equal(allowed(host), false, String(host));
    }
    const everywhere = createHostCheck('0.0.0.0', []);
    assert.equal(everywhere('0.0.0.0:4100'), false);
    assert.equal(everywhere('192.168.1.5:4100'), false);
    assert.equal(everywhere('127.0.0.1:4100'), true);
  });
});
