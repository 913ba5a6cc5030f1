import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { canonicalJson, ChainVerifier, GENESIS_HASH, GENESIS_HEAD, prepareAudit, seal } from '../../../executor/store/audit-chain.ts';

describe('audit chain format', () => {
  it('writes canonical JSON: keys sorted at every level, arrays in order, undefined left out', () => {
    assert.equal(canonicalJson({ b: 1, a: { d: [3, { f: 'x', e: null }], c: undefined } }), '{"a":{"d":[3,{"e":null,"f":"x"}]},"b":1}');
    assert.equal(canonicalJson({ 'é': 1, Z: 2, a: 3 }), '{"Z":2,"a":3,"é":1}');
  });

  it('hashes the canonical entry without its hash, chaining from 64 zeros', () => {
    const prepared = prepareAudit({ type: 'run.create', outcome: 'allowed', correlationId: 'c-1', actor: 'alex', detail: { when: new Date(0), skip: undefined } }, '2026-01-01T00:00:00.000Z');
    const { entry, line } = seal(prepared, GENESIS_HEAD);
    // Spelled out here so another implementation (a PostgreSQL backend, an external checker) can match it.
    const expectedBody =
      `{"actor":"alex","at":"2026-01-01T00:00:00.000Z","correlationId":"c-1","detail":{"when":"1970-01-01T00:00:00.000Z"},` +
      `"outcome":"allowed","prevHash":"${GENESIS_HASH}","seq":1,"type":"run.create"}`;
    assert.equal(entry.hash, createHash('sha256').update(expectedBody).digest('hex'));
    assert.equal(line, `${canonicalJson(entry)}\n`);
    const verifier = new ChainVerifier();
    assert.equal(verifier.accept(line.trimEnd(), 1), true);
    assert.deepEqual(verifier.result(), { ok: true, count: 1 });
  });
});
