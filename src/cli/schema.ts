// npm run schema -- check | register
//   check:    exit 0 only when schemas/OrderEvent.avsc may be registered under the subject next.
//   register: registers it (and the dead-letter envelope schema) and prints the ids.
import { Command } from 'commander';
import { runCommand } from './run-command.ts';

const program = new Command('schema').description('Check or register the OrderEvent schema with the registry');

program
  .command('check')
  .description('exit 0 when the local schema is compatible with the subject, 1 otherwise')
  .action(() =>
    runCommand(async (app) => {
      const subject = app.config.registry.subject;
      const result = await app.registry.checkCompatibility(subject, app.orderEventSchema.text);
      if (result.compatible) {
        console.log(`compatible: schemas/OrderEvent.avsc may be registered under ${subject}`);
        return 0;
      }
      console.error(`incompatible with ${subject}:`);
      for (const m of result.messages.length > 0 ? result.messages : ['(the registry gave no reason)']) {
        console.error(`  - ${m}`);
      }
      return 1;
    }),
  );

program
  .command('register')
  .description('register the OrderEvent and dead-letter schemas; prints their ids')
  .action(() =>
    runCommand(async (app) => {
      const { subject, dlqSubject, compatibility } = app.config.registry;
      if (compatibility) await app.registry.setCompatibility(subject, compatibility);
      const id = await app.registry.register(subject, app.orderEventSchema.text);
      const dlqId = await app.registry.register(dlqSubject, app.deadLetterSchema.text);
      console.log(`registered: ${subject} id ${id}; ${dlqSubject} id ${dlqId}`);
    }),
  );

await program.parseAsync();
