// `npm run schedule -- apply`: create the schedule, or update it when its definition changed.
import { msToNumber } from '@temporalio/common/lib/time.js';
import type { Command } from 'commander';
import { positiveInt } from '../../src/cli/options.ts';
import { applySchedule } from '../apply.ts';
import { produceOrderEventsSchedule } from '../produce-order-events.ts';
import { DEFAULT_CRON, DEFAULT_TIMEZONE, validateCron, validateTimezone } from '../spec.ts';
import { checked, withSchedule, type CommandContext, type ScheduleSession } from './context.ts';

interface ApplyOptions {
  eventCount: number;
  source?: string;
  cron: string;
  timezone: string;
  jitter: number;
  paused?: boolean;
}

const sourceName = (v: string): string => {
  if (!/^[A-Za-z0-9._:/-]{1,200}$/.test(v)) {
    throw new Error(`expected generator or an outbox source name like outbox:order_outbox, got "${v}"`);
  }
  return v;
};
const jitterOption = checked((v: string) => {
  const ms = /^\d+(ms|s|m|h)$/.test(v.trim()) ? msToNumber(v.trim()) : Number.NaN;
  if (!Number.isFinite(ms) || ms > 3_600_000)
    throw new Error(`expected a duration up to 1h like 30s or 2m, got "${v}"`);
  return ms;
});

export function registerApply(program: Command, context: CommandContext): void {
  program
    .command('apply')
    .description('create the schedule, or update it when its definition changed (idempotent)')
    .option(
      '--event-count <n>',
      'events per run',
      (v) => positiveInt(context.config().temporal.maxEventCount, 'MAX_EVENT_COUNT')(v),
      10,
    )
    .option(
      '--source <name>',
      'the source every run publishes: generator, or an outbox source name (default: this environment’s EVENT_SOURCE, OUTBOX_TABLE, OUTBOX_SOURCE_NAME)',
      checked(sourceName),
    )
    .option('--cron <expr>', '5-field cron expression', checked(validateCron), DEFAULT_CRON)
    .option('--timezone <iana>', 'time zone the cron is evaluated in', checked(validateTimezone), DEFAULT_TIMEZONE)
    .option('--jitter <duration>', 'start each run up to this long after its slot (e.g. 30s)', jitterOption, 0)
    .option(
      '--paused',
      'create it paused: only trigger and backfill start runs until unpause (an update keeps its state)',
    )
    .action((opts: ApplyOptions) => withSchedule(context, (session) => apply(session, opts)));
}

async function apply({ client, config, scheduleId }: ScheduleSession, opts: ApplyOptions): Promise<void> {
  const source = opts.source ?? config.source.name;
  const options = produceOrderEventsSchedule({
    scheduleId,
    taskQueue: config.temporal.taskQueue,
    eventCount: opts.eventCount,
    source,
    cron: opts.cron,
    timezone: opts.timezone,
    jitterMs: opts.jitter,
    paused: opts.paused ?? false,
  });
  console.log(
    `${scheduleId}: ${await applySchedule(client, options)} (${opts.cron} in ${opts.timezone}, source ${source})`,
  );
}
