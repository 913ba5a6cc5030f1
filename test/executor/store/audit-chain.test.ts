import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { AUDIT_LIMITS, canonicalJson, ChainVerifier, GENESIS_HASH, GENESIS_HEAD, prepareAudit, seal } from '../../../executor/store/audit-chain.ts';

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

  it('bounds every entry, whoever writes it: long fields, long strings, many items, deep nesting, a huge detail', () => {
    const at = '2026-01-01T00:00:00.000Z';
    const sizeOf = (input: Parameters<typeof prepareAudit>[0]) => seal(prepareAudit(input, at), GENESIS_HEAD).line.length;
    const long = 'k'.repeat(15 * 1024);
    const { fields } = prepareAudit(
      {
        type: 'hook.request',
        outcome: 'denied',
        correlationId: 'c-2',
        actor: `connector:${long}`,
        subject: long,
        detail: { idempotencyKey: long, list: Array.from({ length: 500 }, (_, i) => i), deep: { a: { b: { c: { d: { e: { f: { g: 'too deep' } } } } } } }, [long]: 1 },
      },
      at,
    );
    assert.equal(fields.subject, `${'k'.repeat(AUDIT_LIMITS.fieldChars)}…[${long.length - AUDIT_LIMITS.fieldChars} more characters]`);
    assert.equal(fields.actor?.length, AUDIT_LIMITS.fieldChars + `…[${long.length + 10 - AUDIT_LIMITS.fieldChars} more characters]`.length);
    assert.equal(fields.detail.idempotencyKey, `${'k'.repeat(AUDIT_LIMITS.detailStringChars)}…[${long.length - AUDIT_LIMITS.detailStringChars} more characters]`);
    const list = fields.detail.list as unknown[];
    assert.equal(list.length, AUDIT_LIMITS.items + 1);
    assert.equal(list.at(-1), `…[${500 - AUDIT_LIMITS.items} more items]`);
    assert.deepEqual(fields.detail.deep, { a: { b: { c: { d: { e: '…[nested too deep]' } } } } });
    assert.ok(Object.keys(fields.detail).every((key) => key.length < AUDIT_LIMITS.detailStringChars + 40));

    // Many long values: cut tighter, then only a note of what was there; every line stays small.
    const wide = Object.fromEntries(Array.from({ length: 60 }, (_, i) => [`field${i}`, long]));
    const tight = prepareAudit({ type: 'run.request', outcome: 'allowed', correlationId: 'c-3', detail: { inputs: wide } }, at).fields.detail;
    assert.equal(Object.keys(tight.inputs as object).length, 17);
    const nested = Object.fromEntries(Array.from({ length: 60 }, (_, i) => [`k${i}`, Object.fromEntries(Array.from({ length: 60 }, (_, j) => [`k${j}`, 'v'.repeat(200)]))]));
    const noted = prepareAudit({ type: 'run.request', outcome: 'allowed', correlationId: 'c-4', detail: { nested } }, at).fields.detail;
    assert.match(String(noted.truncated), /^\d+ bytes of detail were left out$/);
    assert.deepEqual(noted.keys, ['nested']);
    for (const input of [{ detail: { inputs: wide } }, { detail: { nested } }, { subject: long, actor: long, via: long, detail: { long } }]) {
      const size = sizeOf({ type: 'x', outcome: 'info', correlationId: 'c', ...input });
      assert.ok(size < AUDIT_LIMITS.detailBytes + 6 * AUDIT_LIMITS.fieldChars + 400, `${size} bytes`);
    }
  });
});
