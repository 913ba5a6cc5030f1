import { strict as assert } from 'node:assert';
import type { FormField } from '../../executor/contract/index.ts';
import { buildFormFields, formInputId, readFormValues } from '../../cards/form.ts';
import { renderCard } from '../../cards/render.ts';
import { EVERY_KIND_FIELDS, sampleAction } from './samples.ts';
import { findAll, ofType, textOf } from './walk.ts';

function inputFor(card: unknown, name: string): Record<string, unknown> {
  const [input] = findAll(card, (item) => item.id === formInputId(name));
  assert.ok(input, `no input for ${name}`);
  return input;
}

function field(name: string): FormField {
  const found = EVERY_KIND_FIELDS.find((candidate) => candidate.name === name);
  assert.ok(found);
  return found;
}

describe('cards: form fields map to the right inputs', () => {
  const card = renderCard({ screen: 'action-form', formId: 'form-1', action: sampleAction() }, { actionStyle: 'execute' });

  it('text: Input.Text with label, required flag, maxLength and hint', () => {
    const input = inputFor(card, 'UserName');
    assert.equal(input.type, 'Input.Text');
    assert.equal(input.label, 'User name');
    assert.equal(input.isRequired, true);
    assert.equal(input.maxLength, 20);
    assert.equal(typeof input.errorMessage, 'string');
    assert.match(textOf(card), /The sAMAccountName, for example jdoe\./);
  });

  it('text with a case-neutral pattern carries it as regex; a pattern with letters does not', () => {
    assert.equal(inputFor(card, 'EmployeeId').regex, '^\\d{5}$');
    assert.equal(inputFor(card, 'EmployeeId').isRequired, undefined, 'optional fields leave isRequired at its default');
    // PowerShell matches '^[a-z]+@contoso\.com$' case-insensitively; a card would refuse "JDoe@Contoso.com".
    assert.equal(inputFor(card, 'Mailbox').regex, undefined);
  });

  it('a pattern the client regex engine would read differently is not passed on', () => {
    const elements = buildFormFields([
      { name: 'A', label: 'A', kind: 'text', psType: 'string', required: false, pattern: '^\\w+$' },
      { name: 'B', label: 'B', kind: 'text', psType: 'string', required: false, pattern: '\\A\\d+\\z' },
      { name: 'C', label: 'C', kind: 'text', psType: 'string', required: false, pattern: '^(\\d+' },
      { name: 'D', label: 'D', kind: 'text', psType: 'string', required: false, pattern: '^[0-9]{3}-\\d{4}$' },
    ]);
    assert.deepEqual(
      ['A', 'B', 'C', 'D'].map((name) => inputFor(elements, name).regex),
      [undefined, undefined, undefined, '^[0-9]{3}-\\d{4}$'],
    );
  });

  it('[ValidateLength] minimum without a pattern becomes a length regex', () => {
    const regex = String(inputFor(card, 'Reason').regex);
    assert.ok(new RegExp(regex).test('long enough text'));
    assert.ok(!new RegExp(regex).test('short'));
  });

  it('choice: compact Input.ChoiceSet with the choices and the default', () => {
    const input = inputFor(card, 'Department');
    assert.equal(input.type, 'Input.ChoiceSet');
    assert.equal(input.style, 'compact');
    assert.equal(input.isMultiSelect, undefined);
    assert.deepEqual(input.choices, ['Sales', 'IT', 'Finance'].map((choice) => ({ title: choice, value: choice })));
    assert.equal(input.value, 'IT');
  });

  it('multi with choices: multi-select ChoiceSet; without choices: multiline text, one per line', () => {
    const groups = inputFor(card, 'Groups');
    assert.equal(groups.type, 'Input.ChoiceSet');
    assert.equal(groups.isMultiSelect, true);
    assert.equal(groups.value, 'VPN');
    const computers = inputFor(card, 'Computers');
    assert.equal(computers.type, 'Input.Text');
    assert.equal(computers.isMultiline, true);
    assert.match(String(computers.placeholder), /one per line/i);
  });

  it('toggle: Input.Toggle titled with the label, on by default here', () => {
    const input = inputFor(card, 'Notify');
    assert.equal(input.type, 'Input.Toggle');
    assert.equal(input.title, 'Notify the user by mail');
    assert.equal(input.value, 'true');
  });

  it('number: Input.Number with bounds and default', () => {
    const input = inputFor(card, 'Days');
    assert.deepEqual([input.type, input.min, input.max, input.value], ['Input.Number', 1, 30, 7]);
    assert.match(String(input.errorMessage), /whole number from 1 to 30/);
  });

  it('date: Input.Date with the default cut to a date', () => {
    const input = inputFor(card, 'StartDate');
    assert.deepEqual([input.type, input.value], ['Input.Date', '2024-06-01']);
  });

  it('secret: a password field, never prefilled', () => {
    const input = inputFor(card, 'Password');
    assert.deepEqual([input.type, input.style, input.value], ['Input.Text', 'Password', undefined]);
  });
});

