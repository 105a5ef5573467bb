// Our metrics (src/telemetry/metrics.ts) through a fake Temporal metric meter: names, kinds and units
// as Prometheus will show them, the `client` label, and noMetrics doing nothing for every metric.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { MetricMeter } from '@temporalio/common';
import { meterMetrics, noMetrics, type ProducerMetrics } from '../src/telemetry/metrics.ts';

function fakeMeter() {
  const defined: string[] = [];
  const recorded: [string, number, Record<string, unknown>][] = [];
  const metric = (kind: string, name: string, valueType: string, unit: string | undefined) => {
    defined.push(`${kind} ${name} ${valueType} ${unit || '-'}`);
    const note = (value: number, tags: Record<string, unknown> = {}) => void recorded.push([name, value, tags]);
    return { add: note, record: note, set: note };
  };
  const meter = {
    createCounter: (name: string, unit?: string) => metric('counter', name, 'int', unit),
    createHistogram: (name: string, valueType = 'int', unit?: string) => metric('histogram', name, valueType, unit),
    createGauge: (name: string, valueType = 'int', unit?: string) => metric('gauge', name, valueType, unit),
  } as unknown as MetricMeter;
  return { meter, defined, recorded };
}

test('the metrics Prometheus shows: counters, histograms in seconds, gauges with their units', () => {
  const { meter, defined } = fakeMeter();
  meterMetrics(meter, 'kafkajs');
  assert.deepEqual(defined.sort(), [
    'counter order_events_dead_lettered int -',
    'counter order_events_produced int -',
    'counter order_events_runs int -',
    'counter order_events_secret_rereads int -',
    'counter order_events_transactions_aborted int -',
    'gauge order_events_source_lag_seconds float -',
    'gauge order_events_source_lag_wal_bytes int By',
    'gauge order_events_source_retained_wal_bytes int By',
    'histogram order_events_batch_send_duration_seconds float -',
    'histogram order_events_commit_duration_seconds float -',
    'histogram order_events_run_duration_seconds float -',
  ]);
});

test('every value carries the client; runs by outcome; sources by name; nothing recorded for zero events', () => {
  const { meter, recorded } = fakeMeter();
  const metrics = meterMetrics(meter, 'librdkafka');
  metrics.produced(0);
  metrics.deadLettered(0);
  metrics.produced(5);
  metrics.deadLettered(2);
  metrics.runCommitted();
  metrics.runAlreadyCommitted();
  metrics.transactionAborted();
  metrics.batchSent(0.25);
  metrics.committed(0.5);
  metrics.runDuration(1.5);
  metrics.sourceLag('outbox:o', 3);
  metrics.sourceRetainedWal('outbox:o', 4096);
  metrics.sourceLagWal('outbox:o', 512);
  metrics.secretReread('registry');
  const client = { client: 'librdkafka' };
  assert.deepEqual(recorded, [
    ['order_events_produced', 5, client],
    ['order_events_dead_lettered', 2, client],
    ['order_events_runs', 1, { ...client, outcome: 'committed' }],
    ['order_events_runs', 1, { ...client, outcome: 'already_committed' }],
    ['order_events_transactions_aborted', 1, client],
    ['order_events_batch_send_duration_seconds', 0.25, client],
    ['order_events_commit_duration_seconds', 0.5, client],
    ['order_events_run_duration_seconds', 1.5, client],
    ['order_events_source_lag_seconds', 3, { ...client, source: 'outbox:o' }],
    ['order_events_source_retained_wal_bytes', 4096, { ...client, source: 'outbox:o' }],
    ['order_events_source_lag_wal_bytes', 512, { ...client, source: 'outbox:o' }],
    ['order_events_secret_rereads', 1, { secret: 'registry' }],
  ]);
});

test('noMetrics has every metric, and each does nothing', () => {
  const real = meterMetrics(fakeMeter().meter, 'kafkajs');
  assert.deepEqual(Object.keys(noMetrics).sort(), Object.keys(real).sort());
  for (const [name, record] of Object.entries(noMetrics) as [
    keyof ProducerMetrics,
    (...args: unknown[]) => unknown,
  ][]) {
    assert.equal(record('x', 1), undefined, name);
  }
});
