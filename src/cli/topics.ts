// npm run topics -- ensure: creates the event topic and its dead-letter topic when missing.
import { Command } from 'commander';
import { ensureTopics, producerTopics } from '../kafka/admin.ts';
import { kafkaFor } from '../kafka/client.ts';
import { runCommand } from './run-command.ts';

const program = new Command('topics').description('Manage the Kafka topics the producer writes to');

program
  .command('ensure')
  .description('create the event, dead-letter and run-ledger topics if missing (idempotent)')
  .action(() =>
    runCommand(async (app) => {
      const k = app.config.kafka;
      const kafka = kafkaFor(k, await app.credentials.kafka(), app.logger);
      const results = await ensureTopics(kafka, producerTopics(k), k.requestTimeoutMs);
      let code = 0;
      for (const r of results) {
        if (r.actualPartitions !== undefined) {
          console.error(
            `${r.topic}: exists with ${r.actualPartitions} partitions, not ${r.partitions} (left as it is)`,
          );
          code = 1;
        } else if (r.configUpdated) {
          const changes = r.configUpdated.map((c) => `${c.name} ${c.was ?? '(default)'} -> ${c.wanted}`).join(', ');
          console.log(`${r.topic}: exists; settings updated: ${changes}`);
        } else {
          console.log(
            `${r.topic}: ${r.created ? 'created' : 'exists'} (${r.partitions} partitions, replication ${r.replicationFactor})`,
          );
        }
      }
      return code;
    }),
  );

await program.parseAsync();
