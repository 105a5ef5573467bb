// npm run schedule -- apply | describe | trigger | backfill | pause | unpause | delete: the entry
// point, which registers the commands; each lives in schedules/commands/ (its options and action),
// over the schedule's logic in schedules/ (apply.ts, backfill.ts, spec.ts, produce-order-events.ts).
import '../src/local-env.ts'; // first: local stack settings for what the environment leaves unset
import { Command } from 'commander';
import { registerApply } from './commands/apply.ts';
import { registerBackfill } from './commands/backfill.ts';
import { commandContext } from './commands/context.ts';
import { registerDelete } from './commands/delete.ts';
import { registerDescribe } from './commands/describe.ts';
import { registerPause } from './commands/pause.ts';
import { registerTrigger } from './commands/trigger.ts';
import { SCHEDULE_ID } from './produce-order-events.ts';

const program = new Command('schedule')
  .description(`Manage the ${SCHEDULE_ID} Temporal schedule`)
  .option('--id <scheduleId>', 'schedule id', SCHEDULE_ID);
const context = commandContext(() => program.opts<{ id: string }>().id);

// In this order in --help.
for (const register of [
  registerApply,
  registerDescribe,
  registerTrigger,
  registerBackfill,
  registerPause,
  registerDelete,
]) {
  register(program, context);
}

await program.parseAsync();
