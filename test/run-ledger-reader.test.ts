// The warm ledger reader (src/run-ledger/reader.ts) against the real broker: after the broker is
// killed -9 and started again, kafkajs restarts the reader's consumer, which reads the ledger from
// its beginning again. A lookup in that window must still answer with the newest record of its key,
// never an older one (for a source's position, an older record republishes rows).
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { test } from 'node:test';
import { createLedgerReader } from '../src/run-ledger/reader.ts';
import { captureLogger } from './support/app.ts';
import { plaintextKafka, stackPid, uniqueName } from './support/services.ts';

const run = promisify(execFile);
const RECORDS = 200_000;
const KEY = 'src|orders|outbox:order_outbox';

async function writeRecords(topic: string): Promise<void> {
  const kafka = plaintextKafka();
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic, numPartitions: 1, replicationFactor: 1 }], waitForLeaders: true });
  await admin.disconnect();
  const producer = kafka.producer();
  await producer.connect();
  for (let i = 1; i <= RECORDS; i += 10_000) {
    const messages = Array.from({ length: 10_000 }, (_, j) => ({ key: KEY, value: String(i + j), partition: 0 }));
    await producer.send({ topic, messages });
  }
  await producer.disconnect();
}

test('a lookup while the restarted consumer reads the ledger again answers the newest record, never an older one', async () => {
  const topic = uniqueName('ledger-reread');
  await writeRecords(topic);
  const { logger, lines } = captureLogger();
  let recordsSeen = 0;
  const reader = createLedgerReader({
    // Few retries: the consumer crashes while the broker is down and kafkajs restarts it.
    kafka: plaintextKafka({ retry: { retries: 1, initialRetryTime: 100 } }),
    topic,
    timeoutMs: 10_000,
    logger,
    onRecord: () => recordsSeen++,
  });
  const lookup = async () => Number((await reader.read([0], [KEY])).get(KEY)?.value?.toString());
  try {
    let first = NaN;
    for (let i = 0; i < 6 && !Number.isFinite(first); i++) first = await lookup().catch(() => NaN); // the first read: 200,000 records
    assert.equal(first, RECORDS);
    process.kill(stackPid('kafka'), 'SIGKILL');
    await new Promise((r) => setTimeout(r, 2000));
    await run('bash', ['stack/stack.sh', 'up'], { timeout: 180_000 });
    // Lookups back to back until the consumer has started over and read the whole ledger again.
    const answers: number[] = [];
    // The reader logs its re-read (a reader that hands re-read records on would count them twice).
    const rereadSeen = () =>
      recordsSeen > RECORDS || lines.some((l) => l.includes('reading its topic again after a consumer restart'));
    const deadline = Date.now() + 90_000;
    let afterReread = 0;
    while (Date.now() < deadline && afterReread < 200) {
      answers.push(await lookup().catch(() => NaN));
      if (rereadSeen()) afterReread++;
    }
    assert.ok(rereadSeen(), 'the consumer was restarted and read the ledger from its beginning again');
    const older = answers.filter((a) => Number.isFinite(a) && a !== RECORDS);
    assert.deepEqual(older.slice(0, 5), [], `${older.length} of ${answers.length} lookups answered an older record`);
    assert.ok(answers.filter((a) => a === RECORDS).length >= 200, 'lookups answered during and after the re-read');
  } finally {
    await reader.close();
  }
});
