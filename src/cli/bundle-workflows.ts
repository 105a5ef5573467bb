// npm run bundle:workflows: builds the workflow bundle once (webpack), so workers load a file
// instead of bundling at every start (faster start, and no bundler garbage in the worker's heap).
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DefaultLogger, bundleWorkflowCode } from '@temporalio/worker';
import { WORKFLOW_INTERCEPTOR_MODULES } from '../telemetry/temporal-tracing.ts';

const out = process.argv[2] ?? 'dist/workflows.bundle.js';
const { code } = await bundleWorkflowCode({
  workflowsPath: fileURLToPath(new URL('../workflows/index.ts', import.meta.url)),
  workflowInterceptorModules: WORKFLOW_INTERCEPTOR_MODULES,
  // Warnings and errors only: webpack's module listing is noise; the line below says what was built.
  logger: new DefaultLogger('WARN'),
});
mkdirSync(dirname(out), { recursive: true });
writeFileSync(out, code);
console.log(`workflow bundle written to ${out} (${Math.round(code.length / 1024)} KiB)`);
