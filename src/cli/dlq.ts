// npm run dlq -- list: what is in the dead-letter topic, oldest first (read_committed).
import { Command } from 'commander';
import type { DeadLetter } from '../dlq/envelope.ts';
import { kafkaFor } from '../kafka/kafkajs-client.ts';
import { readTopic } from '../kafka/read-topic.ts';
import { createDecoder } from '../schema/decoder.ts';
import { positiveInt } from './options.ts';
import { runCommand } from './run-command.ts';

const program = new Command('dlq').description('Inspect the dead-letter topic');

program
  .command('list')
  .description('print every dead-lettered event with its error')
  .option('--json', 'one JSON object per line')
  .option('--limit <n>', 'show only the newest n', positiveInt())
  .action((opts: { json?: boolean; limit?: number }) =>
    runCommand(async (app) => {
      const topic = app.config.kafka.dlqTopic;
      const kafka = kafkaFor(app.config.kafka, await app.credentials.kafka(), app.logger);
      let records = await readTopic(kafka, topic);
      records.sort((a, b) => a.timestamp - b.timestamp);
      if (opts.limit !== undefined) records = records.slice(-opts.limit);
      const decode = createDecoder(app.registry);
      for (const r of records) {
        const { value: d } = await decode<DeadLetter>(r.value);
        if (opts.json) {
          console.log(JSON.stringify({ partition: r.partition, offset: r.offset, ...d }));
        } else {
          console.log(
            `${new Date(d.failed_at).toISOString()} ${d.error_class} [${d.field_paths.join(', ')}] ${d.error_message}\n` +
              `    event: ${d.original_event}\n    run: ${d.workflow_id ?? '-'} / ${d.run_id ?? '-'} attempt ${d.attempt ?? '-'}`,
          );
        }
      }
      if (!opts.json) console.log(`${records.length} dead-lettered event(s) in ${topic}`);
    }),
  );

await program.parseAsync();
