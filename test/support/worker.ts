// An in-process worker on its own task queue, over the real engine (or a wrapped one), with the
// workflow bundle built once per test file.
import { fileURLToPath } from 'node:url';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, Worker, bundleWorkflowCode, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { createActivities, type ActivityDeps } from '../../src/activities/index.ts';
import { activityDeps, type App } from '../../src/app.ts';
import type { Config } from '../../src/config/index.ts';
import { WORKFLOW_INTERCEPTOR_MODULES, tracingWorkerOptions } from '../../src/telemetry/temporal-tracing.ts';
import { startTracing } from '../../src/telemetry/tracing.ts';
import { quietTemporalRuntime } from './temporal-runtime.ts';
import { temporalAddress, uniqueName } from './services.ts';

/** In-process test workers do not trace (the tracing test runs a worker process); their bundle is the real one. */
const noTracing = startTracing({ exporter: 'none', protocol: 'http/protobuf' });
let bundle: Promise<WorkflowBundleWithSourceMap> | undefined;
export function workflowBundle(): Promise<WorkflowBundleWithSourceMap> {
  quietTemporalRuntime();
  bundle ??= bundleWorkflowCode({
    workflowsPath: fileURLToPath(new URL('../../src/workflows/index.ts', import.meta.url)),
    workflowInterceptorModules: WORKFLOW_INTERCEPTOR_MODULES,
    logger: { trace() {}, debug() {}, info() {}, warn() {}, error() {}, log() {} },
  });
  return bundle;
}

export interface TestWorker {
  taskQueue: string;
  worker: Worker;
  running: Promise<void>;
  stop(): Promise<void>;
}

export async function startWorker(
  app: App,
  extra: Partial<ActivityDeps> = {},
  maxEventCount = 1000,
  taskQueue = uniqueName('tq'),
): Promise<TestWorker> {
  quietTemporalRuntime();
  const connection = await NativeConnection.connect({ address: temporalAddress() });
  const worker = await Worker.create({
    connection,
    taskQueue,
    workflowBundle: await workflowBundle(),
    ...tracingWorkerOptions(noTracing, true),
    activities: createActivities(activityDeps({ ...app, config: withMaxEventCount(app, maxEventCount) }, extra)),
  });
  const running = worker.run();
  return {
    taskQueue,
    worker,
    running,
    async stop() {
      worker.shutdown();
      await running;
      await connection.close();
    },
  };
}

const withMaxEventCount = (app: App, maxEventCount: number): Config => ({
  ...app.config,
  temporal: { ...app.config.temporal, maxEventCount },
});

export async function temporalClient(): Promise<Client> {
  return new Client({ connection: await Connection.connect({ address: temporalAddress() }) });
}