describe('cards: form re-render keeps values and shows errors', () => {
  const values = { UserName: 'j doe', Days: '45', Computers: ['pc-1', 'pc-2'], Groups: ['Wiki', 'CRM'], Notify: false, StartDate: '2024-07-01', Password: 'hunter2' };
  const errors = { UserName: 'A user name has no spaces.', Days: 'Days must be between 1 and 30.', _form: 'Some values are not valid.', Tenant: 'The tenant is locked.' };
  const card = renderCard({ screen: 'action-form', formId: 'form-1', action: sampleAction(), values, errors }, { actionStyle: 'submit' });

  it('keeps what the user entered, over the defaults', () => {
    assert.equal(inputFor(card, 'UserName').value, 'j doe');
    assert.equal(inputFor(card, 'Days').value, 45);
    assert.equal(inputFor(card, 'Computers').value, 'pc-1\npc-2');
    assert.equal(inputFor(card, 'Groups').value, 'Wiki,CRM');
    assert.equal(inputFor(card, 'Notify').value, 'false');
    assert.equal(inputFor(card, 'StartDate').value, '2024-07-01');
    assert.equal(inputFor(card, 'Department').value, 'IT', 'untouched fields keep their default');
  });

  it('never prefills a secret, even when its value is passed back', () => {
    assert.equal(inputFor(card, 'Password').value, undefined);
    assert.ok(!JSON.stringify(card).includes('hunter2'));
  });

  it('never prefills the mask either', () => {
    const masked = buildFormFields([{ name: 'Note', label: 'Note', kind: 'text', psType: 'string', required: false }], { Note: '********' });
    assert.equal(inputFor(masked, 'Note').value, undefined);
  });

  it('shows each field error under its field, in attention colour, and as the input errorMessage', () => {
    const [container] = findAll(
      card,
      (item) => item.type === 'Container' && Array.isArray(item.items) && item.items.some((child: { id?: unknown }) => child.id === formInputId('UserName')),
    );
    assert.ok(container);
    const items = container.items as Record<string, unknown>[];
    const last = items[items.length - 1];
    const [run] = ofType(last, 'TextRun');
    assert.deepEqual([last?.type, run?.text, run?.color], ['RichTextBlock', 'A user name has no spaces.', 'Attention']);
    assert.equal(inputFor(card, 'UserName').errorMessage, 'A user name has no spaces.');
    assert.equal(inputFor(card, 'Days').errorMessage, 'Days must be between 1 and 30.');
  });

  it('shows the overall error and errors of fields the form does not show at the top', () => {
    const formError = findAll(card, (item) => item.type === 'Container' && item.style === 'attention');
    assert.equal(formError.length, 1);
    assert.match(textOf(formError), /Some values are not valid\. The tenant is locked\./);
  });

  it('a form with no fields says so', () => {
    const empty = renderCard({ screen: 'action-form', formId: 'form-1', action: sampleAction({ form: { fields: [] } }) }, { actionStyle: 'execute' });
    assert.match(textOf(empty), /needs no input/);
  });
});

describe('cards: submitted data reads back into typed values', () => {
  const form = { fields: EVERY_KIND_FIELDS };

  it('converts each kind from the strings a card sends', () => {
    const data = {
      verb: 'submit-form',
      actionId: 'reset-user',
      [formInputId('UserName')]: '  jdoe ',
      [formInputId('Department')]: 'IT',
      [formInputId('Groups')]: 'VPN,CRM',
      [formInputId('Computers')]: 'pc-1\r\n\npc-2 \n',
      [formInputId('Notify')]: 'false',
      [formInputId('Days')]: '7',
      [formInputId('StartDate')]: '2024-06-01',
      [formInputId('Password')]: ' s3cret with spaces ',
      [formInputId('Reason')]: '',
    };
    assert.deepEqual(readFormValues(form, data), {
      UserName: 'jdoe',
      Department: 'IT',
      Groups: ['VPN', 'CRM'],
      Computers: ['pc-1', 'pc-2'],
      Notify: false,
      Days: 7,
      StartDate: '2024-06-01',
      Password: ' s3cret with spaces ',
    });
  });

  it('leaves a number that does not parse as text, for the executor to name', () => {
    assert.deepEqual(readFormValues({ fields: [field('Days')] }, { [formInputId('Days')]: 'seven' }), { Days: 'seven' });
  });

  it('ignores button data that is not a field, even a parameter called verb', () => {
    const fields: FormField[] = [{ name: 'verb', label: 'Verb', kind: 'text', psType: 'string', required: false }];
    assert.deepEqual(readFormValues({ fields }, { verb: 'submit-form', [formInputId('verb')]: 'Get' }), { verb: 'Get' });
  });

  it('what a re-rendered form shows is what it reads back', () => {
    const values = readFormValues(form, { [formInputId('Groups')]: 'Wiki,CRM', [formInputId('Computers')]: 'a\nb', [formInputId('Days')]: '12' });
    const card = renderCard({ screen: 'action-form', formId: 'form-1', action: sampleAction(), values }, { actionStyle: 'execute' });
    assert.equal(inputFor(card, 'Groups').value, 'Wiki,CRM');
    assert.equal(inputFor(card, 'Computers').value, 'a\nb');
    assert.equal(inputFor(card, 'Days').value, 12);
  });
});
