// Failover on the three-broker cluster (STACK_KAFKA_BROKERS=3 npm run stack:up; run with
// `npm run test:failover`): partition leaders and the transaction coordinator move when a broker
// dies. Each scenario counts the run's events with a read_committed consumer: every event
// exactly once, or none for a run that fails. Brokers are killed by their recorded pids and
// brought back with the stack's own `up`.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { after, before, test } from 'node:test';
import type { Client, WorkflowHandle } from '@temporalio/client';
import { runTransactionalId } from '../../src/run-ledger/index.ts';
import type { OrderEvent } from '../../src/schema/order-event.ts';
import { readDecoded } from '../support/app.ts';
import { createFaultKit, failuresIn, midSend } from '../support/fault-kit.ts';
import { describeEachKafkaClient, type KafkaClient } from '../support/kafka-clients.ts';
import { kafkaLibs, plaintextBrokers, plaintextKafka, stackPid } from '../support/services.ts';
import { temporalClient } from '../support/worker.ts';

const run = promisify(execFile);
const BROKERS = [1, 2, 3] as const;

let client: Client;
let kit: ReturnType<typeof createFaultKit>;
type Scenario = Awaited<ReturnType<typeof kit.scenario>>;
before(async () => {
  assert.equal(
    process.env['STACK_KAFKA_BROKERS'],
    '3',
    'the failover suite needs the three-broker cluster: run it with "npm run test:failover"',
  );
  client = await temporalClient();
  kit = createFaultKit(client, 'artifacts/failover-suite.json');
});
after(async () => {
  await bringBack();
  await kit?.close();
  await client?.connection.close();
});

const kill = (node: number, signal: NodeJS.Signals = 'SIGKILL') => process.kill(stackPid(`kafka-${node}`), signal);
/** Restarts every broker that is not running and waits until each answers (the stack's own `up`). */
const bringBack = () => run('bash', ['stack/stack.sh', 'up'], { timeout: 240_000 });

