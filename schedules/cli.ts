// npm run schedule -- apply | describe | trigger | backfill | pause | unpause | delete
import '../src/local-env.ts'; // first: local stack settings for what the environment leaves unset
import {
  ApplicationFailure,
  Client,
  Connection,
  ScheduleOverlapPolicy,
  WorkflowFailedError,
  WorkflowNotFoundError,
} from '@temporalio/client';
import { msToNumber } from '@temporalio/common/lib/time.js';
import { Command, InvalidArgumentError } from 'commander';
import { loadConfig } from '../src/config/index.ts';
import { createApp } from '../src/app.ts';
import { positiveInt } from '../src/cli/options.ts';
import { errorMessage } from '../src/errors.ts';
import { createLogger } from '../src/logger.ts';
import { withTimeout } from '../src/timeout.ts';
import { temporalTls } from '../src/temporal-connection.ts';
import type { produceOrderEventsWorkflow } from '../src/workflows/index.ts';
import { applySchedule, describeSchedule } from './apply.ts';
import { backfillSchedule } from './backfill.ts';
import { SCHEDULE_ID, cadenceOf, produceOrderEventsSchedule } from './produce-order-events.ts';
import { DEFAULT_CRON, DEFAULT_TIMEZONE, inZone, parseInstant, validateCron, validateTimezone } from './spec.ts';

/** The most runs one backfill may start (split larger windows). */
const BACKFILL_MAX_RUNS = 1000;
/** A backfill slot must be this much younger than the ledger's retention (a margin for slow runs). */
const BACKFILL_AGE_MARGIN_MS = 24 * 3_600_000;

const checked =
  <T>(check: (v: string) => T) =>
  (v: string): T => {
    try {
      return check(v);
    } catch (err) {
      throw new InvalidArgumentError(errorMessage(err));
    }
  };
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

async function withClient(work: (client: Client, scheduleId: string) => Promise<void>): Promise<void> {
  let connection: Connection | undefined;
  try {
    const { temporal } = loadConfig();
    connection = await Connection.connect({ address: temporal.address, tls: temporalTls(temporal) });
    await work(new Client({ connection, namespace: temporal.namespace }), program.opts<{ id: string }>().id);
  } catch (err) {
    console.error(`schedule: ${failureMessage(err)}`);
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
  .option(
    '--event-count <n>',
    'events per run',
    (v) => positiveInt(loadConfig().temporal.maxEventCount, 'MAX_EVENT_COUNT')(v),
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
  .action(
    (opts: { eventCount: number; source?: string; cron: string; timezone: string; jitter: number; paused?: boolean }) =>
      withClient(async (client, scheduleId) => {
        const { temporal, source } = loadConfig();
        const options = produceOrderEventsSchedule({
          scheduleId,
          taskQueue: temporal.taskQueue,
          eventCount: opts.eventCount,
          source: opts.source ?? source.name,
          cron: opts.cron,
          timezone: opts.timezone,
          jitterMs: opts.jitter,
          paused: opts.paused ?? false,
        });
        console.log(
          `${scheduleId}: ${await applySchedule(client, options)} (${opts.cron} in ${opts.timezone}, source ${opts.source ?? source.name})`,
        );
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
      const cadence = cadenceOf(d.action);
      const zone = cadence?.timezone ?? d.spec.timezone ?? 'UTC';
      console.log(`schedule      ${d.scheduleId}`);
      console.log(
        `cadence       ${cadence ? `${cadence.cron} in ${cadence.timezone}${cadence.jitterMs ? `, jitter ${cadence.jitterMs} ms` : ''}` : '(not applied by this tool)'}`,
      );
      console.log(
        `workflow      ${action.workflowType} on ${action.taskQueue} with ${JSON.stringify(action.args ?? [])}`,
      );
      console.log(`overlap       ${d.policies.overlap}   catchup window ${d.policies.catchupWindow} ms`);
      console.log(`paused        ${d.state.paused}${d.state.note ? `   note: ${d.state.note}` : ''}`);
      for (const t of d.info.nextActionTimes.slice(0, 5)) {
        console.log(`next run      ${inZone(t, zone)}   (${t.toISOString()})`);
      }
      for (const a of d.info.recentActions.slice(-5)) {
        console.log(`recent        ${inZone(a.scheduledAt, zone)} -> ${a.action.workflow.workflowId}`);
      }
    }),
  );

program
  .command('trigger')
  .description("start one run now, under the schedule's overlap policy (SKIP)")
  .option('--wait', 'wait for the run to finish and print its summary')
  .option('--timeout <seconds>', 'how long --wait waits', positiveInt(), 120)
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
      const ids = result.source
        ? `source ${result.source.name} → ${result.source.to ?? 'start'}`
        : `order ids ${result.firstOrderId} .. ${result.lastOrderId}`;
      console.log(`${ids}; event time ${result.nominalTime}`);
    }),
  );

