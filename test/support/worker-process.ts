// A real worker process (src/worker.ts as `npm run worker` runs it, or test/support/fault-worker.ts
// around it), for the fault suite: its pid is ours to signal, its output ours to read.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Config } from '../../src/config/index.ts';
import { envFor } from './app.ts';
import { workflowBundle } from './worker.ts';

let bundleFile: Promise<string> | undefined;
/** The workflow bundle written once to a file, so each worker process starts in about a second. */
function bundlePath(): Promise<string> {
  bundleFile ??= workflowBundle().then(({ code }) => {
    const file = join(tmpdir(), `order-events-workflows-${process.pid}.js`);
    writeFileSync(file, code);
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
  // As `npm run worker` starts it (WORKER_HEAP_MB: V8's heap limit).
  const heap = `--max-old-space-size=${process.env['WORKER_HEAP_MB'] ?? '256'}`;
  const child: ChildProcess = spawn(process.execPath, [heap, '--import', 'tsx', entry], {
    env: envFor(config, {
      TEMPORAL_TASK_QUEUE: taskQueue,
      LOG_LEVEL: 'info',
      // As `npm run worker` starts it: librdkafka's calls each hold a libuv pool thread (4 by
      // default). TEST_UV_THREADPOOL_SIZE sets another size, for measuring (docs/producer-backends.md).
      UV_THREADPOOL_SIZE: process.env['TEST_UV_THREADPOOL_SIZE'] ?? '16',
      WORKFLOW_BUNDLE: await bundlePath(),
      ...env,
    }),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (output += d.toString()));
  const exited = once(child, 'exit');
  const pid = child.pid!;
  const w: WorkerProcess = {
    pid,
    identity: `${pid}@`,
    output: () => output,
    async waitFor(pattern, timeoutMs = 30_000) {
      const deadline = Date.now() + timeoutMs;
      while (!pattern.test(output)) {
        if (child.exitCode !== null || Date.now() > deadline) {
          throw new Error(
            `worker ${pid}: no ${pattern} in its output (exit ${child.exitCode}):\n${output.slice(-3000)}`,
          );
        }
        await new Promise((r) => setTimeout(r, 25));
      }
    },
    signal(sig) {
      process.kill(pid, sig);
    },
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGKILL');
        await exited;
      }
    },
  };
  await w.waitFor(/"message":"worker ready"/);
  return w;
}
