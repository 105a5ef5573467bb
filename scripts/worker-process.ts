// The worker as a child process, started the way `npm run worker` starts it (src/worker.ts, or a
// program around it, under tsx with V8's heap limit), for the benchmarks (bench/worker-process.ts)
// and the test suites (test/support/worker-process.ts). The caller gives the whole environment;
// the start returns once the worker logs "worker ready". Its output (stdout, then stderr, as they
// come) is kept to read; its pid is the caller's to signal.
import { spawn as nodeSpawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';

/** The line the worker logs once it polls its task queue. */
export const WORKER_READY = /"message":"worker ready"/;

export interface WorkerChildOptions {
  /** The child's whole environment. */
  env: NodeJS.ProcessEnv;
  /** V8's heap limit in MB (WORKER_HEAP_MB of `npm run worker`); 256 unless set. */
  heapMb?: string | undefined;
  /** The program: the worker itself unless told. */
  entry?: string;
  /** The child's working directory; this process's unless set. */
  cwd?: string;
  /** How long the start waits for "worker ready", and how often it looks. */
  readyTimeoutMs: number;
  pollMs: number;
  /** What `stop()` sends a worker that is still running. */
  stopSignal: NodeJS.Signals;
  /** The spawn function (node:child_process's unless given). */
  spawn?: typeof nodeSpawn;
}

export interface WorkerChild {
  child: ChildProcess;
  pid: number;
  output(): string;
  /** Resolves once the output matches; fails with the output's tail once the worker exits or the time is up. */
  waitFor(pattern: RegExp, timeoutMs: number): Promise<void>;
  signal(sig: NodeJS.Signals): void;
  /** Sends the stop signal if the worker is still running, then waits for its exit. */
  stop(): Promise<void>;
}

/** Starts the worker and waits until it is ready (a worker that exits first, or never gets there, fails the start). */
export async function startWorkerChild(o: WorkerChildOptions): Promise<WorkerChild> {
  const heap = `--max-old-space-size=${o.heapMb ?? '256'}`;
  const child = (o.spawn ?? nodeSpawn)(process.execPath, [heap, '--import', 'tsx', o.entry ?? 'src/worker.ts'], {
    ...(o.cwd === undefined ? {} : { cwd: o.cwd }),
    env: o.env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr.on('data', (d: Buffer) => (output += d.toString()));
  const exited = once(child, 'exit');
  const pid = child.pid!;
  const running = () => child.exitCode === null && child.signalCode === null;
  const w: WorkerChild = {
    child,
    pid,
    output: () => output,
    waitFor: (pattern, timeoutMs) => waitForOutput(child, () => output, pattern, timeoutMs, o.pollMs),
    signal(sig) {
      process.kill(pid, sig);
    },
    async stop() {
      if (running()) {
        child.kill(o.stopSignal);
        await exited;
      }
    },
  };
  await w.waitFor(WORKER_READY, o.readyTimeoutMs);
  return w;
}

async function waitForOutput(
  child: ChildProcess,
  output: () => string,
  pattern: RegExp,
  timeoutMs: number,
  pollMs: number,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!pattern.test(output())) {
    if (child.exitCode !== null || Date.now() > deadline) {
      throw new Error(
        `worker ${child.pid}: no ${pattern} in its output (exit ${child.exitCode}):\n${output().slice(-3000)}`,
      );
    }
    await new Promise((r) => setTimeout(r, pollMs));
  }
}
