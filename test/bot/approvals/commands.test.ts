import { strict as assert } from 'node:assert';
import { parseCommand } from '../../../bot/core/understand.ts';

describe('approvals in chat: typed commands', () => {
  it('reads scripts, scripts <status>, script <id> and approvals, in any case and after /deputy', () => {
    assert.deepEqual(parseCommand('scripts'), { kind: 'scripts' });
    assert.deepEqual(parseCommand('  Scripts   TESTING '), { kind: 'scripts', status: 'testing' });
    assert.deepEqual(parseCommand('deputy scripts approved'), { kind: 'scripts', status: 'approved' });
    assert.deepEqual(parseCommand('script Set-OOO'), { kind: 'script', scriptId: 'Set-OOO' });
    assert.deepEqual(parseCommand('approvals'), { kind: 'approvals' });
  });

  it('shows the actions for help, and the runs for runs, status and history', () => {
    for (const text of ['', 'help', 'HELP', '/deputy', 'deputy help', 'actions']) assert.deepEqual(parseCommand(text), { kind: 'actions' }, JSON.stringify(text));
    for (const text of ['runs', 'Status', 'history', '/deputy runs']) assert.deepEqual(parseCommand(text), { kind: 'runs' }, JSON.stringify(text));
  });

  it('calls anything else unknown, with the text to match against actions', () => {
    for (const text of ['scripts published', 'script', 'approvals please', 'script a b', 'run scripts', 'hello', 'reset password for bob']) {
      assert.deepEqual(parseCommand(text), { kind: 'unknown', text }, JSON.stringify(text));
    }
  });
});
