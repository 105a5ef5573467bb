// Shared start-up for the commands: config once, the app once, closed once, and errors printed
// as one clear line (exit code 1) instead of a stack trace.
import '../local-env.ts'; // first: local stack settings for what the environment leaves unset
import { createApp, type App } from '../app.ts';
import { loadConfig } from '../config/index.ts';
import { ProducerError, errorMessage } from '../errors.ts';

export async function runCommand(
  work: (app: App) => Promise<number | void>,
  overrides: Parameters<typeof createApp>[1] = {},
): Promise<void> {
  let app: App | undefined;
  try {
    app = createApp(loadConfig(), overrides);
    process.exitCode = (await work(app)) ?? 0;
  } catch (err) {
    const kind = err instanceof ProducerError ? `${err.name}${err.retryable ? ' (retryable)' : ''}` : 'Error';
    console.error(`${kind}: ${errorMessage(err)}`);
    process.exitCode = 1;
  } finally {
    await app?.close();
  }
}
