// The worker: the composition root. Reads config once, builds the long-lived Kafka producer and
// registry client once, hands them to the activity factory, and closes them after shutdown
// (SIGINT/SIGTERM: in-flight activities finish or fail cleanly first). Exits non-zero on a crash.
import { localStackEnv } from './local-env.ts'; // first: local stack settings, all or nothing
import { fileURLToPath, pathToFileURL } from 'node:url';
import { getHeapStatistics } from 'node:v8';
import { DefaultLogger, NativeConnection, Runtime, Worker, type LogLevel as TemporalLevel } from '@temporalio/worker';
import { createActivities, type ActivityDeps } from './activities/index.ts';
import { activityDeps, createApp } from './app.ts';
import { effectiveSettings, forgottenSettings, localStackNote } from './config/effective.ts';
import { loadConfig, type Config } from './config/index.ts';
import { errorMessage } from './errors.ts';
import { createLogger, type Logger } from './logger.ts';
import { meterMetrics } from './telemetry/metrics.ts';
import { tracingWorkerOptions } from './telemetry/temporal-tracing.ts';
import { startTracing, type Tracing } from './telemetry/tracing.ts';
import { temporalTls } from './temporal-connection.ts';

/** The SDK runtime: its logs into ours, and its Prometheus endpoint when METRICS_ADDRESS is set. */
function installRuntime(logger: Logger, level: string, metricsAddress: string | undefined): void {
  const map: Record<TemporalLevel, keyof Logger> = {
    TRACE: 'debug',
    DEBUG: 'debug',
    INFO: 'info',
    WARN: 'warn',
    ERROR: 'error',
  };
  Runtime.install({
    logger: new DefaultLogger(level.toUpperCase() as TemporalLevel, (entry) =>
      logger[map[entry.level]](entry.message, entry.meta),
    ),
    ...(metricsAddress
      ? {
          telemetryOptions: {
            metrics: {
              prometheus: {
                bindAddress: metricsAddress,
                countersTotalSuffix: true,
                unitSuffix: true,
                useSecondsForDurations: true,
              },
            },
          },
        }
      : {}),
  });
}

export interface WorkerOptions {
  /** Wraps the activity's dependencies: test support injects faults around the real engine here. */
  decorateActivities?: (deps: ActivityDeps, logger: Logger) => ActivityDeps;
}

/** Runs the worker until a shutdown signal has drained it; closes everything it opened. */
export async function runWorker(options: WorkerOptions = {}): Promise<void> {
  const config = loadConfig();
  const logger = createLogger(config.logLevel, undefined, { component: 'worker' });
  logger.info('settings', {
    ...effectiveSettings(config, process.env, localStackEnv),
    localStackFile: localStackNote(localStackEnv),
  });
  const forgotten = forgottenSettings(process.env, localStackEnv);
  if (forgotten.length > 0) {
    logger.warn('connection settings left at their local-stack defaults while others are set', { forgotten });
  }
  installRuntime(logger, config.logLevel, config.metricsAddress);
  const metrics = config.metricsAddress ? meterMetrics(Runtime.instance().metricMeter, config.kafka.client) : undefined;
  const tracing = startTracing(config.tracing);
  const app = createApp(config, { logger, ...(metrics ? { metrics } : {}) });
  let connection: NativeConnection | undefined;
  try {
    // A backend that cannot run here (librdkafka not built) stops the worker now, not every run.
    await app.producer.ready();
    connection = await NativeConnection.connect({
      address: config.temporal.address,
      tls: temporalTls(config.temporal),
    });
    // Ctrl-C (or SIGTERM) starts the SDK's shutdown; a following relay's segment ends at its next
    // batch boundary instead of running on until the grace time cancels it.
    const stopping = new AbortController();
    for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => stopping.abort());
    const deps = activityDeps(app, { stopping: stopping.signal });
    const activities = createActivities(options.decorateActivities?.(deps, logger) ?? deps);
    const worker = await createWorker(config, connection, activities, tracing);
    logger.info('worker ready', {
      workflowBundle: config.temporal.workflowBundle ?? 'bundled at start',
      kafkaClient: app.producer.client,
      metrics: config.metricsAddress ? `http://${config.metricsAddress}/metrics` : 'off',
      tracing: tracing.enabled ? 'on (OTEL_* settings)' : 'off',
      // V8's heap limit (WORKER_HEAP_MB in the start scripts): without one, garbage grows the heap with the run.
      heapLimitMb: Math.round(getHeapStatistics().heap_size_limit / 1_048_576),
    });
    // The run ledger is read once now, so the first run does not pay for it (not fatal: runs retry).
    app.ledgers
      .get(config.kafka.runsTopic)
      .then((ledger) => ledger.warm())
      .catch((err: unknown) => logger.warn('the run ledger could not be read yet', { error: errorMessage(err) }));
    await worker.run(); // resolves once a shutdown signal has drained the worker
  } finally {
    await app.close();
    logger.info('kafka producer closed');
    await tracing
      .shutdown()
      .catch((err: unknown) => logger.warn('flushing spans failed', { error: errorMessage(err) }));
    await connection?.close();
  }
}

function createWorker(
  config: Config,
  connection: NativeConnection,
  activities: ReturnType<typeof createActivities>,
  tracing: Tracing,
): Promise<Worker> {
  return Worker.create({
    connection,
    namespace: config.temporal.namespace,
    taskQueue: config.temporal.taskQueue,
    ...(config.temporal.workflowBundle
      ? { workflowBundle: { codePath: config.temporal.workflowBundle } }
      : { workflowsPath: fileURLToPath(new URL('./workflows/index.ts', import.meta.url)) }),
    activities,
    ...tracingWorkerOptions(tracing, Boolean(config.temporal.workflowBundle)),
    shutdownGraceTime: '30s',
    // Heartbeats reach the server at least every 5 s (the SDK's default throttle is 80% of the
    // heartbeat timeout): the following relay's position and rate in the UI stay current.
    maxHeartbeatThrottleInterval: '5s',
    ...(config.temporal.maxConcurrentActivities
      ? { maxConcurrentActivityTaskExecutions: config.temporal.maxConcurrentActivities }
      : {}),
  });
}

// Run as a program (npm run worker), not when imported (test support's fault worker).
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  runWorker().catch((err: unknown) => {
    // A crash must be visible: one structured line and a non-zero exit code.
    process.stderr.write(
      `${JSON.stringify({ level: 'error', message: 'worker crashed', error: errorMessage(err) })}\n`,
    );
    process.exitCode = 1;
  });
}
