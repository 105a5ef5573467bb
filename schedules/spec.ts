// The schedule's cadence as users type it: a 5-field cron expression in an IANA time zone,
// validated here before anything is sent to Temporal, and the slots it yields in a window
// (what a backfill will start).
import { CronExpressionParser } from 'cron-parser';

export class ScheduleInputError extends Error {
  override name = 'ScheduleInputError';
}

export const DEFAULT_CRON = '*/5 * * * *';
export const DEFAULT_TIMEZONE = 'UTC';

/** Refuses anything but a valid 5-field cron expression (minute hour day-of-month month day-of-week), saying why. */
export function validateCron(expr: string): string {
  const cron = expr.trim().replace(/\s+/g, ' ');
  const fields = cron.split(' ');
  if (fields.length !== 5) {
    throw new ScheduleInputError(
      `--cron "${expr}": expected 5 fields (minute hour day-of-month month day-of-week), got ${fields.length}`,
    );
  }
  try {
    CronExpressionParser.parse(cron, { tz: 'UTC' });
  } catch (err) {
    throw new ScheduleInputError(`--cron "${expr}": ${(err as Error).message}`);
  }
  return cron;
}

/** Refuses a name that is not an IANA time zone the runtime knows (e.g. Europe/London, UTC). */
export function validateTimezone(name: string): string {
  try {
    return new Intl.DateTimeFormat('en-GB', { timeZone: name }).resolvedOptions().timeZone;
  } catch {
    throw new ScheduleInputError(
      `--timezone "${name}": not an IANA time zone name (e.g. UTC, Europe/London, America/New_York)`,
    );
  }
}

/** The times the cron yields in `timezone` within [from, to), in order, stopping after `limit + 1`. */
export function slotsBetween(cron: string, timezone: string, from: Date, to: Date, limit: number): Date[] {
  const it = CronExpressionParser.parse(cron, { tz: timezone, currentDate: new Date(from.getTime() - 1), endDate: to });
  const slots: Date[] = [];
  while (it.hasNext() && slots.length <= limit) {
    const next = it.next().toDate();
    if (next.getTime() >= to.getTime()) break;
    slots.push(next);
  }
  return slots;
}

/** `2026-11-30 09:00:00 GMT` style: the wall-clock time in the schedule's zone, with the zone's abbreviation. */
export function inZone(t: Date, timezone: string): string {
  const parts = new Intl.DateTimeFormat('en-GB', {
    timeZone: timezone,
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
    weekday: 'short',
    hourCycle: 'h23',
    timeZoneName: 'short',
  }).formatToParts(t);
  const p = Object.fromEntries(parts.map((x) => [x.type, x.value]));
  return `${p['weekday']} ${p['year']}-${p['month']}-${p['day']} ${p['hour']}:${p['minute']}:${p['second']} ${p['timeZoneName']}`;
}

/** A time given on the command line: ISO 8601 with a zone (Z or ±hh:mm), so it means one instant. */
export function parseInstant(option: string, value: string): Date {
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/.test(value)) {
    throw new ScheduleInputError(
      `${option} "${value}": expected an ISO 8601 time with a zone, e.g. 2026-11-27T09:00:00Z`,
    );
  }
  const t = new Date(value);
  if (Number.isNaN(t.getTime())) throw new ScheduleInputError(`${option} "${value}": not a valid time`);
  return t;
}
