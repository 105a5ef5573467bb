// `npm run schedule -- delete`: delete the schedule (runs it already started are not affected).
import type { Command } from 'commander';
import { withSchedule, type CommandContext } from './context.ts';

export function registerDelete(program: Command, context: CommandContext): void {
  program
    .command('delete')
    .description('delete the schedule (runs already started are not affected)')
    .action(() =>
      withSchedule(context, async ({ client, scheduleId }) => {
        await client.schedule.getHandle(scheduleId).delete();
        console.log(`${scheduleId}: deleted`);
      }),
    );
}
