// What every schedule command shares: the invocation's config (read once), the schedule id (--id),
// the Temporal client a command's work runs with, and how a failure ends it (one line on stderr,
// exit code 1).
import { ApplicationFailure, WorkflowFailedError, type Client } from '@temporalio/client';
import { InvalidArgumentError } from 'commander';
import { loadConfig, type Config } from '../../src/config/index.ts';
import { errorMessage } from '../../src/errors.ts';
import { withTemporalClient } from '../../src/temporal-connection.ts';

export interface CommandContext {
  /** The invocation's configuration: read on first use (an option's parser may need it), then kept. */
  config(): Config;
  /** The schedule the command acts on (--id). */
  scheduleId(): string;
}

/** What a command's work is given once Temporal is connected. */
export interface ScheduleSession {
  client: Client;
  config: Config;
  scheduleId: string;
}

export function commandContext(scheduleId: () => string): CommandContext {
  let config: Config | undefined;
  return { config: () => (config ??= loadConfig()), scheduleId };
}

/** Runs `work` with a Temporal client; a failure is printed as `schedule: <why>` with exit code 1. */
export async function withSchedule(
  context: CommandContext,
  work: (session: ScheduleSession) => Promise<void>,
): Promise<void> {
  try {
    const config = context.config();
    await withTemporalClient(config.temporal, (client) => work({ client, config, scheduleId: context.scheduleId() }));
  } catch (err) {
    console.error(`schedule: ${failureMessage(err)}`);
    process.exitCode = 1;
  }
}

/** A failed run says why: the innermost cause (the activity's error type and message), not "Workflow execution failed". */
function failureMessage(err: unknown): string {
  if (!(err instanceof WorkflowFailedError)) return errorMessage(err);
  let cause: unknown = err;
  while (cause instanceof Error && cause.cause instanceof Error) cause = cause.cause;
  const type = cause instanceof ApplicationFailure && cause.type ? `${cause.type}: ` : '';
  return `${err.message}: ${type}${errorMessage(cause)}`;
}

/** An option parser from a check that throws: its message becomes commander's "argument is invalid" line. */
export const checked =
  <T>(check: (v: string) => T) =>
  (v: string): T => {
    try {
      return check(v);
    } catch (err) {
      throw new InvalidArgumentError(errorMessage(err));
    }
  };
