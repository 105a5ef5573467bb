// Failover on the three-broker cluster (STACK_KAFKA_BROKERS=3 npm run stack:up; run with
// `npm run test:failover`): partition leaders and the transaction coordinator move when a broker
// dies. Each scenario counts the run's events with a read_committed consumer: every event
// exactly once, or none for a run that fails. Brokers are killed by their recorded pids and
// brought back with the stack's own `up`.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { after, afterEach, before, test } from 'node:test';
import type { Client, WorkflowHandle } from '@temporalio/client';
import { runTransactionalId } from '../../src/run-ledger/index.ts';
import type { RunSummary } from '../../src/activities/types.ts';
import { attemptsOf, createFaultKit, failuresIn, midSend } from '../support/fault-kit.ts';
import { describeEachKafkaClient, type KafkaClient } from '../support/kafka-clients.ts';
import { createHighWatermarks } from '../../src/kafka/high-watermarks.ts';
import { kafkaLibs, plaintextBrokers, plaintextKafka, required, stackPid } from '../support/services.ts';
import { networkFaults } from '../support/network-faults.ts';
import { temporalClient } from '../support/worker.ts';
import type { WorkerProcess } from '../support/worker-process.ts';

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
afterEach(() => kit?.release());
after(async () => {
  await networkFaults.reset().catch(() => undefined);
  await bringBack();
  await kit?.close();
  await client?.connection.close();
});

/**
 * The product's own timeouts (src/config.ts defaults) rather than the suite's short ones, for the
 * network scenarios: production meets latency and partitions with these.
 */
const PRODUCT_TIMEOUTS = {
  ACTIVITY_HEARTBEAT_TIMEOUT_MS: '60000',
  ACTIVITY_START_TO_CLOSE_TIMEOUT_MS: '600000',
  KAFKA_CONNECTION_TIMEOUT_MS: '5000',
  KAFKA_REQUEST_TIMEOUT_MS: '20000',
  KAFKA_SEND_TIMEOUT_MS: '25000',
  KAFKA_LEDGER_TIMEOUT_MS: '15000',
};
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Leadership moves off `victim` (a controlled shutdown) and stays away once it is back in sync. */
async function moveLeadershipOff(victim: number, topics: string[]): Promise<void> {
  const pid = stackPid(`kafka-${victim}`);
  kill(victim, 'SIGTERM');
  await waitExit(pid);
  await bringBack();
  await fullyInSync(topics);
}

/** The sum of the read_uncommitted ends of `topic`'s partitions. */
async function endSum(topic: string): Promise<number> {
  const marks = createHighWatermarks(plaintextKafka());
  try {
    return [...(await marks.ends(topic)).values()].reduce((a, b) => a + b, 0);
  } finally {
    await marks.close();
  }
}

/** Waits until the read_uncommitted end of `topic` passes `than` (records written, not yet committed). */
async function endPasses(topic: string, than: number, timeoutMs = 60_000): Promise<void> {
  const marks = createHighWatermarks(plaintextKafka());
  try {
    for (const deadline = Date.now() + timeoutMs; Date.now() < deadline;) {
      const ends = await marks.ends(topic);
      if ([...ends.values()].reduce((a, b) => a + b, 0) > than) return;
      await sleep(5);
    }
    throw new Error(`nothing was written to ${topic}`);
  } finally {
    await marks.close();
  }
}

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
async function preferredElection(topics: string[]): Promise<void> {
  // One topic's partitions (its JSON file), or every partition of the cluster.
  const scope =
    topics.length === 1
      ? ['--path-to-json-file', partitionsFile(topics[0]!, await partitionsOf(topics[0]!))]
      : ['--all-topic-partitions'];
  await run(
    'java',
    ['-cp', `${kafkaLibs()}/*`, 'org.apache.kafka.tools.LeaderElectionCommand', '--bootstrap-server'].concat([
      plaintextBrokers().join(','),
      '--election-type',
      'PREFERRED',
      ...scope,
    ]),
    { timeout: 60_000 },
  ).catch((err: { code?: number; stdout?: string }) => {
    // It exits 1 when some partitions already had their preferred leader: fine, as long as it ran.
    if (!/Successfully completed|already/i.test(err.stdout ?? '')) throw err;
  });
}

/**
 * Elects the preferred leaders until every partition of `topics` is led by its preferred replica
 * (a replica that just caught up may not be electable on the first try; metadata follows in ms).
 */
