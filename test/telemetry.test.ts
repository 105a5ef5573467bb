// Metrics and traces from a real worker process after a real run: the Prometheus endpoint
// (METRICS_ADDRESS) shows the SDK's worker metrics and ours moved by exactly the run's numbers;
// with the OTLP exporter pointed at a receiver in this test, each record's `traceparent` carries
// the trace id of its run's activity span.
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import type { Client } from '@temporalio/client';
import type { RunSummary } from '../src/activities/types.ts';
import { readTopic } from '../src/kafka/read-topic.ts';
import { createTopicsFor, testConfig } from './support/app.ts';
import { insertMany, newOutbox, range } from './support/outbox.ts';
import { freePort, plaintextKafka, uniqueName } from './support/services.ts';
import { temporalClient } from './support/worker.ts';
import { startWorkerProcess, type WorkerProcess } from './support/worker-process.ts';

let client: Client;
const workers: WorkerProcess[] = [];
before(async () => {
  client = await temporalClient();
});
after(async () => {
  await Promise.allSettled(workers.map((w) => w.stop()));
  await client?.connection.close();
});

/** A run of `eventCount` events on a fresh worker process with `env`, on this test's topics. */
async function runOn(env: Record<string, string>, eventCount: number, configEnv: Record<string, string> = {}) {
  const config = testConfig(configEnv);
  await createTopicsFor(config);
  const taskQueue = uniqueName('tq-telemetry');
  const worker = await startWorkerProcess(config, taskQueue, env);
  workers.push(worker);
  const summary = (await client.workflow.execute('produceOrderEventsWorkflow', {
    taskQueue,
    workflowId: uniqueName('wf-telemetry'),
    args: [{ eventCount }],
  })) as RunSummary;
  return { config, worker, summary };
}

/** The value of the series `name` whose labels include every one of `labels`, or undefined. */
function sample(metrics: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of metrics.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    const wanted = Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`));
    if (wanted) return Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return undefined;
}

test('the Prometheus endpoint serves the SDK worker metrics and ours, moved by exactly the run', async () => {
  const address = `127.0.0.1:${await freePort()}`;
  const { summary, worker } = await runOn({ METRICS_ADDRESS: address }, 7);
  assert.equal(summary.acknowledged, 7);
  const metrics = await (await fetch(`http://${address}/metrics`)).text();
  const client = { client: 'kafkajs' };
  assert.equal(sample(metrics, 'order_events_produced_total', client), 7, metrics.slice(0, 2000));
  assert.equal(sample(metrics, 'order_events_runs_total', { ...client, outcome: 'committed' }), 1);
  assert.equal(sample(metrics, 'order_events_dead_lettered_total', client), undefined, 'nothing dead-lettered');
  assert.equal(sample(metrics, 'order_events_transactions_aborted_total', client), undefined);
  assert.equal(sample(metrics, 'order_events_commit_duration_seconds_count', client), 1);
  assert.ok((sample(metrics, 'order_events_batch_send_duration_seconds_count', client) ?? 0) >= 1);
  assert.equal(sample(metrics, 'order_events_run_duration_seconds_count', client), 1);
  // The SDK's own worker metrics on the same endpoint.
  assert.ok(
    (sample(metrics, 'temporal_activity_execution_latency_seconds_count', { activity_type: 'produceEvents' }) ?? 0) >=
      1,
    'the SDK counts the activity execution',
  );
  assert.match(worker.output(), new RegExp(`"metrics":"http://${address.replace(/\./g, '\\.')}/metrics"`));
});

test('an outbox run sets order_events_source_lag_seconds: the age of the rows it left waiting', async () => {
  const address = `127.0.0.1:${await freePort()}`;
  const outbox = await newOutbox();
  await insertMany(outbox.table, range(1, 12));
  const { summary } = await runOn({ METRICS_ADDRESS: address, ...outbox.env }, 5, outbox.env);
  assert.equal(summary.acknowledged, 5);
  assert.ok(summary.source && summary.source.lagSeconds !== null && summary.source.lagSeconds > 0, 'rows wait');
  assert.match(summary.summary, /; outbox:ob_\w+ start → [0-9A-F]+\/[0-9A-F]+\+5, lag [\d.]+ s$/);
  const metrics = await (await fetch(`http://${address}/metrics`)).text();
  const lag = sample(metrics, 'order_events_source_lag_seconds', { source: `outbox:${outbox.env['OUTBOX_TABLE']}` });
  assert.ok(lag !== undefined && lag > 0 && lag < 600, `lag ${lag}: ${metrics.slice(0, 1000)}`);
  assert.equal(sample(metrics, 'order_events_produced_total', { client: 'kafkajs' }), 5);
});

interface OtlpSpan {
  traceId: string;
  spanId: string;
  name: string;
}

test("each record's traceparent carries the trace id of its run's activity span (OTLP export)", async () => {
  const spans: OtlpSpan[] = [];
  const receiver: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (d: Buffer) => (body += d.toString()));
    req.on('end', () => {
      const json = JSON.parse(body) as {
        resourceSpans?: { scopeSpans?: { spans?: OtlpSpan[] }[] }[];
      };
      for (const rs of json.resourceSpans ?? []) for (const ss of rs.scopeSpans ?? []) spans.push(...(ss.spans ?? []));
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
  try {
    const { port } = receiver.address() as AddressInfo;
    const { config, summary } = await runOn(
      {
        OTEL_TRACES_EXPORTER: 'otlp',
        OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
        OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${port}`,
        OTEL_BSP_SCHEDULE_DELAY: '100',
      },
      5,
    );
    assert.equal(summary.acknowledged, 5);
    const records = await readTopic(plaintextKafka(), config.kafka.topic);
    assert.equal(records.length, 5);
    const parents = new Set(records.map((r) => r.headers['traceparent']));
    assert.equal(parents.size, 1, "the run's records share its transaction span");
    const traceparent = [...parents][0];
    const m = /^00-([0-9a-f]{32})-([0-9a-f]{16})-0[01]$/.exec(traceparent ?? '');
    assert.ok(m, `a W3C traceparent, got ${traceparent}`);
    const traceId = m[1]!;
    // Spans arrive in batches: wait for the activity's and the transaction's.
    let activity: OtlpSpan | undefined;
    let transaction: OtlpSpan | undefined;
    for (let i = 0; i < 100 && !(activity && transaction); i++) {
      activity = spans.find((s) => s.traceId === traceId && s.name.startsWith('RunActivity'));
      transaction = spans.find((s) => s.traceId === traceId && s.name === 'kafka.transaction');
      if (!(activity && transaction)) await new Promise((r) => setTimeout(r, 100));
    }
    assert.ok(activity, `no activity span with trace id ${traceId} among ${spans.map((s) => s.name).join(', ')}`);
    assert.ok(transaction, 'the transaction span is in the same trace');
    assert.equal(transaction.spanId, m[2], 'traceparent names the transaction span');
    const names = new Set(spans.filter((s) => s.traceId === traceId).map((s) => s.name));
    for (const name of ['secretsmanager.GetSecretValue', 'schema_registry.schema_id']) {
      assert.ok(names.has(name), `${name} span in the run's trace (got ${[...names].join(', ')})`);
    }
  } finally {
    await new Promise((r) => receiver.close(r));
  }
});
