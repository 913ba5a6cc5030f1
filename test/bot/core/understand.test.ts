/** Typed text: commands, and the closest actions for anything else, prefilled from the text. */
import { strict as assert } from 'node:assert';
import { ActionViewSchema, type ActionView, type FormField } from '../../../executor/contract/index.ts';
import { suggestActions } from '../../../bot/core/understand.ts';

function action(id: string, title: string, description: string, fields: FormField[] = []): ActionView {
  return ActionViewSchema.parse({ id, title, description, scriptId: id, scriptStatus: 'approved', versionHash: 'a'.repeat(64), tenant: 't', approval: 'none', timeoutSeconds: 60, form: { fields } });
}

const user: FormField = { name: 'UserPrincipalName', label: 'User', kind: 'text', psType: 'string', required: true };
const password: FormField = { name: 'NewPassword', label: 'New password', kind: 'secret', psType: 'securestring', required: true };
const port: FormField = { name: 'Port', label: 'Port', kind: 'number', psType: 'int', required: true, integer: true };
const host: FormField = { name: 'ComputerName', label: 'Host', kind: 'text', psType: 'string', required: true };
const service: FormField = { name: 'Name', label: 'Service name', kind: 'choice', psType: 'string', required: true, choices: ['sshd', 'cron'] };

const ACTIONS = [
  action('reset-password', 'Reset a password', 'Sets a new password for a user account and unlocks it.', [user, password]),
  action('set-ooo', 'Set an out-of-office reply', 'Turns on the automatic reply of a mailbox.', [user]),
  action('test-port', 'Check a TCP port', 'Tells whether a host answers on a port.', [host, port]),
  action('service', 'Is a service running?', 'Checks a system service on this host.', [service]),
];

describe('bot core: understanding typed text', () => {
  it('suggests the closest action by title, then description, prefilled from "for <value>"', () => {
    const [first, ...rest] = suggestActions('reset password for bob', ACTIONS);
    assert.equal(first?.action.id, 'reset-password');
    assert.deepEqual(first?.values, { UserPrincipalName: 'bob' }, 'the value goes into the required text field, never the secret');
    assert.ok(!rest.some((suggestion) => suggestion.action.id === 'test-port'));
  });

  it('fills a field named in the text ("port 22", "service sshd"), in the field’s own spelling', () => {
    assert.deepEqual(suggestActions('check port 22 on db1', ACTIONS)[0]?.values, { Port: '22' });
    const [service] = suggestActions('is the service SSHD running', ACTIONS);
    assert.equal(service?.action.id, 'service');
    assert.deepEqual(service?.values, { Name: 'sshd' });
    assert.deepEqual(suggestActions('check port twenty-two', ACTIONS)[0]?.values, {}, 'a number field takes numbers only');
  });

  it('finds nothing in a greeting or in words no action has', () => {
    assert.deepEqual(suggestActions('hello', ACTIONS), []);
    assert.deepEqual(suggestActions('order pizza', ACTIONS), []);
  });

  it('matches word forms ("passwords", "resetting")', () => {
    assert.equal(suggestActions('resetting passwords', ACTIONS)[0]?.action.id, 'reset-password');
  });
});
