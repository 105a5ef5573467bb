// `npm run outbox -- follow [--stop]` and the follower's line in `outbox status`: the following
// relay is one workflow per source, `outbox-follow:<source>`, so starting it twice is refused by
// Temporal itself and the second start is told which run is following.
import {
  type Client,
  WorkflowExecutionAlreadyStartedError,
  WorkflowIdConflictPolicy,
  WorkflowNotFoundError,
} from '@temporalio/client';
import type { Config } from '../config/index.ts';
import { withTemporalClient } from '../temporal-connection.ts';
import type { followOutboxWorkflow } from '../workflows/index.ts';

/** The follower's workflow id: one per source (a second start of it is refused). */
export const followerWorkflowId = (source: string): string => `outbox-follow:${source}`;

/** Runs `work` with a Temporal client for `config` (src/temporal-connection.ts), its connection closed afterwards. */
export function withTemporal<T>(config: Config, work: (client: Client) => Promise<T>): Promise<T> {
  return withTemporalClient(config.temporal, work);
}

/** Starts the source's follower; a running one is named instead (exit code 1). */
export async function startFollower(client: Client, config: Config): Promise<number> {
  const source = config.source.name;
  const workflowId = followerWorkflowId(source);
  try {
    const handle = await client.workflow.start<typeof followOutboxWorkflow>('followOutboxWorkflow', {
      taskQueue: config.temporal.taskQueue,
      workflowId,
      args: [{ source }],
      workflowIdConflictPolicy: WorkflowIdConflictPolicy.FAIL,
    });
    console.log(`following ${source}: workflow ${workflowId}, run ${handle.firstExecutionRunId}`);
    console.log(`stop it with \`npm run outbox -- follow --stop\`; \`npm run outbox -- status\` shows it`);
    return 0;
  } catch (err) {
    if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
    const d = await client.workflow.getHandle(workflowId).describe();
    console.error(
      `a follower of ${source} is already running: workflow ${workflowId}, run ${d.runId}, since ` +
        `${d.startTime.toISOString()}. One follower per source: stop it first with \`npm run outbox -- follow --stop\``,
    );
    return 1;
  }
}

/** Cancels the source's follower and waits until it stopped (its open batch aborted). */
export async function stopFollower(client: Client, config: Config): Promise<number> {
  const workflowId = followerWorkflowId(config.source.name);
  const handle = client.workflow.getHandle<typeof followOutboxWorkflow>(workflowId);
  try {
    const d = await handle.describe();
    if (d.status.name !== 'RUNNING') {
      console.log(`no follower of ${config.source.name} is running (the last one is ${d.status.name})`);
      return 0;
    }
    await handle.cancel();
    const result = await client.workflow.getHandle<typeof followOutboxWorkflow>(workflowId).result();
    console.log(`follower of ${config.source.name} stopped: ${result.summary}`);
    return 0;
  } catch (err) {
    if (!(err instanceof WorkflowNotFoundError)) throw err;
    console.log(`no follower of ${config.source.name} was ever started`);
    return 0;
  }
}

/** One line about the source's follower, for `outbox status`. */
export async function describeFollower(client: Client, config: Config): Promise<string> {
  const workflowId = followerWorkflowId(config.source.name);
  try {
    const handle = client.workflow.getHandle(workflowId);
    const d = await handle.describe();
    if (d.status.name !== 'RUNNING') return `follower ${workflowId}: ${d.status.name} (not following)`;
    const raw = await handle.describe().then((x) => x.raw.pendingActivities?.[0]);
    const beat = raw?.heartbeatDetails?.payloads?.[0]?.data;
    const details = beat ? (JSON.parse(Buffer.from(beat).toString()) as Record<string, unknown>) : undefined;
    const position = typeof details?.['position'] === 'string' ? shortPosition(details['position']) : 'none yet';
    return (
      `follower ${workflowId}: RUNNING since ${d.startTime.toISOString()}` +
      (details
        ? `; this segment ${String(details['rows'])} rows in ${String(details['commits'])} commits, ` +
          `${String(details['rowsPerSecond'])} rows/s, lag ${Number(details['lagSeconds']).toFixed(1)} s and ` +
          `${String(details['lagBytes'])} bytes of WAL, position ${position}`
        : '')
    );
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) return `follower ${workflowId}: never started (scheduled runs only)`;
    throw err;
  }
}

function shortPosition(position: string): string {
  try {
    const p = JSON.parse(position) as { lsn: string; inside?: { rows: number } };
    return p.inside ? `${p.lsn}+${p.inside.rows}` : p.lsn;
  } catch {
    return position;
  }
}
