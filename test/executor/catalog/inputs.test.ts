import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { FormField } from '../../../executor/contract/index.ts';
import { buildInputSchema, validateInputs } from '../../../executor/catalog/inputs.ts';

const text = (name: string, extra: Partial<FormField> = {}): FormField => ({ name, label: name, kind: 'text', psType: 'string', required: false, ...extra });

const FIELDS: FormField[] = [
  text('UserPrincipalName', { label: 'User', required: true, pattern: '^[a-z0-9.]+@contoso\\.example$', minLength: 5, maxLength: 40 }),
  { name: 'Count', label: 'Count', kind: 'number', psType: 'int', required: false, integer: true, min: 1, max: 100 },
  { name: 'Ratio', label: 'Ratio', kind: 'number', psType: 'double', required: false, min: 0.5 },
  { name: 'Force', label: 'Force it', kind: 'toggle', psType: 'switch', required: false },
  { name: 'When', label: 'Start date', kind: 'date', psType: 'datetime', required: false },
  { name: 'Sku', label: 'Licence', kind: 'choice', psType: 'string', required: false, choices: ['M365_E3', 'M365_E5'] },
  { name: 'Tags', label: 'Tags', kind: 'multi', psType: 'string[]', required: false, maxLength: 10 },
  { name: 'Colours', label: 'Colours', kind: 'multi', psType: 'string[]', required: false, choices: ['Red', 'Green'] },
  { name: 'Password', label: 'Password', kind: 'secret', psType: 'securestring', required: false },
];

function refused(inputs: Record<string, unknown>, fields: FormField[] = FIELDS): Record<string, string> {
  const result = validateInputs(fields, { UserPrincipalName: 'a.b@contoso.example', ...inputs });
  assert.equal(result.ok, false, `expected a refusal for ${JSON.stringify(inputs)}`);
  return result.ok ? {} : result.fields;
}

function accepted(inputs: Record<string, unknown>, fields: FormField[] = FIELDS): Record<string, unknown> {
  const result = validateInputs(fields, { UserPrincipalName: 'a.b@contoso.example', ...inputs });
  assert.ok(result.ok, `expected acceptance, got ${JSON.stringify(result)}`);
  return result.values;
}

