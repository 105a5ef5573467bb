// Starts `src/worker.ts` as a child process on its own task queue and waits for "worker ready".
import type { ChildProcess, spawn as spawnFn } from 'node:child_process';

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
  // As `npm run worker` starts it (WORKER_HEAP_MB: V8's heap limit, 256 MB unless set).
  const heap = `--max-old-space-size=${env['WORKER_HEAP_MB'] ?? '256'}`;
  const child = spawn(process.execPath, [heap, '--import', 'tsx', 'src/worker.ts'], {
    cwd,
    env: { ...env, TEMPORAL_TASK_QUEUE: taskQueue, LOG_LEVEL: 'info' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr.on('data', (d: Buffer) => (output += d.toString()));
  for (let i = 0; i < 600 && !output.includes('"message":"worker ready"'); i++) {
    if (child.exitCode !== null) throw new Error(`worker exited:\n${output}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  if (!output.includes('"message":"worker ready"')) throw new Error(`worker not ready after 60 s:\n${output}`);
  return {
    child,
    taskQueue,
    async stop() {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    },
  };
}
