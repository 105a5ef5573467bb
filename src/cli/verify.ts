// npm run verify -- [--minutes 5] [--limit 20]
// What the tutorial's Snowflake query shows, read straight from Kafka (read_committed) and
// decoded through the registry: newest first, plus counts per partition.
import { Command } from 'commander';
import { kafkaFor } from '../kafka/kafkajs-client.ts';
import { readTopic } from '../kafka/read-topic.ts';
import type { OrderEvent } from '../schema/order-event.ts';
import { createDecoder } from '../schema/decoder.ts';
import { positiveInt } from './options.ts';
import { runCommand } from './run-command.ts';

const program = new Command('verify')
  .description('Read the order-events topic back and print the newest events')
  .option('--minutes <n>', 'only events with a Kafka timestamp in the last n minutes', positiveInt(), 5)
  .option('--limit <n>', 'rows to print', positiveInt(), 20);

program.action((opts: { minutes: number; limit: number }) =>
  runCommand(async (app) => {
    const topic = app.config.kafka.topic;
    const kafka = kafkaFor(app.config.kafka, await app.credentials.kafka(), app.logger);
    const since = Date.now() - opts.minutes * 60_000;
    const records = (await readTopic(kafka, topic)).filter((r) => r.timestamp >= since);
    records.sort((a, b) => b.timestamp - a.timestamp || Number(b.offset) - Number(a.offset));

    const decode = createDecoder(app.registry);
    const rows: string[][] = [];
    for (const r of records.slice(0, opts.limit)) {
      const { value: e } = await decode<OrderEvent>(r.value);
      rows.push([
        String(e.order_id),
        e.customer_id,
        e.order_status,
        e.order_total.toFixed(2),
        new Date(r.timestamp).toISOString(),
        `${r.partition}@${r.offset}`,
      ]);
    }
    printTable(['ORDER_ID', 'CUSTOMER_ID', 'ORDER_STATUS', 'ORDER_TOTAL', 'KAFKA_TIMESTAMP', 'PARTITION@OFFSET'], rows);

    const perPartition = new Map<number, number>();
    for (const r of records) perPartition.set(r.partition, (perPartition.get(r.partition) ?? 0) + 1);
    const counts = [...perPartition.entries()].sort((a, b) => a[0] - b[0]).map(([p, n]) => `p${p}=${n}`);
    console.log(
      `\n${records.length} event(s) in ${topic} from the last ${opts.minutes} min` +
        (records.length > opts.limit ? ` (newest ${opts.limit} shown)` : '') +
        `; per partition: ${counts.join(' ') || 'none'}`,
    );
  }),
);

function printTable(header: string[], rows: string[][]): void {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join('  ');
  console.log(line(header));
  console.log(line(widths.map((w) => '-'.repeat(w))));
  for (const r of rows) console.log(line(r));
}

await program.parseAsync();
