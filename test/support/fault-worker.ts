// The real worker (src/worker.ts's runWorker) with a fault wrapped around its real engine, for
// the fault suite's process tests. FAULT names the fault:
//   pause-after-commit  the attempt's run commits, then the process stops dead (to be killed there)
import { runWorker } from '../../src/worker.ts';

const fault = process.env['FAULT'];
if (fault !== 'pause-after-commit') throw new Error(`FAULT: expected pause-after-commit, got ${fault}`);

await runWorker({
  decorateActivities: (deps, logger) => ({
    ...deps,
    produceRun: async (request) => {
      await deps.produceRun(request);
      logger.warn('fault injected: paused after commit');
      return new Promise<never>(() => undefined);
    },
  }),
});