async function waitExit(pid: number): Promise<void> {
  for (let i = 0; i < 600; i++) {
    try {
      process.kill(pid, 0);
    } catch {
      return;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`pid ${pid} did not exit`);
}

/** Partition leaders of a topic, by partition. */
async function leaders(topic: string): Promise<Map<number, number>> {
  const admin = plaintextKafka().admin();
  await admin.connect();
  try {
    const { topics } = await admin.fetchTopicMetadata({ topics: [topic] });
    return new Map(topics[0]!.partitions.map((p) => [p.partitionId, p.leader]));
  } finally {
    await admin.disconnect();
  }
}

/** Waits until every partition of the topics has all three replicas in sync again. */
async function fullyInSync(topics: string[]): Promise<void> {
  const admin = plaintextKafka().admin();
  await admin.connect();
  try {
    for (let i = 0; i < 300; i++) {
      const meta = await admin.fetchTopicMetadata({ topics });
      if (meta.topics.every((t) => t.partitions.every((p) => p.isr.length === 3))) return;
      await new Promise((r) => setTimeout(r, 200));
    }
    throw new Error(`replicas of ${topics.join(', ')} did not get back in sync`);
  } finally {
    await admin.disconnect();
  }
}

/**
 * Moves leadership back to the preferred replicas with every broker up: Kafka's own Admin API
 * election (kafka-leader-election.sh), as an operator or auto.leader.rebalance does.
 */
async function preferredElection(): Promise<void> {
  await run(
    'java',
    ['-cp', `${kafkaLibs()}/*`, 'org.apache.kafka.tools.LeaderElectionCommand', '--bootstrap-server'].concat([
      plaintextBrokers().join(','),
      '--election-type',
      'PREFERRED',
      '--all-topic-partitions',
    ]),
    { timeout: 60_000 },
  ).catch((err: { code?: number; stdout?: string }) => {
    // It exits 1 when some partitions already had their preferred leader: fine, as long as it ran.
    if (!/Successfully completed|already/i.test(err.stdout ?? '')) throw err;
  });
}

/** Partitions whose leader is not their preferred (first) replica. */
async function notOnPreferred(topics: string[]): Promise<string[]> {
  const admin = plaintextKafka().admin();
  await admin.connect();
  try {
    const { topics: meta } = await admin.fetchTopicMetadata({ topics });
    return meta.flatMap((t) =>
      t.partitions.filter((p) => p.leader !== p.replicas[0]).map((p) => `${t.name}:${p.partitionId}`),
    );
  } finally {
    await admin.disconnect();
  }
}

/** Java's String.hashCode, as Kafka uses it to place a transactional id on __transaction_state. */
function javaHash(s: string): number {
  let h = 0;
  for (let i = 0; i < s.length; i++) h = (Math.imul(31, h) + s.charCodeAt(i)) | 0;
  return h;
}

/** The broker coordinating a transactional id: the leader of its __transaction_state partition. */
async function coordinatorOf(transactionalId: string): Promise<number> {
  const states = await leaders('__transaction_state');
  const partition = (javaHash(transactionalId) & 0x7fffffff) % states.size;
  return states.get(partition)!;
}

/** Run sizes per backend: long enough that the faults strike mid-send (librdkafka is about ten times faster). */
const SIZES: Record<KafkaClient, { midRun: number; rolling: number }> = {
  kafkajs: { midRun: 40_000, rolling: 200_000 },
  librdkafka: { midRun: 200_000, rolling: 400_000 },
};

describeEachKafkaClient('failover on a three-broker cluster (replication 3, min.insync.replicas 2)', (kafkaClient) => {
  const sizes = SIZES[kafkaClient];
  const tally = (name: string, ...rest: Parameters<typeof kit.tally> extends [string, ...infer R] ? R : never) =>
    kit.tally(`${name} [${kafkaClient}]`, ...rest);

  /** A large run whose `victim` broker is killed -9 once it is mid-send, restarted after the result. */
  async function killMidRun(what: string, victimOf: (s: Scenario, handle: WorkflowHandle) => Promise<number>) {
    const s = await kit.scenario();
    const w = await s.worker();
    const handle = await s.start(sizes.midRun);
    await midSend(s.config);
    const victim = await victimOf(s, handle);
    kill(victim);
    const killedAt = Date.now();
    const summary = await handle.result();
    const recoverMs = Date.now() - killedAt;
    await bringBack();
    await tally(`${what} (broker ${victim}) killed -9 mid-run`, s.app, summary, recoverMs, failuresIn(w.output()));
  }

  test('the leader of a partition the run writes to killed -9 mid-run, restarted later', () =>
    killMidRun('partition leader', async (s) => (await leaders(s.config.kafka.topic)).get(0)!));

  test("the broker that is the run's transaction coordinator killed -9 mid-run", () =>
    killMidRun('transaction coordinator', async (s, handle) => {
      const nominal = (await handle.describe()).startTime.getTime();
      const origin = { workflow: handle.workflowId };
      return coordinatorOf(runTransactionalId({ topic: s.config.kafka.topic, origin, nominalTimeMs: nominal }));
    }));

  test('leadership moved back to the preferred replicas between two runs (every broker up): the warm worker runs the next on its first attempt', async () => {
    // One ledger partition, so the next run's check asks the partition whose leader moves.
    const s = await kit.scenario({ KAFKA_RUNS_PARTITIONS: '1' });
    const w = await s.worker();
    const topics = [s.config.kafka.topic, s.config.kafka.dlqTopic, s.config.kafka.runsTopic];
    // Leadership moves off the ledger's leader (a controlled shutdown); it comes back as a follower.
    const victim = (await leaders(s.config.kafka.runsTopic)).get(0)!;
    const pid = stackPid(`kafka-${victim}`);
    kill(victim, 'SIGTERM');
    await waitExit(pid);
    await bringBack();
    await fullyInSync(topics);
    assert.notEqual((await leaders(s.config.kafka.runsTopic)).get(0), victim, 'the ledger is led elsewhere now');
    // A run now leaves the worker warm with that leader in its metadata (ledger read, offsets asked).
    const first = await (await s.start(1_000)).result();
    // Then an election hands the partitions back to their preferred leaders: no process stops.
    await preferredElection();
    assert.deepEqual(await notOnPreferred(topics), [], 'every partition is back on its preferred leader');
    assert.equal((await leaders(s.config.kafka.runsTopic)).get(0), victim);
    const before = failuresIn(w.output()).length;
    const started = Date.now();
    const summary = await (await s.start(1_000)).result();
    const failures = failuresIn(w.output()).slice(before);
    assert.deepEqual(failures, [], `the run needed no restart and no second attempt (${Date.now() - started} ms)`);
    // Both runs, each event once (read_committed).
    const seen = (await readDecoded<OrderEvent>(s.app, s.config.kafka.topic)).map((r) => BigInt(r.decoded.order_id));
    assert.equal(seen.length, 2_000);
    assert.equal(new Set(seen).size, 2_000);
    for (const run of [first, summary]) {
      const from = BigInt(run.firstOrderId);
      assert.equal(seen.filter((id) => id >= from && id < from + 1_000n).length, 1_000);
    }
  });

  test('one broker down for the whole run: the run succeeds with two in sync', async () => {
    const s = await kit.scenario();
    const w = await s.worker();
    kill(3);
    await waitExit(stackPid('kafka-3'));
    const started = Date.now();
    try {
      const summary = await (await s.start(20_000)).result();
      assert.equal(summary.acknowledged, 20_000);
      await tally('one broker down for the whole run', s.app, summary, Date.now() - started, failuresIn(w.output()));
    } finally {
      await bringBack();
    }
  });

  test('two brokers down: attempts fail retryably with nothing visible; the run succeeds once they are back', async () => {
    const s = await kit.scenario();
    const w = await s.worker();
    await fullyInSync([s.config.kafka.topic, s.config.kafka.runsTopic]);
    kill(2);
    kill(3);
    await waitExit(stackPid('kafka-3'));
    const handle = await s.start(2_000);
    let failure;
    for (let i = 0; i < 300 && !failure; i++) {
      failure = (await handle.describe()).raw.pendingActivities?.[0]?.lastFailure;
      if (!failure) await new Promise((r) => setTimeout(r, 100));
    }
    assert.ok(failure, 'an attempt failed while two brokers were down');
    assert.equal(failure.applicationFailureInfo?.nonRetryable ?? false, false, 'the failure is retryable');
    const backAt = Date.now();
    await bringBack();
    const summary = await handle.result();
    await tally(
      'two brokers down, back within the retry window',
      s.app,
      summary,
      Date.now() - backAt,
      failuresIn(w.output()),
    );
  });

  test('a rolling restart of every broker during a large run', async () => {
    const s = await kit.scenario({ KAFKA_BATCH_MAX_MESSAGES: '500' });
    const w = await s.worker();
    const topics = [s.config.kafka.topic, s.config.kafka.dlqTopic, s.config.kafka.runsTopic];
    const handle = await s.start(sizes.rolling);
    await midSend(s.config);
    const started = Date.now();
    for (const node of BROKERS) {
      const pid = stackPid(`kafka-${node}`);
      kill(node, 'SIGTERM'); // a controlled shutdown: leadership moves off the broker first
      await waitExit(pid);
      await bringBack();
      await fullyInSync(topics);
    }
    const summary = await handle.result();
    await tally('rolling restart of all three brokers', s.app, summary, Date.now() - started, failuresIn(w.output()));
  });
});
