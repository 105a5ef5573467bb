// `npm run schedule -- describe`: the schedule's cadence, policies, state, and its recent and next
// runs in the schedule's own time zone.
import type { Command } from 'commander';
import { describeSchedule } from '../apply.ts';
import { cadenceOf } from '../produce-order-events.ts';
import { inZone } from '../spec.ts';
import { withSchedule, type CommandContext, type ScheduleSession } from './context.ts';

export function registerDescribe(program: Command, context: CommandContext): void {
  program
    .command('describe')
    .description('print the schedule: spec, policies, state, recent and next runs')
    .action(() => withSchedule(context, describe));
}

async function describe({ client, scheduleId }: ScheduleSession): Promise<void> {
  const d = await describeSchedule(client, scheduleId);
  if (!d) {
    console.error(`${scheduleId}: not found (create it with: npm run schedule -- apply)`);
    process.exitCode = 1;
    return;
  }
  const action = d.action as { workflowType: string; taskQueue: string; args?: unknown[] };
  const cadence = cadenceOf(d.action);
  const zone = cadence?.timezone ?? d.spec.timezone ?? 'UTC';
  console.log(`schedule      ${d.scheduleId}`);
  console.log(
    `cadence       ${cadence ? `${cadence.cron} in ${cadence.timezone}${cadence.jitterMs ? `, jitter ${cadence.jitterMs} ms` : ''}` : '(not applied by this tool)'}`,
  );
  console.log(`workflow      ${action.workflowType} on ${action.taskQueue} with ${JSON.stringify(action.args ?? [])}`);
  console.log(`overlap       ${d.policies.overlap}   catchup window ${d.policies.catchupWindow} ms`);
  console.log(`paused        ${d.state.paused}${d.state.note ? `   note: ${d.state.note}` : ''}`);
  for (const t of d.info.nextActionTimes.slice(0, 5)) {
    console.log(`next run      ${inZone(t, zone)}   (${t.toISOString()})`);
  }
  for (const a of d.info.recentActions.slice(-5)) {
    console.log(`recent        ${inZone(a.scheduledAt, zone)} -> ${a.action.workflow.workflowId}`);
  }
}
