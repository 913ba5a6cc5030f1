import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readJsonPath, parseJsonPath } from '../../../executor/connectors/json-path.ts';
import { signPayload, verifySignature } from '../../../executor/connectors/signature.ts';
import { sourceAllowList } from '../../../executor/connectors/sources.ts';
import { SignatureLedger } from '../../../executor/connectors/replay.ts';
import { ManualClock } from '../../../lib/clock.ts';

describe('connector building blocks', () => {
  describe('signature', () => {
    const key = 'k'.repeat(32);
    const now = Date.UTC(2026, 0, 1, 12);

    it('accepts its own signature and names what is wrong with others', () => {
      const header = signPayload(key, '{"a":1}', now);
      assert.match(header, /^t=\d+,v1=[0-9a-f]{64}$/);
      // The digest is the one computed here (it names the request whatever the header's spelling), valid to the window's end.
      assert.deepEqual(verifySignature(key, header, '{"a":1}', now), { ok: true, digest: header.split('v1=')[1], expiresAt: now + 300_000 });
      assert.deepEqual(verifySignature(key, header.toUpperCase().replace('T=', 't=').replace('V1=', 'v1='), '{"a":1}', now), verifySignature(key, header, '{"a":1}', now));
      assert.deepEqual(verifySignature(key, header, '{"a": 1}', now), { ok: false, reason: 'signature mismatch' });
      assert.deepEqual(verifySignature(`${key}x`, header, '{"a":1}', now), { ok: false, reason: 'signature mismatch' });
      assert.equal(verifySignature(key, undefined, '{}', now).ok, false);
      assert.equal(verifySignature(key, 'v1=abc', '{}', now).ok, false);
      assert.equal(verifySignature(key, 'garbage', '{}', now).ok, false);
      assert.equal(verifySignature(key, header.replace(/v1=.*/, 'v1=zz'), '{"a":1}', now).ok, false);
    });

    it('keeps a 5-minute window both ways', () => {
      const header = signPayload(key, 'x', now);
      assert.equal(verifySignature(key, header, 'x', now + 299_000).ok, true);
      assert.equal(verifySignature(key, header, 'x', now - 299_000).ok, true);
      assert.deepEqual(verifySignature(key, header, 'x', now + 301_000), { ok: false, reason: 'timestamp outside the 5-minute window' });
      assert.equal(verifySignature(key, header, 'x', now - 301_000).ok, false);
    });

    it('accepts any one matching v1 among several (a sender rotating keys)', () => {
      const good = signPayload(key, 'x', now);
      const other = signPayload('o'.repeat(32), 'x', now);
      const combined = `${other},${good.split(',')[1]}`;
      assert.equal(verifySignature(key, combined, 'x', now).ok, true);
    });
  });

  describe('accepted signatures (replay ledger)', () => {
    const folder = mkdtempSync(join(tmpdir(), 'deputy-ledger-'));
    after(() => rmSync(folder, { recursive: true, force: true }));

    it('says first once, retry for the same Idempotency-Key, replay otherwise, also when copies race and after a reopen', async () => {
      const clock = new ManualClock(Date.UTC(2026, 5, 1));
      const path = join(folder, 'signatures.jsonl');
      const expiresAt = clock.now() + 300_000;
      const ledger = await SignatureLedger.open(path, clock);
      const racing = await Promise.all(Array.from({ length: 5 }, () => ledger.claim('itsm', 'a'.repeat(64), undefined, expiresAt)));
      assert.deepEqual(racing.sort(), ['first', 'replay', 'replay', 'replay', 'replay']);
      assert.equal(await ledger.claim('itsm', 'b'.repeat(64), 'INC-1', expiresAt), 'first');
      assert.equal(await ledger.claim('itsm', 'b'.repeat(64), 'INC-1', expiresAt), 'retry');
      assert.equal(await ledger.claim('itsm', 'b'.repeat(64), 'INC-2', expiresAt), 'replay');
      assert.equal(await ledger.claim('itsm', 'b'.repeat(64), undefined, expiresAt), 'replay');
      assert.equal(await ledger.claim('other', 'a'.repeat(64), undefined, expiresAt), 'first', 'per connector');
      await ledger.settled();

      const reopened = await SignatureLedger.open(path, clock);
      assert.equal(await reopened.claim('itsm', 'a'.repeat(64), 'INC-9', expiresAt), 'replay');
      assert.equal(await reopened.claim('itsm', 'b'.repeat(64), 'INC-1', expiresAt), 'retry');
      // Once the window has closed the signature is refused as too old anyway; the ledger lets it go.
      clock.set(expiresAt + 1);
      await reopened.settled();
      const compacted = await SignatureLedger.open(path, clock);
      assert.equal(readFileSync(path, 'utf8'), '');
      assert.equal(await compacted.claim('itsm', 'a'.repeat(64), undefined, clock.now() + 300_000), 'first');
      await compacted.settled();
    });
  });

  describe('JSON path subset', () => {
    const doc = { a: { b: [{ c: 1 }, { c: 'two' }] }, 'x-y': true, list: [[5]] };

    it('reads keys and indexes', () => {
      assert.equal(readJsonPath(doc, '$.a.b[1].c'), 'two');
      assert.equal(readJsonPath(doc, '$.x-y'), true);
      assert.equal(readJsonPath(doc, '$.list[0][0]'), 5);
      assert.deepEqual(readJsonPath(doc, '$'), doc);
      assert.equal(readJsonPath(doc, '$.a.b[7].c'), undefined);
      assert.equal(readJsonPath(doc, '$.a.missing.c'), undefined);
      assert.equal(readJsonPath(doc, '$.a[0]'), undefined);
    });

    it('never leaves the payload (no prototype, no inherited properties)', () => {
      assert.equal(readJsonPath({}, '$.constructor'), undefined);
      assert.equal(readJsonPath({}, '$.__proto__'), undefined);
      assert.equal(readJsonPath(JSON.parse('{"__proto__":{"x":1}}'), '$.__proto__.x'), 1);
      assert.equal(readJsonPath([1], '$.length'), undefined);
    });

    it('refuses anything outside the subset', () => {
      for (const path of ['a.b', '$..a', '$[*]', '$.a[-1]', "$['a']", '$.a.', '$.a[0', '$.1a']) {
        assert.throws(() => parseJsonPath(path), /JSON path/, path);
      }
    });
  });

  describe('source allow-list', () => {
    it('matches addresses and CIDR ranges, IPv4 (also v4-mapped) and IPv6', () => {
      const list = sourceAllowList(['10.0.0.0/8', '192.0.2.7', 'fd00::/8']);
      assert.equal(list.allows('10.1.2.3'), true);
      assert.equal(list.allows('::ffff:10.1.2.3'), true);
      assert.equal(list.allows('192.0.2.7'), true);
      assert.equal(list.allows('192.0.2.8'), false);
      assert.equal(list.allows('fd12::1'), true);
      assert.equal(list.allows('127.0.0.1'), false);
      assert.equal(list.allows(undefined), false);
      assert.equal(sourceAllowList([]).allows('203.0.113.1'), true);
    });

    it('refuses entries that are not addresses', () => {
      assert.throws(() => sourceAllowList(['example.com']), /not an IP/);
      assert.throws(() => sourceAllowList(['10.0.0.0/33']), /prefix/);
    });
  });
});
