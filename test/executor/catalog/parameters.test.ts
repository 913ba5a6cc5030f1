import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FormField } from '../../../executor/contract/index.ts';
import { labelAndHint, labelFromName } from '../../../executor/pwsh/help-text.ts';
import { parseScriptParameters, type ParsedScript } from '../../../executor/pwsh/parameters.ts';
import { locatePwsh, PROJECT_ROOT } from '../../../executor/pwsh/locate.ts';

const pwsh = locatePwsh(process.env, PROJECT_ROOT)?.path ?? assert.fail('pwsh not found');
const allKindsText = readFileSync(join(import.meta.dirname, 'fixtures', 'AllKinds.ps1'), 'utf8');

function field(parsed: ParsedScript | undefined, name: string): FormField {
  return parsed?.parameters.find((candidate) => candidate.name === name) ?? assert.fail(`no field ${name}`);
}

describe('parseScriptParameters (real pwsh, PowerShell parser)', () => {
  // One call parses every script of this suite, through a wrapper that counts pwsh starts.
  const folder = mkdtempSync(join(tmpdir(), 'deputy-parse-'));
  const starts = join(folder, 'starts');
  const marker = join(folder, 'ran');
  const touch = `(New-Item -ItemType File -Path '${marker}')`;
  const unicode = Array.from({ length: 30 }, (_, i) => ({
    key: `unicode${i}`,
    text: `<#\n.PARAMETER Größe${i}\nGröße «${i}» — ünïcödé.\n#>\nparam([int]$Größe${i} = ${i})`,
  }));
  let parsed = new Map<string, ParsedScript>();
  let allKinds: ParsedScript | undefined;

  before(async () => {
    const wrapper = join(folder, 'pwsh');
    writeFileSync(wrapper, `#!/bin/sh\necho started >> '${starts}'\nexec '${pwsh}' "$@"\n`);
    chmodSync(wrapper, 0o755);
    parsed = await parseScriptParameters(wrapper, [
      { key: 'all', text: allKindsText },
      { key: 'broken', text: "param(\n  [string] $Name\n\nWrite-Output 'x'" },
      { key: 'bare', text: "Get-Date\n'no parameters here'" },
      { key: 'empty', text: '' },
      { key: 'date-like', text: '2026-01-01T00:00:00' },
      { key: 'hostile', text: `param([ValidateScript({ ${touch} })][string]$A = ${touch}, [int]$B = @(${touch}), [string[]]$C = (${touch}))\n${touch}` },
      ...unicode,
    ]);
    allKinds = parsed.get('all');
  });
  after(() => rmSync(folder, { recursive: true, force: true }));

  it('parses every script of a call with one pwsh process', () => {
    assert.equal(readFileSync(starts, 'utf8').trim().split('\n').length, 1);
    assert.equal(parsed.size, 36);
  });

  it('maps every attribute and type to its form kind', () => {
    assert.deepEqual(
      allKinds?.parameters.map((f) => [f.name, f.kind, f.psType]),
      [
        ['UserPrincipalName', 'text', 'string'],
        ['Sku', 'choice', 'string'],
        ['Force', 'toggle', 'switch'],
        ['Notify', 'toggle', 'bool'],
        ['Count', 'number', 'int'],
        ['Big', 'number', 'long'],
        ['Ratio', 'number', 'double'],
        ['Price', 'number', 'decimal'],
        ['When', 'date', 'datetime'],
        ['Computed', 'date', 'datetime'],
        ['Tags', 'multi', 'string[]'],
        ['Colours', 'multi', 'string[]'],
        ['Password', 'secret', 'securestring'],
        ['Credential', 'secret', 'pscredential'],
        ['WithDefault', 'secret', 'securestring'],
        ['PositiveNumber', 'number', 'int'],
        ['Untyped', 'text', 'object'],
        ['FromEnvironment', 'text', 'string'],
        ['MaxCPUCount', 'text', 'string'],
      ],
    );
  });

  it('reads Mandatory in all its spellings', () => {
    assert.equal(field(allKinds, 'UserPrincipalName').required, true);
    assert.equal(field(allKinds, 'Sku').required, true);
    assert.equal(field(allKinds, 'Force').required, false);
    assert.equal(field(allKinds, 'Count').required, false);
  });

  it('reads validation attributes as choices, pattern and bounds', () => {
    const upn = field(allKinds, 'UserPrincipalName');
    assert.equal(upn.pattern, '^[a-z0-9.]+@contoso\\.example$');
    assert.deepEqual([upn.minLength, upn.maxLength], [5, 64]);
    assert.deepEqual(field(allKinds, 'Sku').choices, ['E3', 'E5', 'F1']);
    assert.deepEqual(field(allKinds, 'Colours').choices, ['red', 'green']);
    const count = field(allKinds, 'Count');
    assert.deepEqual([count.min, count.max, count.integer], [1, 100, true]);
    const ratio = field(allKinds, 'Ratio');
    assert.deepEqual([ratio.min, ratio.max, ratio.integer], [0.5, 9.5, undefined]);
    assert.equal(field(allKinds, 'Big').integer, true);
    assert.equal(field(allKinds, 'PositiveNumber').min, 1);
  });

  it('takes constant defaults as prefills, and nothing computed or secret', () => {
    const defaults = Object.fromEntries(allKinds?.parameters.map((f) => [f.name, f.default]) ?? []);
    assert.deepEqual(defaults, {
      UserPrincipalName: undefined,
      Sku: 'E3',
      Force: undefined,
      Notify: true,
      Count: 5,
      Big: -42,
      Ratio: 1.5,
      Price: undefined,
      When: '2026-03-31',
      Computed: undefined,
      Tags: ['a', 'b'],
      Colours: undefined,
      Password: undefined,
      Credential: undefined,
      WithDefault: undefined,
      PositiveNumber: undefined,
      Untyped: 'plain',
      FromEnvironment: undefined,
      MaxCPUCount: undefined,
    });
  });

  it('turns comment-based help into synopsis, description, labels and hints', () => {
    assert.equal(allKinds?.synopsis, 'Covers every parameter kind the form mapping knows.');
    assert.equal(allKinds?.description, 'Used by the parser tests only.\nIt is never run.');
    assert.deepEqual([field(allKinds, 'UserPrincipalName').label, field(allKinds, 'UserPrincipalName').hint], ['User to change', 'The sign-in name, e.g. someone@contoso.example.']);
    assert.deepEqual([field(allKinds, 'Sku').label, field(allKinds, 'Sku').hint], ['Licence plan', undefined]);
    assert.equal(field(allKinds, 'Password').label, 'New password');
    // No help: the name split into words, acronyms kept.
    assert.equal(field(allKinds, 'PositiveNumber').label, 'Positive number');
    assert.equal(field(allKinds, 'MaxCPUCount').label, 'Max CPU count');
  });

  it('reports parse errors with their line, and a script without param() has no fields', () => {
    const broken = parsed.get('broken');
    assert.ok(broken && broken.parseErrors.length > 0);
    assert.match(broken.parseErrors[0] ?? '', /^line \d+: /);
    assert.deepEqual(broken.parameters, []);
    assert.deepEqual(parsed.get('bare'), { parameters: [], parseErrors: [] });
    assert.deepEqual(parsed.get('empty'), { parameters: [], parseErrors: [] });
    // A text JSON readers like to turn into a date reaches the parser as written (not as 01/01/2026 00:00:00).
    assert.ok(parsed.get('date-like')?.parseErrors.some((error) => error.includes("'01T00:00:00'")));
  });

  it('never runs what it parses: code in defaults, attributes and the body stays unexecuted', () => {
    assert.deepEqual(parsed.get('hostile')?.parameters.map((f) => [f.name, f.default]), [['A', undefined], ['B', undefined], ['C', undefined]]);
    assert.equal(existsSync(marker), false);
  });

  it('keeps non-ASCII names and help intact through stdin and stdout', () => {
    for (let i = 0; i < 30; i++) {
      assert.deepEqual(parsed.get(`unicode${i}`)?.parameters.map((f) => [f.name, f.label, f.default]), [[`Größe${i}`, `Größe «${i}» — ünïcödé`, i]]);
    }
  });

  it('answers at once without pwsh when there is nothing to parse, and says when pwsh is missing', async () => {
    assert.equal((await parseScriptParameters('/nonexistent/pwsh', [])).size, 0);
    await assert.rejects(parseScriptParameters('/nonexistent/pwsh', [{ key: 'k', text: 'param()' }]), { code: 'DEPUTY_E_PWSH_MISSING' });
  });
});

describe('labels from help and names', () => {
  it('splits help into a first-sentence label and a hint', () => {
    assert.deepEqual(labelAndHint('X', 'Sign-in name.  Use the full\n address!'), { label: 'Sign-in name', hint: 'Use the full address!' });
    assert.deepEqual(labelAndHint('X', 'Is it on? Say yes.'), { label: 'Is it on?', hint: 'Say yes.' });
    assert.deepEqual(labelAndHint('UserPrincipalName', '   '), { label: 'User principal name' });
  });

  it('splits names into words', () => {
    assert.equal(labelFromName('UserPrincipalName'), 'User principal name');
    assert.equal(labelFromName('ADGroup'), 'AD group');
    assert.equal(labelFromName('timeout_seconds'), 'Timeout seconds');
    assert.equal(labelFromName('Port'), 'Port');
  });
});
