// Starts `src/worker.ts` as a child process on its own task queue and waits for "worker ready"
// (scripts/worker-process.ts, shared with the tests).
import type { ChildProcess, spawn as spawnFn } from 'node:child_process';
import { startWorkerChild } from '../scripts/worker-process.ts';

export interface WorkerProcess {
  child: ChildProcess;
  taskQueue: string;
  stop(): Promise<void>;
}

export async function startWorkerProcess(
  spawn: typeof spawnFn,
  env: NodeJS.ProcessEnv,
  cwd: string,
  taskQueue: string,
): Promise<WorkerProcess> {
  const worker = await startWorkerChild({
    spawn,
    cwd,
    // As `npm run worker` starts it (WORKER_HEAP_MB: V8's heap limit, 256 MB unless set).
    heapMb: env['WORKER_HEAP_MB'],
    env: { ...env, TEMPORAL_TASK_QUEUE: taskQueue, LOG_LEVEL: 'info' },
    readyTimeoutMs: 60_000,
    pollMs: 100,
    stopSignal: 'SIGTERM',
  });
  return { child: worker.child, taskQueue, stop: () => worker.stop() };
}
