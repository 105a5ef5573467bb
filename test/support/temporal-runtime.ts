// Keeps the Temporal SDK's chatter (worker state changes, expected failures) out of the test output.
import { DefaultLogger, Runtime } from '@temporalio/worker';

let installed = false;
export function quietTemporalRuntime(): void {
  if (installed) return;
  // ERROR: the suite provokes failures on purpose; the SDK logs each of them at WARN.
  Runtime.install({ logger: new DefaultLogger('ERROR') });
  installed = true;
}
