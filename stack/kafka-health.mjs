// Health check for the local broker: a real Metadata round trip, bounded by timeouts.
import { Kafka, logLevel } from 'kafkajs';

const broker = process.argv[2] ?? '127.0.0.1:9092';
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
  if (cluster.brokers.length === 0) throw new Error('no brokers in metadata');
  console.log(`kafka ok: cluster ${cluster.clusterId}, controller ${cluster.controller}`);
} catch (err) {
  console.error(`kafka unhealthy at ${broker}: ${err.message}`);
  process.exitCode = 1;
} finally {
  await admin.disconnect().catch(() => {});
}
