// Backfill: start the runs the schedule would have started in a past window, each with its own
// nominal time (so each produces its slot's events, timestamped at the slot), one after another
// (overlap BUFFER_ALL). A slot already produced finds itself in the run ledger and sends nothing.
import { ScheduleOverlapPolicy, type Client } from '@temporalio/client';
import { cadenceOf, scheduledWorkflowId } from './produce-order-events.ts';
import { ScheduleInputError, slotsBetween } from './spec.ts';

export interface BackfillLimits {
  /** The most runs one backfill may start. */
  maxRuns: number;
  /** How far back a slot may lie: the run ledger's retention, so a produced slot is still recorded there. */
  maxAgeMs: number;
  /** Where that limit comes from, for the message (the ledger topic's retention.ms, or the setting). */
  ageSource?: string;
}

export interface BackfillPlan {
  slots: Date[];
  workflowIds: string[];
}

export async function backfillSchedule(
  client: Client,
  scheduleId: string,
  window: { from: Date; to: Date },
  limits: BackfillLimits,
  now = new Date(),
  /** Called with the runs' workflow ids just before the backfill is requested. */
  beforeStart?: (workflowIds: string[]) => Promise<void>,
): Promise<BackfillPlan> {
  const { from, to } = window;
  if (from.getTime() >= to.getTime()) {
    throw new ScheduleInputError(`--from ${from.toISOString()} is not before --to ${to.toISOString()}`);
  }
  if (to.getTime() > now.getTime()) {
    throw new ScheduleInputError(`--to ${to.toISOString()} is in the future; a backfill covers past slots only`);
  }
  const oldest = now.getTime() - limits.maxAgeMs;
  if (from.getTime() < oldest) {
    throw new ScheduleInputError(
      `--from ${from.toISOString()} is older than the run ledger keeps slots (${limits.ageSource ?? 'KAFKA_RUNS_RETENTION_MS'}, ` +
        `oldest allowed ${new Date(oldest).toISOString()}): a slot produced then could be produced again`,
    );
  }
  const handle = client.schedule.getHandle(scheduleId);
  const cadence = cadenceOf((await handle.describe()).action);
  if (!cadence) {
    throw new ScheduleInputError(`${scheduleId} records no cadence; apply it first with: npm run schedule -- apply`);
  }
  const slots = slotsBetween(cadence.cron, cadence.timezone, from, to, limits.maxRuns);
  if (slots.length > limits.maxRuns) {
    throw new ScheduleInputError(
      `the window holds more than ${limits.maxRuns} runs of "${cadence.cron}" (${cadence.timezone}); split it`,
    );
  }
  const workflowIds = slots.map((s) => scheduledWorkflowId(scheduleId, s));
  await beforeStart?.(workflowIds);
  if (slots.length > 0) {
    // Temporal evaluates the schedule in (start, end]; shift by 1 ms to cover [from, to).
    await handle.backfill({
      start: new Date(from.getTime() - 1),
      end: new Date(to.getTime() - 1),
      overlap: ScheduleOverlapPolicy.BUFFER_ALL,
    });
  }
  return { slots, workflowIds };
}