async function electPreferred(topics: string[]): Promise<void> {
  let left: string[] = [];
  for (let i = 0; i < 20; i++) {
    if (i % 5 === 0) await preferredElection(topics);
    left = await notOnPreferred(topics);
    if (left.length === 0) return;
    await new Promise((r) => setTimeout(r, 500));
  }
  assert.deepEqual(left, [], 'every partition is back on its preferred leader');
}

async function partitionsOf(topic: string): Promise<number[]> {
  return [...(await leaders(topic)).keys()];
}

/** The partitions file LeaderElectionCommand takes. */
function partitionsFile(topic: string, partitions: number[]): string {
  const file = join(tmpdir(), `${topic}-election.json`);
  writeFileSync(file, JSON.stringify({ partitions: partitions.map((partition) => ({ topic, partition })) }));
  return file;
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
const SIZES: Record<KafkaClient, { midRun: number; rolling: number; election: number }> = {
  // election: still sending when an election lands, about 2 s after the run started (a JVM start).
  kafkajs: { midRun: 40_000, rolling: 200_000, election: 200_000 },
  librdkafka: { midRun: 200_000, rolling: 400_000, election: 1_000_000 },
};

describeEachKafkaClient('failover on a three-broker cluster (replication 3, min.insync.replicas 2)', (kafkaClient) => {
  const sizes = SIZES[kafkaClient];
  /** Counts the run (read_committed) and records it in the table, with its attempts and the failures its workers logged. */
  const record = async (
    name: string,
    s: Scenario,
    handle: WorkflowHandle,
    summary: RunSummary,
    recoverMs: number,
    workers: WorkerProcess[],
    otherRuns: RunSummary[] = [],
  ) =>
    kit.tally(
      `${name} [${kafkaClient}]`,
      s.app,
      summary,
      recoverMs,
      workers.flatMap((w) => failuresIn(w.output())),
      await attemptsOf(handle),
      otherRuns,
    );

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
    await record(`${what} (broker ${victim}) killed -9 mid-run`, s, handle, summary, recoverMs, [w]);
  }

  test('the leader of a partition the run writes to killed -9 mid-run, restarted later', () =>
    killMidRun('partition leader', async (s) => (await leaders(s.config.kafka.topic)).get(0)!));

  test("the broker that is the run's transaction coordinator killed -9 mid-run", () =>
    killMidRun('transaction coordinator', async (s, handle) => {
      const nominal = (await handle.describe()).startTime.getTime();
      const origin = { workflow: handle.workflowId };
      return coordinatorOf(runTransactionalId({ topic: s.config.kafka.topic, origin, nominalTimeMs: nominal }));
    }));

  test('leadership moved back to the preferred replicas (every broker up), between two runs and mid-run: the warm worker runs the next on its first attempt; a run it lands in completes, exact', async () => {
    // One ledger partition, so the next run's check asks the partition whose leader moves.
    const s = await kit.scenario({ KAFKA_RUNS_PARTITIONS: '1' });
    const w = await s.worker();
    const topics = [s.config.kafka.topic, s.config.kafka.dlqTopic, s.config.kafka.runsTopic];
    // Leadership moves off the ledger's leader (a controlled shutdown); it comes back as a follower.
    const victim = (await leaders(s.config.kafka.runsTopic)).get(0)!;
    await moveLeadershipOff(victim, topics);
    assert.notEqual((await leaders(s.config.kafka.runsTopic)).get(0), victim, 'the ledger is led elsewhere now');
    assert.notDeepEqual(
      await notOnPreferred([s.config.kafka.topic]),
      [],
      'some event partitions are led elsewhere too',
    );
    // A run now leaves the worker warm with that leader in its metadata (ledger read, offsets asked).
    const first = await (await s.start(1_000)).result();
    // Between two runs, an election hands the ledger back to its preferred leader: no process stops.
    await electPreferred([s.config.kafka.runsTopic]);
    assert.equal((await leaders(s.config.kafka.runsTopic)).get(0), victim);
    const before = failuresIn(w.output()).length;
    const started = Date.now();
    const second = await (await s.start(1_000)).result();
    const failures = failuresIn(w.output()).slice(before);
    assert.deepEqual(failures, [], `the run needed no restart and no second attempt (${Date.now() - started} ms)`);
    // Mid-run, the event partitions still led elsewhere move back while a large run sends.
    const handle = await s.start(sizes.election);
    await midSend(s.config);
    const electedAt = Date.now();
    await electPreferred(topics);
    assert.equal((await handle.describe()).status.name, 'RUNNING', 'the election landed mid-run');
    const third = await handle.result();
    // Every run, each event once (read_committed).
    await record('preferred leaders elected mid-run', s, handle, third, Date.now() - electedAt, [w], [first, second]);
  });

  test('one broker down for a whole run (it succeeds with two in sync), then a second (attempts fail retryably, nothing visible; the run succeeds once they are back)', async () => {
    // Behind the proxy a dead broker resets connections instead of refusing them, so kafkajs's
    // attempts fail within seconds: six restarts per attempt (pauses of 0.25 s to 8 s) keep the run's
    // retry window longer than a broker restart. librdkafka's do not get that far: with two brokers
    // down the coordinator cannot finish the last attempt's abort and answers every InitProducerId
    // with CONCURRENT_TRANSACTIONS, which the engine never restarts inside an attempt, so the
    // client's own retries, bounded by KAFKA_SEND_TIMEOUT_MS, are what wait. At the fault kit's 3 s
    // its four attempts were spent in 28 s, before two brokers were back (one CI run); at 15 s, in
    // 55 s, while two brokers restarted on a machine running the other test lane too. 30 s here,
    // near the 25 s default. A metadata read or InitProducerId while brokers are down fails when the
    // client's retries run out (about 15 s with the default ten): a hundred let each run to its 30 s
    // request timeout. The topic-settings read does not retry a reset connection at all (kafkajs's
    // describeConfigs retries only NOT_CONTROLLER), so an attempt that meets a broker still starting
    // fails at once; this scenario then leans on the run's four attempts, and one fresh-clone run
    // passed on its fourth (librdkafka). The heartbeat timeout is twice the request timeout, as the
    // config requires.
    const s = await kit.scenario({
      KAFKA_TRANSACTION_RESTARTS: '6',
      KAFKA_RETRIES: '100',
      ACTIVITY_HEARTBEAT_TIMEOUT_MS: '60000',
      KAFKA_SEND_TIMEOUT_MS: '30000',
      KAFKA_REQUEST_TIMEOUT_MS: '30000',
    });
    const w = await s.worker();
    await fullyInSync([s.config.kafka.topic, s.config.kafka.runsTopic]);
    kill(3);
    await waitExit(stackPid('kafka-3'));
    try {
      const started = Date.now();
      const first = await s.start(20_000);
      const one = await first.result();
      assert.equal(one.acknowledged, 20_000);
      await record('one broker down for the whole run', s, first, one, Date.now() - started, [w]);
      // Then a second broker goes: too few replicas in sync for any write.
      kill(2);
      await waitExit(stackPid('kafka-2'));
      const handle = await s.start(2_000);
      let failure;
      // An attempt of timeouts may take 7 × 30 s and the pauses before its failure shows.
      for (let i = 0; i < 3600 && !failure; i++) {
        failure = (await handle.describe()).raw.pendingActivities?.[0]?.lastFailure;
        if (!failure) await new Promise((r) => setTimeout(r, 100));
      }
      assert.ok(failure, 'an attempt failed while two brokers were down');
      assert.equal(failure.applicationFailureInfo?.nonRetryable ?? false, false, 'the failure is retryable');
      const backAt = Date.now();
      await bringBack();
      const summary = await handle.result();
      await record(
        'two brokers down, back within the retry window',
        s,
        handle,
        summary,
        Date.now() - backAt,
        [w],
        [one],
      );
    } finally {
      await bringBack();
    }
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
    await record('rolling restart of all three brokers', s, handle, summary, Date.now() - started, [w]);
  });

  test('300 ms ± 100 ms of latency on every broker link for a whole run: completes, exact', async () => {
    const s = await kit.scenario({ ...PRODUCT_TIMEOUTS, KAFKA_BATCH_MAX_MESSAGES: '1000' });
    const w = await s.worker();
    for (const n of BROKERS) {
      await networkFaults.add(`kafka-${n}`, {
        name: 'latency',
        type: 'latency',
        stream: 'downstream',
        attributes: { latency: 300, jitter: 100 },
      });
    }
    const started = Date.now();
    try {
      const handle = await s.start(20_000);
      const summary = await handle.result();
      await record('300±100 ms latency on every broker link', s, handle, summary, Date.now() - started, [w]);
    } finally {
      await networkFaults.reset();
    }
  });

  test('the leader of a written partition black-holed for 70 s mid-run (a partition, not a crash): completes, exact', async () => {
    const s = await kit.scenario({ ...PRODUCT_TIMEOUTS, KAFKA_BATCH_MAX_MESSAGES: '1000' });
    const w = await s.worker();
    const handle = await s.start(sizes.midRun);
    await midSend(s.config);
    const victim = (await leaders(s.config.kafka.topic)).get(0)!;
    // Connections stay open and nothing answers, in either direction.
    await networkFaults.add(`kafka-${victim}`, { name: 'blackhole', type: 'timeout', attributes: { timeout: 0 } });
    try {
      await sleep(70_000);
    } finally {
      await networkFaults.reset();
    }
    const healedAt = Date.now();
    const summary = await handle.result();
    await record(`leader (broker ${victim}) black-holed 70 s`, s, handle, summary, Date.now() - healedAt, [w]);
  });

  /**
   * One try of the commit-reset scenario. The run's slot is known before it runs (its first workflow
   * task is held back), so its coordinator is too: requests to it are slowed by a second, and once
   * the worker logs that it commits, every connection to the coordinator is reset as its answer comes.
   */
  async function resetAtCommit() {
    const s = await kit.scenario({ ...PRODUCT_TIMEOUTS, LOG_LEVEL: 'debug' });
    const w = await s.worker({ LOG_LEVEL: 'debug' });
    const handle = await s.start(2_000, { startDelay: '2s' });
    const nominal = (await handle.describe()).startTime.getTime();
    const origin = { workflow: handle.workflowId };
    const coordinator = await coordinatorOf(
      runTransactionalId({ topic: s.config.kafka.topic, origin, nominalTimeMs: nominal }),
    );
    const proxy = `kafka-${coordinator}` as const;
    await networkFaults.add(proxy, {
      name: 'slow',
      type: 'latency',
      stream: 'upstream',
      attributes: { latency: 1000 },
    });
    let resetAt = 0;
    try {
      // The worker says it commits: its EndTxn is on its way, a second late. Its answer never arrives.
      await w.waitFor(/"message":"committing the Kafka transaction"/, 60_000);
      await networkFaults.add(proxy, {
        name: 'reset',
        type: 'reset_peer',
        stream: 'downstream',
        attributes: { timeout: 0 },
      });
      resetAt = Date.now();
      await sleep(3_000);
    } finally {
      await networkFaults.reset();
    }
    const summary = await handle.result();
    // The commit was held by the slowed coordinator (else the run's transaction had opened before the
    // slowdown, or its coordinator moved): its step took the second the reset needs.
    const commitMs = Number(/"stepsMs":\{[^}]*"commit":([\d.]+)/.exec(w.output())?.[1] ?? 0);
    return { s, w, handle, summary, coordinator, resetAt, caught: resetHitCommit(w.output()) && commitMs >= 500 };
  }

  /** How each client reports a reset connection to the coordinator in the worker's log. */
  const resetSeen =
    kafkaClient === 'kafkajs'
      ? /request to the transaction coordinator failed; retrying/
      : /reset by peer|Disconnected|Connection reset/i;

  /**
   * Whether the reset reached the commit, from the worker's own log order (the test reads that log
   * late on a loaded machine, so what it had read when it added the reset does not tell): the
   * client's report of the reset comes after "committing" and before "events produced".
   */
  function resetHitCommit(output: string): boolean {
    const tail = output.slice(Math.max(0, output.lastIndexOf('"message":"committing the Kafka transaction"')));
    const hit = tail.search(resetSeen);
    const produced = tail.search(/"message":"events produced"/);
    return hit > 0 && (produced < 0 || hit < produced);
  }

  test("connections to the run's transaction coordinator reset at commit: completes, exact, the slot not resent", async () => {
    // Leadership on the preferred replicas first: an earlier scenario moved some, and Kafka's own
    // rebalance (every 5 min) moving the coordinator mid-run sent the commit to an unslowed broker.
    await electPreferred(['__transaction_state']);
    // The reset must land while EndTxn is on its way: noticing the worker's line and adding the
    // toxic took up to 2 s on a loaded machine, against the 1 s EndTxn is held, and a run can open
    // before its coordinator is slowed. A try whose commit was not held, or was answered before the
    // reset was in place (told by the worker's log order, not by what the test had read by then), did
    // not test this; it is taken again (5 at most), and the assertions below hold for the try that
    // caught the commit. CI runs this suite alongside npm test, so the machine is loaded.
    let t = await resetAtCommit();
    for (let tries = 1; !t.caught && tries < 5; tries++) t = await resetAtCommit();
    const { s, w, handle, summary, coordinator, resetAt } = t;
    assert.ok(t.caught, 'the reset landed while the commit was held, in one of 5 tries');
    const failures = failuresIn(w.output());
    assert.deepEqual(failures, [], 'no attempt failed and the slot was not resent');
    assert.equal(await attemptsOf(handle), 1);
    const afterReset = w.output();
    assert.match(afterReset, resetSeen, 'the reset hit the commit');
    await record(
      `coordinator (broker ${coordinator}) connections reset at commit`,
      s,
      handle,
      summary,
      Date.now() - resetAt,
      [w],
    );
  });

  test('bandwidth to one broker cut to 64 KB/s for a 200k-event run: completes, exact, no heartbeat missed', async () => {
    // A heartbeat timeout of 20 s (Kafka's waits within half of it, as the config requires): one
    // heartbeat missed would have cost an attempt.
    const s = await kit.scenario({
      ACTIVITY_HEARTBEAT_TIMEOUT_MS: '20000',
      KAFKA_REQUEST_TIMEOUT_MS: '10000',
      KAFKA_SEND_TIMEOUT_MS: '10000',
      KAFKA_LEDGER_TIMEOUT_MS: '10000',
      KAFKA_BATCH_MAX_MESSAGES: '1000',
    });
    const w = await s.worker();
    const victim = (await leaders(s.config.kafka.topic)).get(0)!;
    await networkFaults.add(`kafka-${victim}`, {
      name: 'thin',
      type: 'bandwidth',
      stream: 'upstream',
      attributes: { rate: 64 },
    });
    const started = Date.now();
    try {
      const handle = await s.start(200_000);
      const summary = await handle.result();
      assert.equal(await attemptsOf(handle), 1, 'the first attempt completed (no heartbeat timed out)');
      await record(`bandwidth to broker ${victim} cut to 64 KB/s`, s, handle, summary, Date.now() - started, [w]);
    } finally {
      await networkFaults.reset();
    }
  });

  test("the worker's link to Temporal dropped for 30 s mid-run: completes, exact", async () => {
    const s = await kit.scenario({ ACTIVITY_HEARTBEAT_TIMEOUT_MS: PRODUCT_TIMEOUTS.ACTIVITY_HEARTBEAT_TIMEOUT_MS });
    const w = await s.worker({ TEMPORAL_ADDRESS: required('TEMPORAL_PROXY_ADDRESS') });
    const handle = await s.start(sizes.rolling);
    await midSend(s.config);
    await networkFaults.setEnabled('temporal', false);
    try {
      await sleep(30_000);
    } finally {
      await networkFaults.reset();
    }
    const backAt = Date.now();
    const summary = await handle.result();
    await record("worker's link to Temporal dropped 30 s", s, handle, summary, Date.now() - backAt, [w]);
  });

  test('a zombie resuming while its successor is still sending (200k events): the successor is not fenced and completes', async () => {
    // One activity slot per worker, so the retry goes to the live worker (see test/faults.test.ts).
    const s = await kit.scenario({ TEMPORAL_MAX_CONCURRENT_ACTIVITIES: '1', KAFKA_BATCH_MAX_MESSAGES: '1000' });
    const a = await s.worker();
    const b = await s.worker();
    const handle = await s.start(200_000);
    await midSend(s.config);
    const identity = (await handle.describe()).raw.pendingActivities?.[0]?.lastWorkerIdentity ?? '';
    const zombie = [a, b].find((x) => identity.startsWith(x.identity));
    assert.ok(zombie, `no worker of ours runs the attempt (identity ${identity})`);
    const successor = zombie === a ? b : a;
    zombie.signal('SIGSTOP');
    const frozenAt = Date.now();
    try {
      // The successor's attempt starts after the heartbeat timeout, fences the zombie and sends.
      for (let i = 0; ; i++) {
        const pending = (await handle.describe()).raw.pendingActivities?.[0];
        if ((pending?.attempt ?? 0) >= 2 && pending?.lastWorkerIdentity?.startsWith(successor.identity)) break;
        assert.ok(i < 600, 'the successor never took the run over');
        await sleep(100);
      }
      // Then resume the zombie once the successor's records are going out (the zombie is frozen).
      await endPasses(s.config.kafka.topic, (await endSum(s.config.kafka.topic)) + 1_000);
    } finally {
      zombie.signal('SIGCONT');
    }
    const summary = await handle.result();
    assert.equal(await attemptsOf(handle), 2, "the successor's attempt completed the run");
    assert.deepEqual(
      failuresIn(successor.output()).filter((f) => /Fenced/i.test(f)),
      [],
      'the successor was never fenced',
    );
    await record('zombie resumed while its successor sends', s, handle, summary, Date.now() - frozenAt, [successor]);
  });
});
