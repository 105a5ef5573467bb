// npm run topics -- ensure: creates the event, dead-letter and run-ledger topics when missing, and
// sets the ledger's own settings (only those) when they differ.
import { Command } from 'commander';
import { ensureTopics } from '../kafka/topics.ts';
import { producerTopics } from '../run-ledger/topic.ts';
import { kafkaFor } from '../kafka/kafkajs-client.ts';
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
        const notes: string[] = [];
        if (r.actualPartitions !== undefined && r.keepsPartitions) {
          notes.push(
            `keeps its ${r.actualPartitions} partitions (a run ledger's count never changes; docs/exactly-once.md)`,
          );
        } else if (r.actualPartitions !== undefined) {
          notes.push(`has ${r.actualPartitions} partitions, not ${r.partitions} (left as it is)`);
          code = 1;
        }
        if (r.configUpdated) {
          notes.push(
            `settings updated: ${r.configUpdated.map((c) => `${c.name} ${c.was ?? '(default)'} -> ${c.wanted}`).join(', ')}`,
          );
        }
        const what = r.created ? 'created' : 'exists';
        const line = `${r.topic}: ${what}${notes.length > 0 ? `; ${notes.join('; ')}` : ` (${r.partitions} partitions, replication ${r.replicationFactor})`}`;
        (code === 1 && r.actualPartitions !== undefined && !r.keepsPartitions ? console.error : console.log)(line);
      }
      return code;
    }),
  );

await program.parseAsync();
