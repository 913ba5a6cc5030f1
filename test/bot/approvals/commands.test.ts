import { strict as assert } from 'node:assert';
import { parseCommand } from '../../../bot/core/core.ts';

describe('approvals in chat: typed commands', () => {
  it('reads scripts, scripts <status>, script <id> and approvals, in any case and after /deputy', () => {
    assert.deepEqual(parseCommand('scripts'), { kind: 'scripts' });
    assert.deepEqual(parseCommand('  Scripts   TESTING '), { kind: 'scripts', status: 'testing' });
    assert.deepEqual(parseCommand('deputy scripts approved'), { kind: 'scripts', status: 'approved' });
    assert.deepEqual(parseCommand('script Set-OOO'), { kind: 'script', scriptId: 'Set-OOO' });
    assert.deepEqual(parseCommand('approvals'), { kind: 'approvals' });
  });

  it('shows the actions for anything else', () => {
    for (const text of ['', 'help', 'scripts published', 'script', 'approvals please', 'script a b', 'run scripts']) {
      assert.deepEqual(parseCommand(text), { kind: 'actions' }, JSON.stringify(text));
    }
  });
});