program
  .command('backfill')
  .description('start the runs the schedule would have started in a past window, one after another')
  .requiredOption(
    '--from <time>',
    'window start, ISO 8601 with a zone (inclusive)',
    checked((v) => parseInstant('--from', v)),
  )
  .requiredOption(
    '--to <time>',
    'window end, ISO 8601 with a zone (exclusive)',
    checked((v) => parseInstant('--to', v)),
  )
  .option('--wait', 'wait for every run and print its summary')
  .option('--timeout <seconds>', 'how long --wait waits for all runs', positiveInt(), 600)
  .action((opts: { from: Date; to: Date; wait?: boolean; timeout: number }) =>
    withClient(async (client, scheduleId) => {
      const retention = await ledgerRetention();
      const before = new Map<string, string | undefined>();
      const plan = await backfillSchedule(
        client,
        scheduleId,
        { from: opts.from, to: opts.to },
        { maxRuns: BACKFILL_MAX_RUNS, maxAgeMs: retention.ms - BACKFILL_AGE_MARGIN_MS, ageSource: retention.source },
        new Date(),
        async (ids) => {
          for (const id of ids) before.set(id, await currentRunId(client, id));
        },
      );
      console.log(`${scheduleId}: backfill of ${plan.slots.length} run(s), one after another`);
      for (const id of plan.workflowIds) console.log(`  ${id}`);
      if (!opts.wait) return;
      const deadline = Date.now() + opts.timeout * 1000;
      for (const id of plan.workflowIds) {
        let runId = await currentRunId(client, id);
        while (runId === before.get(id) && Date.now() < deadline) {
          await new Promise((r) => setTimeout(r, 250));
          runId = await currentRunId(client, id);
        }
        if (runId === before.get(id)) throw new Error(`${id} did not start within ${opts.timeout}s`);
        const result = await client.workflow.getHandle<typeof produceOrderEventsWorkflow>(id, runId).result();
        console.log(`${id}: ${result.summary}`);
      }
    }),
  );

/**
 * How long the run ledger keeps records: its topic's real retention.ms when Kafka answers, else
 * KAFKA_RUNS_RETENTION_MS (the worker refuses a slot beyond the real retention either way).
 */
async function ledgerRetention(): Promise<{ ms: number; source: string }> {
  const config = loadConfig();
  const app = createApp(config, { logger: createLogger('error') });
  try {
    const ledger = await app.producer.ledger(config.kafka.runsTopic);
    const ms = await withTimeout(ledger.retentionMs(), config.kafka.requestTimeoutMs, 'reading the ledger retention');
    return { ms, source: `${config.kafka.runsTopic} retention.ms` };
  } catch (err) {
    console.error(
      `schedule: could not read the run ledger's retention (${errorMessage(err)}); using KAFKA_RUNS_RETENTION_MS`,
    );
    return { ms: config.kafka.runsRetentionMs, source: 'KAFKA_RUNS_RETENTION_MS' };
  } finally {
    await app.close();
  }
}

/** A failed run says why: the innermost cause (the activity's error type and message), not "Workflow execution failed". */
function failureMessage(err: unknown): string {
  if (!(err instanceof WorkflowFailedError)) return errorMessage(err);
  let cause: unknown = err;
  while (cause instanceof Error && cause.cause instanceof Error) cause = cause.cause;
  const type = cause instanceof ApplicationFailure && cause.type ? `${cause.type}: ` : '';
  return `${err.message}: ${type}${errorMessage(cause)}`;
}

async function currentRunId(client: Client, workflowId: string): Promise<string | undefined> {
  try {
    return (await client.workflow.getHandle(workflowId).describe()).runId;
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) return undefined;
    throw err;
  }
}

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
