// Our metrics, recorded through the Temporal SDK's metric meter so that one Prometheus endpoint
// (the SDK's runtime telemetry, METRICS_ADDRESS) serves the SDK's worker metrics and ours. Names
// follow Prometheus conventions: counters end in _total (the exporter adds it), durations are
// histograms in seconds. Label `client` is the producer backend.
import type { MetricMeter } from '@temporalio/common';

export interface ProducerMetrics {
  /** Events acknowledged into the events topic by a committed run. */
  produced(events: number): void;
  deadLettered(events: number): void;
  runCommitted(): void;
  /** An attempt found its run in the run ledger and sent nothing. */
  runAlreadyCommitted(): void;
  transactionAborted(): void;
  /** One batch handed over (kafkajs: acknowledged; librdkafka: queued). */
  batchSent(seconds: number): void;
  committed(seconds: number): void;
  runDuration(seconds: number): void;
  /** A cached secret dropped and read again after a refused login. */
  secretReread(secret: 'kafka' | 'registry' | 'postgres'): void;
  /** After a cursor source's run: the age of its oldest event still waiting, in seconds. */
  sourceLag(source: string, seconds: number): void;
  /** A cursor source's retained WAL: the bytes its replication slot keeps the server from removing. */
  sourceRetainedWal(source: string, bytes: number): void;
  /** A following relay's lag in WAL: from its last committed position to the server's WAL end (bytes). */
  sourceLagWal(source: string, bytes: number): void;
}

export const noMetrics: ProducerMetrics = {
  produced: () => undefined,
  deadLettered: () => undefined,
  runCommitted: () => undefined,
  runAlreadyCommitted: () => undefined,
  transactionAborted: () => undefined,
  batchSent: () => undefined,
  committed: () => undefined,
  runDuration: () => undefined,
  secretReread: () => undefined,
  sourceLag: () => undefined,
  sourceRetainedWal: () => undefined,
  sourceLagWal: () => undefined,
};

export function meterMetrics(meter: MetricMeter, client: string): ProducerMetrics {
  const tags = { client };
  const counter = (name: string, description: string) => meter.createCounter(name, '', description);
  const seconds = (name: string, description: string) =>
    meter.createHistogram(`${name}_seconds`, 'float', '', `${description} (seconds)`);
  const produced = counter('order_events_produced', 'Events committed to the events topic');
  const deadLettered = counter('order_events_dead_lettered', 'Events committed to the dead-letter topic');
  const runs = counter('order_events_runs', 'Runs by outcome: committed, or already committed (sent nothing)');
  const aborted = counter('order_events_transactions_aborted', 'Kafka transactions aborted (a failed or fenced try)');
  const rereads = counter('order_events_secret_rereads', 'Secrets read again after a refused login (rotation)');
  const batch = seconds('order_events_batch_send_duration', 'Time to hand one batch to the client');
  const commit = seconds('order_events_commit_duration', 'Time to commit a Kafka transaction');
  const run = seconds(
    'order_events_run_duration',
    'Time from a run starting in the engine (schema and partition lookups included) to its outcome',
  );
  const lag = meter.createGauge(
    'order_events_source_lag_seconds',
    'float',
    '',
    "Age of a cursor source's oldest event not yet published, after its last run (seconds)",
  );
  const retained = meter.createGauge(
    'order_events_source_retained_wal_bytes',
    'int',
    'By',
    "WAL a cursor source's replication slot keeps on the server, from its restart position (bytes)",
  );
  const lagWal = meter.createGauge(
    'order_events_source_lag_wal_bytes',
    'int',
    'By',
    "WAL a following relay has not yet published: from its last committed position to the server's end (bytes)",
  );
  return {
    produced: (n) => n > 0 && produced.add(n, tags),
    deadLettered: (n) => n > 0 && deadLettered.add(n, tags),
    runCommitted: () => runs.add(1, { ...tags, outcome: 'committed' }),
    runAlreadyCommitted: () => runs.add(1, { ...tags, outcome: 'already_committed' }),
    transactionAborted: () => aborted.add(1, tags),
    batchSent: (s) => batch.record(s, tags),
    committed: (s) => commit.record(s, tags),
    runDuration: (s) => run.record(s, tags),
    secretReread: (secret) => rereads.add(1, { secret }),
    sourceLag: (source, s) => lag.set(s, { ...tags, source }),
    sourceRetainedWal: (source, bytes) => retained.set(bytes, { ...tags, source }),
    sourceLagWal: (source, bytes) => lagWal.set(bytes, { ...tags, source }),
  };
}