describe('validateInputs', () => {
  it('coerces chat strings into the JSON types PowerShell binds', () => {
    assert.deepEqual(
      accepted({
        Count: '42',
        Ratio: ' 2.5 ',
        Force: 'TRUE',
        When: '2026-03-31',
        Sku: 'm365_e5',
        Tags: 'alpha, beta\ngamma,,',
        Colours: ['red', 'GREEN'],
        Password: ' keep my spaces ',
      }),
      {
        UserPrincipalName: 'a.b@contoso.example',
        Count: 42,
        Ratio: 2.5,
        Force: true,
        When: '2026-03-31',
        Sku: 'M365_E5',
        Tags: ['alpha', 'beta', 'gamma'],
        Colours: ['Red', 'Green'],
        Password: ' keep my spaces ',
      },
    );
    assert.deepEqual(accepted({ Force: false, Count: 7, When: '2026-03-31T08:30:00Z' }), { UserPrincipalName: 'a.b@contoso.example', Force: false, Count: 7, When: '2026-03-31T08:30:00Z' });
  });

  it('treats empty values as not given, and requires what is mandatory', () => {
    assert.deepEqual(accepted({ Count: '', Tags: ' , ', Sku: null, When: undefined }), { UserPrincipalName: 'a.b@contoso.example' });
    assert.deepEqual(validateInputs(FIELDS, {}), { ok: false, fields: { UserPrincipalName: 'User is required.' } });
    assert.deepEqual(validateInputs(FIELDS, { UserPrincipalName: '' }), { ok: false, fields: { UserPrincipalName: 'User is required.' } });
    const requiredTags = FIELDS.map((f) => (f.name === 'Tags' ? { ...f, required: true } : f));
    assert.deepEqual(refused({ Tags: ',' }, requiredTags), { Tags: 'Tags is required.' });
    assert.deepEqual(validateInputs(FIELDS, {}, { suppliedElsewhere: ['UserPrincipalName'] }), { ok: true, values: {} });
  });

  it('refuses wrong values with a message naming the field label', () => {
    assert.deepEqual(refused({ Count: 'forty' }), { Count: 'Count must be a number.' });
    assert.deepEqual(refused({ Count: '4.5' }), { Count: 'Count must be a whole number.' });
    assert.deepEqual(refused({ Count: '0' }), { Count: 'Count must be between 1 and 100.' });
    assert.deepEqual(refused({ Count: '101' }), { Count: 'Count must be between 1 and 100.' });
    assert.deepEqual(refused({ Ratio: '0.1' }), { Ratio: 'Ratio must be at least 0.5.' });
    assert.deepEqual(refused({ Force: 'maybe' }), { Force: 'Force it must be true or false.' });
    assert.deepEqual(refused({ When: '31.03.2026' }), { When: 'Start date must be a date like 2026-03-31.' });
    assert.deepEqual(refused({ When: '2026-02-31x' }), { When: 'Start date must be a date like 2026-03-31.' });
    assert.deepEqual(refused({ Sku: 'E7' }), { Sku: 'Licence must be one of: M365_E3, M365_E5.' });
    assert.deepEqual(refused({ Colours: 'red, blue' }), { Colours: 'Colours: "blue" is not one of: Red, Green.' });
    assert.deepEqual(refused({ Tags: 'ok, much-too-long-tag' }), { Tags: 'Tags: "much-too-long-tag" must be at most 10 characters long.' });
    assert.deepEqual(refused({ Password: 42 }), { Password: 'Password must be text.' });
    assert.deepEqual(refused({ UserPrincipalName: 'a@b' }), { UserPrincipalName: 'User must be at least 5 characters long.' });
    assert.deepEqual(refused({ UserPrincipalName: 'someone@fabrikam.example' }), { UserPrincipalName: 'User does not have the expected format.' });
  });

  it('checks int bounds of the .NET type', () => {
    const field: FormField = { name: 'N', label: 'N', kind: 'number', psType: 'int', required: false, integer: true };
    assert.deepEqual(validateInputs([field], { N: '2147483648' }), { ok: false, fields: { N: 'N must be between -2147483648 and 2147483647.' } });
    assert.deepEqual(validateInputs([{ ...field, psType: 'long' }], { N: '2147483648' }), { ok: true, values: { N: 2147483648 } });
  });

  it('matches patterns case-insensitively, like PowerShell', () => {
    assert.equal(accepted({ UserPrincipalName: 'A.B@CONTOSO.EXAMPLE' }).UserPrincipalName, 'A.B@CONTOSO.EXAMPLE');
  });

  it('refuses unknown keys and reports every bad field at once', () => {
    const result = validateInputs(FIELDS, { UserPrincipalName: 'x', Count: 'many', Sneaky: '$(rm -rf /)' });
    assert.deepEqual(result, {
      ok: false,
      fields: {
        UserPrincipalName: 'User must be at least 5 characters long.',
        Count: 'Count must be a number.',
        Sneaky: '"Sneaky" is not a field of this form.',
      },
    });
    assert.equal(validateInputs(FIELDS, ['not', 'an', 'object']).ok, false);
  });

  it('is a zod schema others can compose', () => {
    const schema = buildInputSchema([text('Name', { required: true })]);
    assert.equal(schema.safeParse({ Name: 'x' }).success, true);
    assert.equal(schema.safeParse({}).success, false);
  });

  it('passes any non-empty text through unchanged, hostile characters included', () => {
    const hostile = fc.constantFrom('"; Remove-Item -Recurse /', "'$(whoami)'", '`n`r`0', '$env:PATH', '@{a=1}', '; exit 1', '\u0000\u202e', '\r\n\t ');
    fc.assert(
      fc.property(fc.oneof(fc.string({ minLength: 1 }), fc.string({ unit: 'binary', minLength: 1 }), hostile), (value) => {
        const result = validateInputs([text('Note')], { Note: value });
        assert.deepEqual(result, { ok: true, values: { Note: value } });
      }),
      { numRuns: 500 },
    );
  });
});

describe('patterns read as .NET reads them', () => {
  const check = (pattern: string, value: string) => validateInputs([text('V', { pattern })], { V: value }).ok;

  it('knows Unicode classes and gives \\w and \\d their Unicode meaning', () => {
    assert.equal(check("^[\\p{L}][\\p{L}' -]*$", "Jürgen O'Brien"), true);
    assert.equal(check("^[\\p{L}][\\p{L}' -]*$", 'R2-D2'), false);
    assert.equal(check('^\\w+$', 'Größe'), true);
    assert.equal(check('^[\\w.-]+$', 'straße.ä-1'), true);
    assert.equal(check('^\\d+$', '١٢٣'), true);
    assert.equal(check('^\\w+$', 'a b'), false);
    assert.equal(check('^a\\\\w$', 'a\\w'), true, 'an escaped backslash stays one');
  });

  it('leaves a pattern JavaScript cannot compile to PowerShell', () => {
    assert.equal(check('(?<=a', 'anything'), true);
  });
});
