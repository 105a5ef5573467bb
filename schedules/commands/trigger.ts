// `npm run schedule -- trigger [--wait]`: start one run now under the schedule's own overlap
// policy; with --wait, find the run it started, link it in the UI and print its summary.
import { ScheduleOverlapPolicy, type ScheduleHandle } from '@temporalio/client';
import type { Command } from 'commander';
import { positiveInt } from '../../src/cli/options.ts';
import type { produceOrderEventsWorkflow } from '../../src/workflows/index.ts';
import { withSchedule, type CommandContext, type ScheduleSession } from './context.ts';

interface TriggerOptions {
  wait?: boolean;
  timeout: number;
}

export function registerTrigger(program: Command, context: CommandContext): void {
  program
    .command('trigger')
    .description("start one run now, under the schedule's overlap policy (SKIP)")
    .option('--wait', 'wait for the run to finish and print its summary')
    .option('--timeout <seconds>', 'how long --wait waits', positiveInt(), 120)
    .action((opts: TriggerOptions) => withSchedule(context, (session) => trigger(session, opts)));
}

async function trigger({ client, config, scheduleId }: ScheduleSession, opts: TriggerOptions): Promise<void> {
  const handle = client.schedule.getHandle(scheduleId);
  const seen = new Set((await handle.describe()).info.recentActions.map((a) => a.action.workflow.workflowId));
  // trigger() defaults to ALLOW_ALL; keep the schedule's own policy.
  await handle.trigger(ScheduleOverlapPolicy.SKIP);
  console.log(`${scheduleId}: triggered`);
  if (!opts.wait) return;

  const started = await newRun(handle, seen, opts.timeout);
  const { temporal } = config;
  const link = `${temporal.uiUrl}/namespaces/${temporal.namespace}/workflows/${started.workflowId}/${started.firstExecutionRunId}/history`;
  console.log(`run ${started.workflowId} started; follow it at ${link}`);
  const result = await client.workflow.getHandle<typeof produceOrderEventsWorkflow>(started.workflowId).result();
  console.log(`\n${result.summary}`);
  const ids = result.source
    ? `source ${result.source.name} → ${result.source.to ?? 'start'}`
    : `order ids ${result.firstOrderId} .. ${result.lastOrderId}`;
  console.log(`${ids}; event time ${result.nominalTime}`);
}

/** The run the schedule started that is not in `seen`, once it appears (within `timeoutSeconds`). */
async function newRun(
  handle: ScheduleHandle,
  seen: Set<string>,
  timeoutSeconds: number,
): Promise<{ workflowId: string; firstExecutionRunId: string }> {
  const deadline = Date.now() + timeoutSeconds * 1000;
  let started: { workflowId: string; firstExecutionRunId: string } | undefined;
  while (!started && Date.now() < deadline) {
    const recent = (await handle.describe()).info.recentActions.map((a) => a.action.workflow);
    started = recent.find((w) => !seen.has(w.workflowId));
    if (!started) await new Promise((r) => setTimeout(r, 250));
  }
  if (!started)
    throw new Error(`no run appeared within ${timeoutSeconds}s (is the schedule paused, or a run still going?)`);
  return started;
}
