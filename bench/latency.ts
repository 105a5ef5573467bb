// Run latency on a warm worker: activity start-to-close (from the history's event times) and
// workflow end-to-end (start call to result) for eventCount = 10; and the first run after start.
import { spawn } from 'node:child_process';
import type { Client } from '@temporalio/client';
import { startWorkerProcess } from './worker-process.ts';

interface Stats {
  p50: number;
  p95: number;
  p99: number;
}

async function oneRun(client: Client, taskQueue: string, id: string) {
  const t0 = performance.now();
  await client.workflow.execute('produceOrderEventsWorkflow', {
    taskQueue,
    workflowId: id,
    args: [{ eventCount: 10 }],
  });
  const workflowMs = performance.now() - t0;
  const history = await client.workflow.getHandle(id).fetchHistory();
  const at = (pick: (e: NonNullable<typeof history.events>[number]) => unknown) => {
    const e = history.events?.find((ev) => pick(ev));
    return Number(e?.eventTime?.seconds) * 1000 + Number(e?.eventTime?.nanos) / 1e6;
  };
  // The last attempt's start to its completion; the attempt number counts the tries before it.
  const started = history.events?.filter((e) => e.activityTaskStartedEventAttributes).at(-1);
  const attempts = Number(started?.activityTaskStartedEventAttributes?.attempt ?? 1);
  const activityMs =
    at((e) => e.activityTaskCompletedEventAttributes) - at((e) => e.activityTaskStartedEventAttributes);
  return { workflowMs, activityMs, attempts };
}

export async function latencyRuns(o: {
  client: Client;
  env: NodeJS.ProcessEnv;
  runs: number;
  cwd: string;
  percentile: (xs: number[], p: number) => number;
}) {
  const taskQueue = `bench-latency-${Date.now().toString(36)}`;
  const worker = await startWorkerProcess(spawn, o.env, o.cwd, taskQueue);
  try {
    const first = await oneRun(o.client, taskQueue, `${taskQueue}-first`);
    const activity: number[] = [];
    const workflow: number[] = [];
    const attempts: number[] = [];
    for (let i = 0; i < o.runs; i++) {
      const r = await oneRun(o.client, taskQueue, `${taskQueue}-${i}`);
      activity.push(r.activityMs);
      workflow.push(r.workflowMs);
      attempts.push(r.attempts);
    }
    const stats = (xs: number[]): Stats => ({
      p50: o.percentile(xs, 50),
      p95: o.percentile(xs, 95),
      p99: o.percentile(xs, 99),
    });
    console.error(`[bench] latency: ${o.runs} runs done`);
    return {
      runs: o.runs,
      eventCount: 10,
      activityMs: stats(activity),
      workflowMs: stats(workflow),
      // Activity attempts per run: more than one means a run failed and was retried.
      attempts: { max: Math.max(...attempts), retried: attempts.filter((a) => a > 1).length },
      firstRun: first,
    };
  } finally {
    await worker.stop();
  }
}
