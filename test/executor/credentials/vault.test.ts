import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { credentialCommand } from '../../../executor/credentials/cli.ts';
import { KEY_FILE, KeyRing, loadKeyRing } from '../../../executor/credentials/keyring.ts';
import { CREDENTIALS_FILE, CredentialVault } from '../../../executor/credentials/vault.ts';
import { ManualClock } from '../../../lib/clock.ts';
import { removeDataFolder } from '../../helpers/executor.ts';

const key = () => randomBytes(32);
const VALUE = 'sk-live-4c1d9e7a0b';

describe('stored credentials: vault, keys, CLI', () => {
  let dir: string;
  const clock = new ManualClock();
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'deputy-vault-'));
  });
  afterEach(() => removeDataFolder(dir));

  const fileOf = () => join(dir, CREDENTIALS_FILE);
  const records = () => (JSON.parse(readFileSync(fileOf(), 'utf8')) as { credentials: Record<string, unknown>[] }).credentials;
  const rewrite = (change: (record: Record<string, unknown>) => void) => {
    const file = JSON.parse(readFileSync(fileOf(), 'utf8')) as { credentials: Record<string, unknown>[] };
    change(file.credentials[0] as Record<string, unknown>);
    writeFileSync(fileOf(), JSON.stringify(file));
  };
  const flipBit = (base64: unknown) => {
    const bytes = Buffer.from(String(base64), 'base64');
    bytes[0] = (bytes[0] ?? 0) ^ 1;
    return bytes.toString('base64');
  };

  it('round-trips a value, versions every change, and keeps only ciphertext on disk (0600)', async () => {
    const vault = new CredentialVault(fileOf(), new KeyRing([key()]), clock);
    const first = await vault.set({ id: 'graph-key', tenant: 'contoso', kind: 'secret', value: VALUE });
    assert.equal(first.version, 1);
    assert.equal((await vault.reveal('graph-key'))?.value, VALUE);
    clock.advance(1000);
    const second = await vault.set({ id: 'graph-key', tenant: 'contoso', kind: 'secret', value: `${VALUE}-2` });
    assert.equal(second.version, 2);
    assert.equal(second.rotatedAt, new Date(clock.now()).toISOString());
    assert.equal((await vault.reveal('graph-key'))?.value, `${VALUE}-2`);
    const text = readFileSync(fileOf(), 'utf8');
    assert.ok(!text.includes(VALUE));
    assert.equal(statSync(fileOf()).mode & 0o777, 0o600);
    const [record] = records();
    assert.equal(Buffer.from(String(record?.iv), 'base64').length, 12);
    assert.deepEqual(Object.keys(await vault.list().then((list) => list[0] ?? {})).sort(), ['id', 'keyId', 'kind', 'rotatedAt', 'tenant', 'version']);
    await assert.rejects(vault.set({ id: 'graph-key', tenant: 'hamburg', kind: 'secret', value: 'x' }), /belongs to tenant contoso/);
  });

  it('uses a fresh IV for every encryption', async () => {
    const vault = new CredentialVault(fileOf(), new KeyRing([key()]), clock);
    await vault.set({ id: 'a', tenant: 't', kind: 'secret', value: VALUE });
    await vault.set({ id: 'b', tenant: 't', kind: 'secret', value: VALUE });
    const [a, b] = records();
    assert.notEqual(a?.iv, b?.iv);
    assert.notEqual(a?.ciphertext, b?.ciphertext);
  });

  for (const [name, change] of [
    ['a flipped ciphertext bit', (record: Record<string, unknown>) => (record.ciphertext = flipBit(record.ciphertext))],
    ['a flipped tag bit', (record: Record<string, unknown>) => (record.tag = flipBit(record.tag))],
    ['a flipped IV bit', (record: Record<string, unknown>) => (record.iv = flipBit(record.iv))],
    ['another username', (record: Record<string, unknown>) => (record.username = 'mallory')],
    ['another version number', (record: Record<string, unknown>) => (record.version = 7)],
  ] as const) {
    it(`refuses to decrypt after ${name}`, async () => {
      const vault = new CredentialVault(fileOf(), new KeyRing([key()]), clock);
      await vault.set({ id: 'svc', tenant: 'hamburg', kind: 'pscredential', username: 'svc-deputy', value: VALUE });
      rewrite(change);
      await assert.rejects(vault.reveal('svc'), /could not be decrypted/);
    });
  }

  it('refuses the wrong key; rotation re-encrypts under the new key while both are accepted', async () => {
    const oldKey = key();
    const newKey = key();
    await new CredentialVault(fileOf(), new KeyRing([oldKey]), clock).set({ id: 'graph-key', tenant: 'contoso', kind: 'secret', value: VALUE });
    await assert.rejects(new CredentialVault(fileOf(), new KeyRing([newKey]), clock).reveal('graph-key'), /could not be decrypted/);
    const both = new CredentialVault(fileOf(), new KeyRing([newKey, oldKey]), clock);
    assert.equal((await both.reveal('graph-key'))?.value, VALUE);
    assert.equal(await both.reencrypt(), 1);
    assert.equal(await both.reencrypt(), 0);
    assert.equal(records()[0]?.keyId, new KeyRing([newKey]).current.id);
    assert.equal((await new CredentialVault(fileOf(), new KeyRing([newKey]), clock).reveal('graph-key'))?.value, VALUE);
    await assert.rejects(new CredentialVault(fileOf(), new KeyRing([oldKey]), clock).reveal('graph-key'), /could not be decrypted/);
  });

  it('creates the key file with mode 0600, reuses it, and refuses one others can read', () => {
    const first = loadKeyRing({ dataDir: dir, keys: undefined });
    const path = join(dir, KEY_FILE);
    assert.equal(statSync(path).mode & 0o777, 0o600);
    assert.equal(loadKeyRing({ dataDir: dir, keys: undefined }).current.id, first.current.id);
    chmodSync(path, 0o644);
    assert.throws(() => loadKeyRing({ dataDir: dir, keys: undefined }), /readable by other users/);
    assert.throws(() => loadKeyRing({ dataDir: dir, keys: ['too-short'] }), /DEPUTY_SECRET_KEY/);
  });

  it('CLI: sets a value read from stdin (never echoed), lists metadata only, rotates the key file', async () => {
    const env = { DEPUTY_DATA_DIR: dir };
    const lines: string[] = [];
    const io = (input: string) => ({ out: (line: string) => lines.push(line), err: (line: string) => lines.push(line), stdin: Readable.from([input]) });
    assert.equal(await credentialCommand(['set', 'svc', '--tenant', 'hamburg', '--username', 'svc-deputy'], env, io(`${VALUE}\n`)), 0);
    assert.equal(await credentialCommand(['set', 'svc', '--tenant', 'hamburg', '--username', 'svc-deputy'], env, io(`${VALUE}!\n`)), 0);
    assert.equal(await credentialCommand(['list'], env, io('')), 0);
    assert.ok(lines.some((line) => /^svc\thamburg\tpscredential\tversion 2\t/.test(line)), lines.join('\n'));
    const keyBefore = readFileSync(join(dir, KEY_FILE), 'utf8');
    assert.equal(await credentialCommand(['rotate-key'], env, io('')), 0);
    const keyAfter = readFileSync(join(dir, KEY_FILE), 'utf8');
    assert.notEqual(keyAfter, keyBefore);
    assert.equal(keyAfter.trim().split('\n').length, 1);
    const revealed = await new CredentialVault(fileOf(), loadKeyRing({ dataDir: dir, keys: undefined }), clock).reveal('svc');
    assert.equal(revealed?.value, `${VALUE}!`);
    assert.equal(revealed?.username, 'svc-deputy');
    assert.equal(await credentialCommand(['set', 'nobody'], env, io('x')), 2, 'an undeclared credential needs its tenant');
    assert.equal(await credentialCommand(['set'], env, io('x')), 2);
    assert.ok(!lines.join('\n').includes(VALUE));
    const audit = readFileSync(join(dir, 'audit.jsonl'), 'utf8');
    assert.match(audit, /credential\.set/);
    assert.match(audit, /credential\.rotate-key/);
    assert.ok(!audit.includes(VALUE));
  });
});
