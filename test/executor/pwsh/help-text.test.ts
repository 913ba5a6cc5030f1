/** ScriptRunner's `[sr-xx]` help → per-language labels, and the user's locale picking one (no pwsh). */
import assert from 'node:assert/strict';
import { localizeField } from '../../../bot/core/localize.ts';
import type { FormField } from '../../../executor/contract/index.ts';
import { defaultText, fieldHelp, splitLanguages } from '../../../executor/pwsh/help-text.ts';

describe('help in several languages', () => {
  it('splits tagged segments, each running on until the next tag, and keeps untagged text apart', () => {
    const split = splitLanguages('Specifies the AD path\n  [sr-de] Active Directory Pfad\n[SR-EN-GB] Colour. Of the thing.');
    assert.equal(split.untagged, 'Specifies the AD path');
    assert.deepEqual([...split.languages], [['de', 'Active Directory Pfad'], ['en-gb', 'Colour. Of the thing.']]);
    assert.deepEqual(splitLanguages('[sr-en] one [sr-en] two'), { languages: new Map([['en', 'one']]) });
    assert.deepEqual(splitLanguages(undefined), { languages: new Map() });
  });

  it('the default text is English, else the untagged text, else the first language; never a tag', () => {
    assert.equal(defaultText('[sr-de] Benutzer [sr-en] User'), 'User');
    assert.equal(defaultText('User name\n[sr-de] Benutzername'), 'User name');
    assert.equal(defaultText('[sr-de] Nur Deutsch'), 'Nur Deutsch');
    assert.equal(defaultText(undefined), undefined);
  });

  it('a field gets a label and hint per language, and a HelpMessage where there is no other help', () => {
    assert.deepEqual(fieldHelp('UserName', '[sr-en] User. The sign-in name.\n[sr-de] Benutzer. Der Anmeldename.', undefined), {
      label: 'User',
      hint: 'The sign-in name.',
      localized: { en: { label: 'User', hint: 'The sign-in name.' }, de: { label: 'Benutzer', hint: 'Der Anmeldename.' } },
    });
    assert.deepEqual(fieldHelp('Room', undefined, 'Three digits, for example 204.'), { label: 'Three digits, for example 204' });
    assert.deepEqual(fieldHelp('Room', 'Room number.', 'Three digits.'), { label: 'Room number', hint: 'Three digits.' });
    assert.deepEqual(fieldHelp('MaxCPUCount', undefined, undefined), { label: 'Max CPU count' });
  });

  it('the user\'s locale picks its language, the exact region first, else the default stays', () => {
    const field: FormField = {
      name: 'User',
      label: 'User',
      hint: 'The sign-in name.',
      kind: 'text',
      psType: 'string',
      required: true,
      localized: { de: { label: 'Benutzer', hint: 'Der Anmeldename.' }, 'de-ch': { label: 'Benutzerin' } },
    };
    assert.deepEqual([localizeField(field, 'de-DE').label, localizeField(field, 'de-DE').hint], ['Benutzer', 'Der Anmeldename.']);
    assert.deepEqual([localizeField(field, 'de_CH').label, localizeField(field, 'de_CH').hint], ['Benutzerin', undefined]);
    assert.equal(localizeField(field, 'fr-FR'), field);
    assert.equal(localizeField(field, undefined), field);
  });
});
