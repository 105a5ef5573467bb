// `npm run schedule -- pause | unpause [--note T]`: stop or resume the schedule's own runs
// (trigger and backfill still start runs while it is paused).
import type { Command } from 'commander';
import { withSchedule, type CommandContext } from './context.ts';

export function registerPause(program: Command, context: CommandContext): void {
  for (const [name, verb] of [
    ['pause', 'paused'],
    ['unpause', 'unpaused'],
  ] as const) {
    program
      .command(name)
      .description(`${name} the schedule`)
      .option('--note <text>', 'why', `${verb} with npm run schedule -- ${name}`)
      .action((opts: { note: string }) =>
        withSchedule(context, async ({ client, scheduleId }) => {
          await client.schedule.getHandle(scheduleId)[name](opts.note);
          console.log(`${scheduleId}: ${verb}`);
        }),
      );
  }
}
