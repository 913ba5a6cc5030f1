/**
 * `deputy export` writes only inside the folder it is given: the folder is often a clone of a
 * repository others commit to, and a committed link must not make the export write script text
 * (which chat users author) wherever the link leads. No pwsh: a snapshot is exported as it is.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { linkSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isDeputyError } from '../../../executor/contract/index.ts';
import { exportCatalog } from '../../../executor/catalog/export.ts';
import type { CatalogSnapshot } from '../../../executor/store/port.ts';

const TEXT = 'Write-Output "chat-authored text"\n';
const HASH = createHash('sha256').update(TEXT).digest('hex');

function snapshot(file: string): CatalogSnapshot {
  return {
    tenants: [{ id: 'contoso', name: 'Contoso' }],
    principals: [],
    scripts: [{ id: 'authored', name: 'Authored', tenant: 'contoso', status: 'draft', currentHash: HASH, file, versions: [HASH] }],
    versions: [{ hash: HASH, scriptId: 'authored', text: TEXT, parameters: [], createdAt: '2026-01-01T00:00:00.000Z' }],
    actions: [],
  };
}

describe('deputy export writes only inside its folder', () => {
  let base: string;
  let folder: string;
  let outside: string;
  beforeEach(() => {
    base = mkdtempSync(join(tmpdir(), 'deputy-export-links-'));
    folder = join(base, 'repo');
    outside = join(base, 'outside');
    mkdirSync(folder);
    mkdirSync(outside);
  });
  afterEach(() => rmSync(base, { recursive: true, force: true }));

  it('refuses a folder on the way that is a link, and writes nothing through it', async () => {
    symlinkSync(outside, join(folder, 'scripts'));
    await assert.rejects(exportCatalog(snapshot('scripts/authored.ps1'), folder), (error: unknown) => {
      assert.ok(isDeputyError(error) && error.code === 'DEPUTY_E_CATALOG_INVALID', String(error));
      assert.match(error.message, /scripts in .* is a link/);
      return true;
    });
    assert.deepEqual(readdirSync(outside), []);
  });

  it('replaces a file that is a link (or a hard link) instead of writing where it leads', async () => {
    const profile = join(outside, 'profile');
    const passwd = join(outside, 'passwd');
    writeFileSync(profile, 'original profile\n');
    writeFileSync(passwd, 'original passwd\n');
    mkdirSync(join(folder, 'scripts'));
    symlinkSync(profile, join(folder, 'catalog.yaml'));
    symlinkSync(profile, join(folder, 'scripts', 'authored.ps1'));
    linkSync(passwd, join(folder, 'scripts', 'other.ps1'));

    await exportCatalog({ ...snapshot('scripts/authored.ps1'), scripts: [...snapshot('scripts/authored.ps1').scripts, { ...snapshot('scripts/other.ps1').scripts[0]!, id: 'other' }] }, folder);

    assert.equal(readFileSync(profile, 'utf8'), 'original profile\n');
    assert.equal(readFileSync(passwd, 'utf8'), 'original passwd\n');
    assert.equal(lstatSync(join(folder, 'scripts', 'authored.ps1')).isSymbolicLink(), false);
    assert.equal(readFileSync(join(folder, 'scripts', 'authored.ps1'), 'utf8'), TEXT);
    assert.match(readFileSync(join(folder, 'catalog.yaml'), 'utf8'), /id: authored/);
    assert.deepEqual(readdirSync(join(folder, 'scripts')).filter((name) => name.endsWith('.tmp')), []);
  });

  it('gives two spellings of one path one file, so no script is written over catalog.yaml', async () => {
    await exportCatalog(snapshot('scripts/../catalog.yaml'), folder);
    assert.match(readFileSync(join(folder, 'catalog.yaml'), 'utf8'), /^# Deputy catalog/);
    assert.equal(readFileSync(join(folder, 'scripts', 'authored.ps1'), 'utf8'), TEXT);
  });
});
