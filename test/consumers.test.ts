// Our events decode in the consumer stacks users pick, without special settings, and give the
// exact order ids: a Node consumer with avsc's default types (as @kafkajs/confluent-schema-registry
// decodes), JSON.parse of the decoded event, and a Python consumer with confluent-kafka's
// AvroDeserializer. Each reads a run's events from the real broker (read_committed) and registry.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { after, test } from 'node:test';
import avro from 'avsc';
import type { App } from '../src/app.ts';
import { readTopic } from '../src/kafka/read-topic.ts';
import { readWireFormat } from '../src/schema/wire-format.ts';
import { asRun, createTopicsFor, testApp, testConfig } from './support/app.ts';
import { describeEachKafkaClient } from './support/kafka-clients.ts';
import { plaintextBrokers, plaintextKafka, readSecretJson, required, uniqueName } from './support/services.ts';

const run = promisify(execFile);
const EVENTS = 50;
const apps: App[] = [];
after(async () => {
  await Promise.allSettled(apps.map((a) => a.close()));
});

/** One scheduled-style run of the generator through the real engine; its expected order ids, as decimal text. */
async function producedRun(): Promise<{ app: App; ids: string[] }> {
  const config = testConfig();
  await createTopicsFor(config);
  const app = testApp(config);
  apps.push(app);
  const outcome = await app.engine.produceRun(
    asRun({
      identity: { origin: { schedule: 'produce-order-events' }, nominalTimeMs: Date.parse('2026-12-02T15:05:00Z') },
      params: { eventCount: EVENTS },
      events: (first) =>
        Array.from({ length: EVENTS }, (_, i) => ({
          order_id: first + BigInt(i),
          customer_id: `cust_${i}`,
          order_status: 'CREATED',
          order_total: 10.5,
          created_at: Date.now(),
        })),
      run: { workflowId: uniqueName('wf-consumers'), runId: 'run', attempt: 1 },
      transactionTimeoutMs: 60_000,
    }),
  );
  assert.equal(outcome.status, 'produced');
  const first = BigInt(outcome.firstOrderId ?? -1);
  return { app, ids: Array.from({ length: EVENTS }, (_, i) => String(first + BigInt(i))) };
}

describeEachKafkaClient('consumers decode our events and get the exact order ids', () => {
  test('Node: avsc with its default types, and JSON.parse of the decoded event', async () => {
    const { app, ids } = await producedRun();
    const records = await readTopic(plaintextKafka(), app.config.kafka.topic);
    assert.equal(records.length, EVENTS);
    const types = new Map<number, avro.Type>();
    const decoded: string[] = [];
    for (const r of records) {
      const { schemaId, body } = readWireFormat(r.value!);
      if (!types.has(schemaId)) {
        types.set(schemaId, avro.Type.forSchema(JSON.parse(await app.registry.schemaById(schemaId)) as avro.Schema));
      }
      // avsc's default long throws "potential precision loss" above 2^53: this decode is what fails on larger ids.
      const event = types.get(schemaId)!.fromBuffer(body) as { order_id: number };
      assert.equal(typeof event.order_id, 'number');
      assert.ok(Number.isSafeInteger(event.order_id), `${event.order_id}`);
      const viaJson = JSON.parse(JSON.stringify(event)) as { order_id: number };
      assert.equal(String(viaJson.order_id), String(event.order_id), 'JSON keeps the id exact');
      assert.equal(r.key?.toString(), String(event.order_id), 'the key is the id');
      decoded.push(String(event.order_id));
    }
    assert.deepEqual(decoded.sort(), [...ids].sort());
  });

  test("Python: confluent-kafka's Consumer with its AvroDeserializer", async () => {
    const { app, ids } = await producedRun();
    const { url } = await readSecretJson('confluent/schema-registry');
    const { stdout } = await run(
      required('STACK_PYTHON_KAFKA'),
      [
        'test/support/avro_consumer.py',
        '--bootstrap',
        plaintextBrokers().join(','),
        '--registry',
        url!,
        '--topic',
        app.config.kafka.topic,
        '--count',
        String(EVENTS),
      ],
      { timeout: 120_000 },
    );
    // The ids as Python printed them (digits, exact), compared as text: no JavaScript number in between.
    const lines = stdout.trim().split('\n');
    const decoded = lines.map((l) => /"order_id": (\d+)/.exec(l)?.[1]);
    assert.equal(decoded.length, EVENTS);
    assert.deepEqual([...decoded].sort(), [...ids].sort());
    for (const l of lines) {
      const { order_id, key } = JSON.parse(l) as { order_id: number; key: string };
      assert.equal(String(order_id), key, 'JSON.parse of the consumer output gives the exact id');
    }
  });
});
