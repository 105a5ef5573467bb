// Keeps the Temporal SDK's INFO chatter (worker state changes) out of the test output.
import { DefaultLogger, Runtime } from '@temporalio/worker';

let installed = false;
export function quietTemporalRuntime(): void {
  if (installed) return;
  Runtime.install({ logger: new DefaultLogger('WARN') });
  installed = true;
}
