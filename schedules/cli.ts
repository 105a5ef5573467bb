// npm run schedule -- apply | describe | trigger | pause | unpause | delete
import { Client, Connection, ScheduleOverlapPolicy } from '@temporalio/client';
import { Command } from 'commander';
import { loadConfig } from '../src/config.ts';
import { errorMessage } from '../src/errors.ts';
import { temporalTls } from '../src/temporal-connection.ts';
import type { produceOrderEventsWorkflow } from '../src/workflows/index.ts';
import { applySchedule, describeSchedule } from './apply.ts';
import { SCHEDULE_ID, produceOrderEventsSchedule } from './produce-order-events.ts';

async function withClient(work: (client: Client, scheduleId: string) => Promise<void>): Promise<void> {
  let connection: Connection | undefined;
  try {
    const { temporal } = loadConfig();
    connection = await Connection.connect({ address: temporal.address, tls: temporalTls(temporal) });
    await work(new Client({ connection, namespace: temporal.namespace }), program.opts<{ id: string }>().id);
  } catch (err) {
    console.error(`schedule: ${errorMessage(err)}`);
    process.exitCode = 1;
  } finally {
    await connection?.close();
  }
}

const program = new Command('schedule')
  .description(`Manage the ${SCHEDULE_ID} Temporal schedule`)
  .option('--id <scheduleId>', 'schedule id', SCHEDULE_ID);

program
  .command('apply')
  .description('create the schedule, or update it when its definition changed (idempotent)')
  .option('--event-count <n>', 'events per run', (v) => Number.parseInt(v, 10), 10)
  .action((opts: { eventCount: number }) =>
    withClient(async (client, scheduleId) => {
      const { temporal } = loadConfig();
      const options = produceOrderEventsSchedule({
        scheduleId,
        taskQueue: temporal.taskQueue,
        eventCount: opts.eventCount,
      });
      console.log(`${scheduleId}: ${await applySchedule(client, options)}`);
    }),
  );

program
  .command('describe')
  .description('print the schedule: spec, policies, state, recent and next runs')
  .action(() =>
    withClient(async (client, scheduleId) => {
      const d = await describeSchedule(client, scheduleId);
      if (!d) {
        console.error(`${scheduleId}: not found (create it with: npm run schedule -- apply)`);
        process.exitCode = 1;
        return;
      }
      const action = d.action as { workflowType: string; taskQueue: string; args?: unknown[] };
      console.log(`schedule      ${d.scheduleId}`);
      console.log(
        `workflow      ${action.workflowType} on ${action.taskQueue} with ${JSON.stringify(action.args ?? [])}`,
      );
      console.log(`overlap       ${d.policies.overlap}   catchup window ${d.policies.catchupWindow} ms`);
      console.log(`paused        ${d.state.paused}${d.state.note ? `   note: ${d.state.note}` : ''}`);
      console.log(
        `next runs     ${d.info.nextActionTimes
          .slice(0, 3)
          .map((t) => t.toISOString())
          .join(', ')}`,
      );
      for (const a of d.info.recentActions.slice(-5)) {
        console.log(`recent        ${a.scheduledAt.toISOString()} -> ${a.action.workflow.workflowId}`);
      }
    }),
  );

program
  .command('trigger')
  .description("start one run now, under the schedule's overlap policy (SKIP)")
  .option('--wait', 'wait for the run to finish and print its summary')
  .option('--timeout <seconds>', 'how long --wait waits', (v) => Number.parseInt(v, 10), 120)
  .action((opts: { wait?: boolean; timeout: number }) =>
    withClient(async (client, scheduleId) => {
      const handle = client.schedule.getHandle(scheduleId);
      const seen = new Set((await handle.describe()).info.recentActions.map((a) => a.action.workflow.workflowId));
      // trigger() defaults to ALLOW_ALL; keep the schedule's own policy.
      await handle.trigger(ScheduleOverlapPolicy.SKIP);
      console.log(`${scheduleId}: triggered`);
      if (!opts.wait) return;

      const deadline = Date.now() + opts.timeout * 1000;
      let started: { workflowId: string; firstExecutionRunId: string } | undefined;
      while (!started && Date.now() < deadline) {
        const recent = (await handle.describe()).info.recentActions.map((a) => a.action.workflow);
        started = recent.find((w) => !seen.has(w.workflowId));
        if (!started) await new Promise((r) => setTimeout(r, 250));
      }
      if (!started)
        throw new Error(`no run appeared within ${opts.timeout}s (is the schedule paused, or a run still going?)`);
      const { temporal } = loadConfig();
      const link = `${temporal.uiUrl}/namespaces/${temporal.namespace}/workflows/${started.workflowId}/${started.firstExecutionRunId}/history`;
      console.log(`run ${started.workflowId} started; follow it at ${link}`);
      const result = await client.workflow.getHandle<typeof produceOrderEventsWorkflow>(started.workflowId).result();
      console.log(`\n${result.summary}`);
      console.log(`order ids ${result.firstOrderId} .. ${result.lastOrderId}; event time ${result.nominalTime}`);
    }),
  );

for (const [name, verb] of [
  ['pause', 'paused'],
  ['unpause', 'unpaused'],
] as const) {
  program
    .command(name)
    .description(`${name} the schedule`)
    .option('--note <text>', 'why', `${verb} with npm run schedule -- ${name}`)
    .action((opts: { note: string }) =>
      withClient(async (client, scheduleId) => {
        await client.schedule.getHandle(scheduleId)[name](opts.note);
        console.log(`${scheduleId}: ${verb}`);
      }),
    );
}

program
  .command('delete')
  .description('delete the schedule (runs already started are not affected)')
  .action(() =>
    withClient(async (client, scheduleId) => {
      await client.schedule.getHandle(scheduleId).delete();
      console.log(`${scheduleId}: deleted`);
    }),
  );

await program.parseAsync();
