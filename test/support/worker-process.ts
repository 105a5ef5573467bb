// A real worker process (src/worker.ts as `npm run worker` runs it, or test/support/fault-worker.ts
// around it), for the fault suite: its pid is ours to signal, its output ours to read. Started by
// scripts/worker-process.ts (shared with bench/) with the test's settings and the workflow bundle.
import { rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startWorkerChild } from '../../scripts/worker-process.ts';
import type { Config } from '../../src/config/index.ts';
import { envFor } from './app.ts';
import { workflowBundle } from './worker.ts';

let bundleFile: Promise<string> | undefined;
/** The workflow bundle written once to a file, so each worker process starts in about a second. */
function bundlePath(): Promise<string> {
  bundleFile ??= workflowBundle().then(({ code }) => {
    const file = join(tmpdir(), `order-events-workflows-${process.pid}.js`);
    writeFileSync(file, code);
    process.once('exit', () => rmSync(file, { force: true }));
    return file;
  });
  return bundleFile;
}

export interface WorkerProcess {
  pid: number;
  identity: string;
  output(): string;
  /** Resolves once the output matches, or fails with the output's tail. */
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<void>;
  signal(sig: NodeJS.Signals): void;
  /** SIGKILL if still alive, then waits for the exit. */
  stop(): Promise<void>;
}

export async function startWorkerProcess(
  config: Config,
  taskQueue: string,
  env: Record<string, string> = {},
  /** The program: the worker itself, or test support's fault worker around it. */
  entry = 'src/worker.ts',
): Promise<WorkerProcess> {
  const w = await startWorkerChild({
    entry,
    // As `npm run worker` starts it (WORKER_HEAP_MB: V8's heap limit).
    heapMb: process.env['WORKER_HEAP_MB'],
    env: envFor(config, {
      TEMPORAL_TASK_QUEUE: taskQueue,
      LOG_LEVEL: 'info',
      // As `npm run worker` starts it: librdkafka's calls each hold a libuv pool thread (4 by
      // default). TEST_UV_THREADPOOL_SIZE sets another size, for measuring (docs/producer-backends.md).
      UV_THREADPOOL_SIZE: process.env['TEST_UV_THREADPOOL_SIZE'] ?? '16',
      WORKFLOW_BUNDLE: await bundlePath(),
      ...env,
    }),
    readyTimeoutMs: 30_000,
    pollMs: 25,
    stopSignal: 'SIGKILL',
  });
  return {
    pid: w.pid,
    identity: `${w.pid}@`,
    output: () => w.output(),
    waitFor: (pattern, timeoutMs = 30_000) => w.waitFor(pattern, timeoutMs),
    signal: (sig) => w.signal(sig),
    stop: () => w.stop(),
  };
}
