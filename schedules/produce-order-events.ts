// The schedule as code: every 5 minutes, start produceOrderEventsWorkflow with 10 events.
import { ScheduleOverlapPolicy, type ScheduleOptions } from '@temporalio/client';
import type { ProduceOrderEventsInput } from '../src/activities/types.ts';

export const SCHEDULE_ID = 'produce-order-events';
const WORKFLOW_TYPE = 'produceOrderEventsWorkflow';

export interface ScheduleSettings {
  scheduleId?: string;
  taskQueue: string;
  eventCount?: number;
  cron?: string;
  paused?: boolean;
}

export function produceOrderEventsSchedule(s: ScheduleSettings): ScheduleOptions {
  const args: [ProduceOrderEventsInput] = [{ eventCount: s.eventCount ?? 10 }];
  const scheduleId = s.scheduleId ?? SCHEDULE_ID;
  return {
    scheduleId,
    spec: { cronExpressions: [s.cron ?? '*/5 * * * *'] },
    action: {
      type: 'startWorkflow',
      workflowType: WORKFLOW_TYPE,
      taskQueue: s.taskQueue,
      args,
      // Temporal appends the nominal time, so each firing has its own stable workflow id.
      workflowId: scheduleId,
      staticSummary: `Scheduled run of ${scheduleId}`,
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
