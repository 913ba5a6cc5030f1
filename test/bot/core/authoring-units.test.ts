/** The pure parts of chat authoring: the schedule picker both ways, and the commands. */
import assert from 'node:assert/strict';
import { parseAuthoringCommand } from '../../../bot/core/authoring.ts';
import { EVERY, PICKER, describeSchedule, pickedCron, pickerFor } from '../../../bot/core/schedule.ts';

describe('schedule picker', () => {
  const pick = (every: string, rest: Record<string, unknown> = {}) => pickedCron({ [PICKER.every]: every, [PICKER.at]: '06:30', [PICKER.weekday]: 'Wednesday', [PICKER.day]: 15, ...rest });

  it('turns each friendly choice into its cron pattern', () => {
    assert.deepEqual(pick(EVERY.hour), { cron: '30 * * * *' });
    assert.deepEqual(pick(EVERY.day), { cron: '30 6 * * *' });
    assert.deepEqual(pick(EVERY.weekday), { cron: '30 6 * * 1-5' });
    assert.deepEqual(pick(EVERY.week), { cron: '30 6 * * 3' });
    assert.deepEqual(pick(EVERY.month), { cron: '30 6 15 * *' });
    assert.deepEqual(pick(EVERY.cron, { [PICKER.cron]: ' 0 */2 * * * ' }), { cron: '0 */2 * * *' });
  });

  it('names the field that keeps a choice from being a schedule', () => {
    assert.deepEqual(Object.keys((pick(EVERY.day, { [PICKER.at]: '25:00' }) as { errors: object }).errors), [PICKER.at]);
    assert.deepEqual(Object.keys((pick(EVERY.month, { [PICKER.day]: 31 }) as { errors: object }).errors), [PICKER.day]);
    assert.deepEqual(Object.keys((pick(EVERY.cron, { [PICKER.cron]: '' }) as { errors: object }).errors), [PICKER.cron]);
    assert.deepEqual(Object.keys((pickedCron({}) as { errors: object }).errors), [PICKER.every]);
  });

  it('reads back the patterns it makes, and calls anything else custom', () => {
    for (const every of [EVERY.hour, EVERY.day, EVERY.weekday, EVERY.week, EVERY.month]) {
      const made = pick(every) as { cron: string };
      const again = pickedCron({ ...Object.fromEntries(Object.entries(pickerFor(made.cron)).map(([key, value]) => [PICKER[key as keyof typeof PICKER], key === 'every' ? EVERY[value as keyof typeof EVERY] : value])) });
      assert.deepEqual(again, made, every);
    }
    assert.equal(pickerFor('0 7 * * MON').every, 'cron');
    assert.equal(pickerFor('0 7 1 1 *').every, 'cron');
  });

  it('describes a schedule in words with its cron text', () => {
    assert.equal(describeSchedule('30 6 * * 1-5'), 'every weekday at 06:30 (cron 30 6 * * 1-5)');
    assert.equal(describeSchedule('5 * * * *'), 'every hour at minute 05 (cron 5 * * * *)');
    assert.equal(describeSchedule('0 4 * * 0'), 'every Sunday at 04:00 (cron 0 4 * * 0)');
    assert.equal(describeSchedule('0 4 1 * *'), 'on day 1 of every month at 04:00 (cron 0 4 1 * *)');
    assert.equal(describeSchedule('*/15 9-17 * * 1-5'), 'on a custom schedule (cron */15 9-17 * * 1-5)');
  });
});

describe('authoring commands', () => {
  it('reads clone, new plan and plans, and leaves everything else alone', () => {
    assert.deepEqual(parseAuthoringCommand('clone set-ooo to hamburg'), { kind: 'clone', scriptId: 'set-ooo', tenant: 'hamburg' });
    assert.deepEqual(parseAuthoringCommand('/deputy clone set-ooo to hamburg as ooo-hh'), { kind: 'clone', scriptId: 'set-ooo', tenant: 'hamburg', id: 'ooo-hh' });
    assert.deepEqual(parseAuthoringCommand('clone set-ooo'), { kind: 'clone', scriptId: 'set-ooo' });
    assert.deepEqual(parseAuthoringCommand('New Plan'), { kind: 'new-plan' });
    assert.deepEqual(parseAuthoringCommand(' plans '), { kind: 'plans' });
    for (const text of ['help', 'scripts', 'clone', 'new plans please', 'plans now', 'reset password for bob']) assert.equal(parseAuthoringCommand(text), undefined, text);
  });
});
