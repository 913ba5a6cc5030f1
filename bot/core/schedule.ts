/**
 * A schedule picked in words ("every weekday at 07:00") and its cron text, both ways: the plan
 * form offers the friendly picker and shows the cron it makes; the plan list says in words what
 * a cron means when it is one the picker makes, and shows the cron itself otherwise. Croner on
 * the executor remains the judge of what a valid cron pattern is.
 */
import type { FormField } from '../../executor/contract/index.ts';

export const EVERY = {
  hour: 'Every hour',
  day: 'Every day',
  weekday: 'Every weekday (Monday to Friday)',
  week: 'Every week',
  month: 'Every month',
  cron: 'Custom (cron)',
} as const;
type Every = keyof typeof EVERY;

const WEEKDAYS = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'] as const;

/** The picker's fields, by name. Parameter names of PowerShell cannot contain a dot, so these never clash with an action's. */
export const PICKER = { every: 'schedule.every', at: 'schedule.at', weekday: 'schedule.weekday', day: 'schedule.day', cron: 'schedule.cron' } as const;

export interface PickedSchedule {
  every: Every;
  /** `HH:MM` (for "every hour", only the minutes count). */
  at: string;
  weekday: (typeof WEEKDAYS)[number];
  day: number;
  cron: string;
}

const TIME = /^([01]?\d|2[0-3]):([0-5]\d)$/;

/** The picker as form fields, prefilled from `current` (a plan's schedule when it is edited). */
export function pickerFields(current: PickedSchedule): FormField[] {
  return [
    { name: PICKER.every, label: 'Runs', kind: 'choice', psType: 'string', required: true, choices: Object.values(EVERY), default: EVERY[current.every] },
    { name: PICKER.at, label: 'At (HH:MM, 24 hours)', hint: 'For “every hour”, the minutes past each hour.', kind: 'text', psType: 'string', required: false, pattern: TIME.source, default: current.at },
    { name: PICKER.weekday, label: 'On (for every week)', kind: 'choice', psType: 'string', required: false, choices: [...WEEKDAYS.slice(1), 'Sunday'], default: current.weekday },
    { name: PICKER.day, label: 'On day of the month (for every month)', kind: 'number', psType: 'int', required: false, integer: true, min: 1, max: 28, default: current.day },
    { name: PICKER.cron, label: 'Cron (for custom)', hint: 'Five fields: minute hour day-of-month month day-of-week, e.g. 30 6 * * 1-5.', kind: 'text', psType: 'string', required: false, ...(current.every === 'cron' ? { default: current.cron } : {}) },
  ];
}

/** The picker's values → a cron pattern, or the fields that keep it from being one. */
export function pickedCron(values: Record<string, unknown>): { cron: string } | { errors: Record<string, string> } {
  const every = (Object.keys(EVERY) as Every[]).find((key) => EVERY[key] === values[PICKER.every]);
  if (!every) return { errors: { [PICKER.every]: 'Choose how often the plan runs.' } };
  if (every === 'cron') {
    const cron = text(values[PICKER.cron]);
    return cron === '' ? { errors: { [PICKER.cron]: 'Give the cron pattern, or pick a schedule above.' } } : { cron };
  }
  const time = TIME.exec(text(values[PICKER.at]));
  if (!time) return { errors: { [PICKER.at]: 'Give the time as HH:MM, for example 07:30.' } };
  const hour = Number(time[1]);
  const minute = Number(time[2]);
  switch (every) {
    case 'hour':
      return { cron: `${minute} * * * *` };
    case 'day':
      return { cron: `${minute} ${hour} * * *` };
    case 'weekday':
      return { cron: `${minute} ${hour} * * 1-5` };
    case 'week': {
      const weekday = WEEKDAYS.indexOf(values[PICKER.weekday] as (typeof WEEKDAYS)[number]);
      return weekday < 0 ? { errors: { [PICKER.weekday]: 'Choose the day of the week.' } } : { cron: `${minute} ${hour} * * ${weekday}` };
    }
    case 'month': {
      const day = Number(values[PICKER.day]);
      return Number.isInteger(day) && day >= 1 && day <= 28 ? { cron: `${minute} ${hour} ${day} * *` } : { errors: { [PICKER.day]: 'Choose a day from 1 to 28 (every month has it).' } };
    }
  }
}

const text = (value: unknown) => (typeof value === 'string' ? value.trim() : '');
const pad = (value: number) => String(value).padStart(2, '0');
const number = (text: string | undefined, max: number) => (text !== undefined && /^\d{1,2}$/.test(text) && Number(text) <= max ? Number(text) : undefined);

/** The picker's reading of a cron pattern: one it makes, or "custom" with the pattern as it is. */
export function pickerFor(cron: string | undefined): PickedSchedule {
  const fallback: PickedSchedule = { every: 'weekday', at: '07:00', weekday: 'Monday', day: 1, cron: cron ?? '' };
  if (cron === undefined) return fallback;
  const custom = { ...fallback, every: 'cron' as const };
  const [minuteText, hourText, dayText, month, weekdayText, ...rest] = cron.trim().split(/\s+/);
  const minute = number(minuteText, 59);
  if (rest.length > 0 || minute === undefined || month !== '*') return custom;
  if (hourText === '*' && dayText === '*' && weekdayText === '*') return { ...fallback, every: 'hour', at: `00:${pad(minute)}` };
  const hour = number(hourText, 23);
  if (hour === undefined) return custom;
  const at = `${pad(hour)}:${pad(minute)}`;
  if (dayText === '*' && weekdayText === '*') return { ...fallback, every: 'day', at };
  if (dayText === '*' && weekdayText === '1-5') return { ...fallback, every: 'weekday', at };
  const weekday = number(weekdayText, 6);
  if (dayText === '*' && weekday !== undefined) return { ...fallback, every: 'week', at, weekday: WEEKDAYS[weekday] as PickedSchedule['weekday'] };
  const day = number(dayText, 28);
  if (weekdayText === '*' && day !== undefined && day >= 1) return { ...fallback, every: 'month', at, day };
  return custom;
}

/** "every weekday at 07:00 (cron 0 7 * * 1-5)"; a pattern the picker does not make is shown as it is. */
export function describeSchedule(cron: string): string {
  const picked = pickerFor(cron);
  const minutes = picked.at.slice(3);
  const words: Record<Every, string> = {
    hour: `every hour at minute ${minutes}`,
    day: `every day at ${picked.at}`,
    weekday: `every weekday at ${picked.at}`,
    week: `every ${picked.weekday} at ${picked.at}`,
    month: `on day ${picked.day} of every month at ${picked.at}`,
    cron: 'on a custom schedule',
  };
  return `${words[picked.every]} (cron ${cron})`;
}
