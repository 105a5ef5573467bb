// The schedule as code: by default every 5 minutes in UTC, start produceOrderEventsWorkflow with
// 10 events. The cadence (cron, time zone, jitter) is also kept in the action's memo, so
// `describe` and `backfill` read back what `apply` wrote (the server echoes cron as calendars).
import {
  ScheduleOverlapPolicy,
  type ScheduleOptions,
  type ScheduleOptionsStartWorkflowAction,
} from '@temporalio/client';
import { produceOrderEventsWorkflow } from '../src/workflows/index.ts';
import { DEFAULT_CRON, DEFAULT_TIMEZONE } from './spec.ts';

export const SCHEDULE_ID = 'produce-order-events';

/** The schedule's action starts this workflow function: its arguments are type-checked against it. */
export type ProduceOrderEventsSchedule = ScheduleOptions<
  ScheduleOptionsStartWorkflowAction<typeof produceOrderEventsWorkflow>
>;

export interface ScheduleSettings {
  scheduleId?: string;
  taskQueue: string;
  eventCount?: number;
  /** The source every run publishes (`generator` or an outbox source's name); a worker of another refuses the run. */
  source?: string;
  /** A validated 5-field cron expression (schedules/spec.ts). */
  cron?: string;
  /** An IANA time zone the cron is evaluated in. */
  timezone?: string;
  /** Each run starts up to this long after its slot (its nominal time stays the slot). */
  jitterMs?: number;
  paused?: boolean;
}

/** What the schedule's memo records of its cadence. */
export interface Cadence {
  cron: string;
  timezone: string;
  jitterMs: number;
}

export function produceOrderEventsSchedule(s: ScheduleSettings): ProduceOrderEventsSchedule {
  const scheduleId = s.scheduleId ?? SCHEDULE_ID;
  const cadence: Cadence = {
    cron: s.cron ?? DEFAULT_CRON,
    timezone: s.timezone ?? DEFAULT_TIMEZONE,
    jitterMs: s.jitterMs ?? 0,
  };
  return {
    scheduleId,
    spec: {
      cronExpressions: [cadence.cron],
      timezone: cadence.timezone,
      ...(cadence.jitterMs > 0 ? { jitter: cadence.jitterMs } : {}),
    },
    action: {
      type: 'startWorkflow',
      workflowType: produceOrderEventsWorkflow,
      taskQueue: s.taskQueue,
      args: [{ eventCount: s.eventCount ?? 10, ...(s.source ? { source: s.source } : {}) }],
      // Temporal appends the nominal time, so each firing has its own stable workflow id.
      workflowId: scheduleId,
      staticSummary: `Scheduled run of ${scheduleId}`,
      memo: { cadence },
    },
    policies: {
      // A run still going when the next is due: skip the new one rather than pile up.
      overlap: ScheduleOverlapPolicy.SKIP,
      // After an outage of the server, start missed runs only from the last 10 minutes.
      catchupWindow: '10 minutes',
      pauseOnFailure: false,
    },
    state: { paused: s.paused ?? false },
  };
}

/** The cadence `apply` recorded on the schedule, or undefined for a schedule made otherwise. */
export function cadenceOf(action: unknown): Cadence | undefined {
  const memo = (action as { memo?: { cadence?: Partial<Cadence> } }).memo;
  const c = memo?.cadence;
  if (typeof c?.cron !== 'string' || typeof c.timezone !== 'string') return undefined;
  return { cron: c.cron, timezone: c.timezone, jitterMs: typeof c.jitterMs === 'number' ? c.jitterMs : 0 };
}

/** The id Temporal gives a scheduled run: the schedule's workflow id and the slot, to the second. */
export function scheduledWorkflowId(scheduleId: string, slot: Date): string {
  return `${scheduleId}-${slot.toISOString().replace(/\.\d{3}Z$/, 'Z')}`;
}
