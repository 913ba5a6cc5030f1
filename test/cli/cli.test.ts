/** The `deputy` command's own paths: usage, import, audit verify (real store, real pwsh). */
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '../../cli/main.ts';
import type { AuditEntry } from '../../executor/domain.ts';
import { GENESIS_HEAD, seal, type ChainHead } from '../../executor/store/audit-chain.ts';
import { FIXTURE_CATALOG, removeDataFolder } from '../helpers/executor.ts';

function capture() {
  const out: string[] = [];
  const err: string[] = [];
  return { io: { out: (line: string) => out.push(line), err: (line: string) => err.push(line) }, out, err };
}

describe('deputy command', function () {
  this.timeout(60_000);
  let dataDir: string;
  let env: NodeJS.ProcessEnv;

  beforeEach(() => {
    dataDir = mkdtempSync(join(tmpdir(), 'deputy-cli-'));
    env = { ...process.env, DEPUTY_DATA_DIR: dataDir, DEPUTY_LOG_LEVEL: 'silent' };
  });
  afterEach(() => removeDataFolder(dataDir));

  it('prints usage for help and refuses an unknown command', async () => {
    const help = capture();
    assert.equal(await main(['help'], env, help.io), 0);
    assert.match(help.out.join('\n'), /deputy audit verify|audit verify/);
    const unknown = capture();
    assert.equal(await main(['frobnicate'], env, unknown.io), 2);
    assert.match(unknown.err.join('\n'), /unknown command "frobnicate"/);
  });

  it('stops on a bad configuration value, naming the variable', async () => {
    const run = capture();
    assert.equal(await main(['audit', 'verify'], { ...env, DEPUTY_MAX_CONCURRENT_RUNS: 'lots' }, run.io), 1);
    assert.match(run.err.join('\n'), /DEPUTY_MAX_CONCURRENT_RUNS/);
    assert.doesNotMatch(run.err.join('\n'), /at .*\.ts:\d+/, 'no stack trace for a configuration error');
  });

  it('imports a catalog idempotently, then verifies the audit chain, and names the first tampered entry', async () => {
    const first = capture();
    assert.equal(await main(['import', FIXTURE_CATALOG], env, first.io), 0, first.err.join('\n'));
    assert.match(first.out.join('\n'), /Catalog imported: \d+ change/);
    const again = capture();
    assert.equal(await main(['import', FIXTURE_CATALOG], env, again.io), 0);
    assert.deepEqual(again.out, ['Catalog unchanged.']);

    const intact = capture();
    assert.equal(await main(['audit', 'verify'], env, intact.io), 0);
    assert.match(intact.out.join('\n'), /Audit log intact: \d+ entries/);

    const auditPath = join(dataDir, 'audit.jsonl');
    const lines = readFileSync(auditPath, 'utf8').trimEnd().split('\n');
    assert.ok(lines.length >= 3);
    const victim = JSON.parse(lines[1] as string) as { seq: number; actor?: string };
    lines[1] = JSON.stringify({ ...victim, actor: 'someone-else' });
    writeFileSync(auditPath, `${lines.join('\n')}\n`);
    const broken = capture();
    assert.equal(await main(['audit', 'verify'], env, broken.io), 1);
    assert.match(broken.err.join('\n'), new RegExp(`broken at entry ${victim.seq}\\b`));
  });

  it('audit verify reports a cut tail and a re-sealed log through the checkpoint outside the data folder', async () => {
    assert.equal(await main(['import', FIXTURE_CATALOG], env, capture().io), 0);
    const auditPath = join(dataDir, 'audit.jsonl');
    const original = readFileSync(auditPath, 'utf8');
    const lines = original.trimEnd().split('\n');
    const intact = capture();
    assert.equal(await main(['audit', 'verify'], env, intact.io), 0, intact.err.join('\n'));
    assert.match(intact.out.join('\n'), new RegExp(`^Audit log intact: ${lines.length} entries; its checkpoint \\(entry ${lines.length}, written [^)]+\\) matches\\.$`));

    writeFileSync(auditPath, `${lines.slice(0, -2).join('\n')}\n`);
    const cut = capture();
    assert.equal(await main(['audit', 'verify'], env, cut.io), 1);
    assert.equal(
      cut.err.join('\n').replace(/written [^)]+\)/, 'written …)'),
      `Audit log not intact: the audit log was cut: it ends at entry ${lines.length - 2}, but its checkpoint (written …) names entry ${lines.length}; entries ${lines.length - 1}–${lines.length} were removed (the ${lines.length - 2} entries present chain correctly).`,
    );

    // Re-sealed: the second entry deleted, every hash after it recomputed, one forged entry to keep the count.
    let head: ChainHead = GENESIS_HEAD;
    const kept = lines.map((line) => JSON.parse(line) as AuditEntry).filter((entry) => entry.seq !== 2);
    kept.push({ ...(kept.at(-1) as AuditEntry), correlationId: 'forged' });
    writeFileSync(
      auditPath,
      kept
        .map(({ seq: _seq, prevHash: _prev, hash: _hash, ...fields }) => {
          const { entry, line } = seal({ fields }, head);
          head = { seq: entry.seq, hash: entry.hash };
          return line;
        })
        .join(''),
    );
    const resealed = capture();
    assert.equal(await main(['audit', 'verify'], env, resealed.io), 1);
    assert.match(resealed.err.join('\n'), new RegExp(`^Audit log not intact: the audit log was re-sealed: entry ${lines.length} does not have the hash its checkpoint \\(written [^)]+\\) names;`));
    // Nothing writes to it any more (the executor does not start either).
    const start = capture();
    assert.equal(await main(['import', FIXTURE_CATALOG], env, start.io), 1);
    assert.match(start.err.join('\n'), /Refusing to write to the audit log: the audit log was re-sealed/);
  });

  it('imports a folder of bare scripts as Draft into the root tenant', async () => {
    assert.equal(await main(['import', FIXTURE_CATALOG], env, capture().io), 0);
    const folder = join(dataDir, 'incoming');
    mkdirSync(folder);
    writeFileSync(join(folder, 'Get-Greeting.ps1'), 'param([string]$Name = "world")\n"hello $Name"\n');
    const run = capture();
    assert.equal(await main(['import', folder], env, run.io), 0, run.err.join('\n'));
    assert.match(run.out.join('\n'), /Imported 1 script change\(s\) as Draft into tenant contoso/);
    const catalog = JSON.parse(readFileSync(join(dataDir, 'catalog.json'), 'utf8')) as { scripts: { id: string; status: string }[] };
    const imported = catalog.scripts.find((script) => script.id === 'get-greeting');
    assert.equal(imported?.status, 'draft');
  });

  it('refuses to import while another process holds the data folder', async () => {
    writeFileSync(join(dataDir, '.lock'), `${process.ppid}\n`);
    const run = capture();
    assert.equal(await main(['import', FIXTURE_CATALOG], env, run.io), 1);
    assert.match(run.err.join('\n'), /in use by process/);
  });
});
