// `npm run schedule -- backfill --from T --to T [--wait]`: start the runs the schedule would have
// started in a past window, one after another; with --wait, print each run's summary.
import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import type { Command } from 'commander';
import { positiveInt } from '../../src/cli/options.ts';
import type { produceOrderEventsWorkflow } from '../../src/workflows/index.ts';
import { backfillSchedule } from '../backfill.ts';
import { ledgerRetention } from '../ledger-retention.ts';
import { parseInstant } from '../spec.ts';
import { checked, withSchedule, type CommandContext, type ScheduleSession } from './context.ts';

/** The most runs one backfill may start (split larger windows). */
const BACKFILL_MAX_RUNS = 1000;
/** A backfill slot must be this much younger than the ledger's retention (a margin for slow runs). */
const BACKFILL_AGE_MARGIN_MS = 24 * 3_600_000;

interface BackfillOptions {
  from: Date;
  to: Date;
  wait?: boolean;
  timeout: number;
}

export function registerBackfill(program: Command, context: CommandContext): void {
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
    .action((opts: BackfillOptions) => withSchedule(context, (session) => backfill(session, opts)));
}

async function backfill({ client, config, scheduleId }: ScheduleSession, opts: BackfillOptions): Promise<void> {
  const retention = await ledgerRetention(config);
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
}

async function currentRunId(client: Client, workflowId: string): Promise<string | undefined> {
  try {
    return (await client.workflow.getHandle(workflowId).describe()).runId;
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) return undefined;
    throw err;
  }
}
