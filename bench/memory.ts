// The worker's peak RSS: idle, during a 100,000-event run and during a 1,000,000-event run,
// sampled from /proc every 50 ms.
import { readFileSync } from 'node:fs';
import type { spawn as spawnFn } from 'node:child_process';
import type { Client } from '@temporalio/client';
import { startWorkerProcess } from './worker-process.ts';

function rssMb(pid: number): number {
  const kb = Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0);
  return kb / 1024;
}

async function peakDuring(pid: number, work: Promise<unknown>): Promise<number> {
  let peak = rssMb(pid);
  let done = false;
  void work.finally(() => (done = true));
  while (!done) {
    peak = Math.max(peak, rssMb(pid));
    await new Promise((r) => setTimeout(r, 50));
  }
  await work;
  return Math.max(peak, rssMb(pid));
}

export async function measureMemory(o: { client: Client; env: NodeJS.ProcessEnv; cwd: string; spawn: typeof spawnFn }) {
  const taskQueue = `bench-memory-${Date.now().toString(36)}`;
  const worker = await startWorkerProcess(o.spawn, o.env, o.cwd, taskQueue);
  const pid = worker.child.pid!;
  const runOf = (eventCount: number) =>
    o.client.workflow.execute('produceOrderEventsWorkflow', {
      taskQueue,
      workflowId: `${taskQueue}-${eventCount}`,
      args: [{ eventCount }],
      workflowExecutionTimeout: '30 minutes',
    });
  try {
    const idleMb = await peakDuring(pid, new Promise((r) => setTimeout(r, 5000)));
    const run100kMb = await peakDuring(pid, runOf(100_000));
    const run1mMb = await peakDuring(pid, runOf(1_000_000));
    console.error(
      `[bench] memory: idle ${idleMb.toFixed(0)} MB, 100k ${run100kMb.toFixed(0)} MB, 1M ${run1mMb.toFixed(0)} MB`,
    );
    return { idleMb, run100kMb, run1mMb, ratio1mOver100k: run1mMb / run100kMb, growth1mOverIdleMb: run1mMb - idleMb };
  } finally {
    await worker.stop();
  }
}
