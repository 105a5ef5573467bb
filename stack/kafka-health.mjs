// Health check for one local broker: a real Metadata round trip, bounded by timeouts, that also
// sees the expected number of brokers in the cluster (argument 2, default 1), then the group and
// transaction coordinators answering (their internal topics loaded): a client's first run on a
// fresh broker must not meet "coordinator is loading" and retry with warnings.
import { Kafka, logLevel } from 'kafkajs';

const broker = process.argv[2] ?? '127.0.0.1:9092';
const expected = Number(process.argv[3] ?? 1);
const kafka = new Kafka({
  clientId: 'stack-health',
  brokers: [broker],
  connectionTimeout: 3000,
  requestTimeout: 5000,
  retry: { retries: 0 },
  logLevel: logLevel.NOTHING,
});
const admin = kafka.admin();
try {
  await admin.connect();
  const cluster = await admin.describeCluster();
  if (cluster.brokers.length < expected) {
    throw new Error(`${cluster.brokers.length} of ${expected} brokers in the cluster metadata`);
  }
  // Group coordinator: DescribeGroups goes through FindCoordinator to the group's coordinator.
  const [group] = (await admin.describeGroups(['stack-health'])).groups;
  if (group?.errorCode) throw new Error(`group coordinator: error code ${group.errorCode}`);
  // Transaction coordinator: InitProducerId, then an empty transaction aborted.
  const producer = kafka.producer({
    transactionalId: 'stack-health',
    maxInFlightRequests: 1,
    idempotent: true,
    retry: { retries: 2 }, // an idempotent kafkajs producer refuses to run without retries
  });
  try {
    await producer.connect();
    const tx = await producer.transaction();
    await tx.abort();
  } finally {
    await producer.disconnect().catch(() => {});
  }
  console.log(`kafka ok: cluster ${cluster.clusterId}, controller ${cluster.controller}, coordinators answer`);
} catch (err) {
  console.error(`kafka unhealthy at ${broker}: ${err.message}`);
  process.exitCode = 1;
} finally {
  await admin.disconnect().catch(() => {});
}
