// Idempotent apply: create the schedule, or update it when its definition differs. The
// definition's fingerprint is kept in the schedule's note, because the server echoes specs
// back normalised (cron becomes calendars) and a field-by-field compare would drift.
import { createHash } from 'node:crypto';
import {
  ScheduleAlreadyRunning,
  ScheduleNotFoundError,
  type Client,
  type ScheduleDescription,
  type ScheduleOptions,
} from '@temporalio/client';

export type ApplyOutcome = 'created' | 'updated' | 'unchanged';

function fingerprint(options: ScheduleOptions): string {
  const { spec, action, policies } = options;
  // A workflow function counts by its name (the workflow type), as the server records it.
  const json = JSON.stringify({ spec, action, policies }, (_, v: unknown) =>
    typeof v === 'function' ? (v as { name: string }).name : v,
  );
  const hash = createHash('sha256').update(json).digest('hex').slice(0, 16);
  return `definition ${hash}`;
}

export async function applySchedule(client: Client, options: ScheduleOptions): Promise<ApplyOutcome> {
  const note = fingerprint(options);
  try {
    await client.schedule.create({ ...options, state: { ...options.state, note } });
    return 'created';
  } catch (err) {
    if (!(err instanceof ScheduleAlreadyRunning)) throw err;
  }
  const handle = client.schedule.getHandle(options.scheduleId);
  const desc = await handle.describe();
  if (desc.state.note === note) return 'unchanged';
  await handle.update((prev) => ({
    ...prev,
    spec: options.spec,
    action: options.action,
    policies: { ...prev.policies, ...options.policies },
    state: { ...prev.state, note },
  }));
  return 'updated';
}

export async function describeSchedule(client: Client, scheduleId: string): Promise<ScheduleDescription | undefined> {
  try {
    return await client.schedule.getHandle(scheduleId).describe();
  } catch (err) {
    if (err instanceof ScheduleNotFoundError) return undefined;
    throw err;
  }
}
