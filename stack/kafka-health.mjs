// Health check for one local broker: a real Metadata round trip, bounded by timeouts, that also
// sees the expected number of brokers in the cluster (argument 2, default 1).
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
  console.log(`kafka ok: cluster ${cluster.clusterId}, controller ${cluster.controller}`);
} catch (err) {
  console.error(`kafka unhealthy at ${broker}: ${err.message}`);
  process.exitCode = 1;
} finally {
  await admin.disconnect().catch(() => {});
}
