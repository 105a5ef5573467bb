// Temporal's OpenTelemetry interceptors: a span per workflow (exported from the sandbox through a
// sink) and per activity attempt, linked through Temporal headers, so a run is one trace. The
// workflow half must be in the workflow bundle, so every bundle includes it and every worker
// injects its sink (a no-op processor while tracing is off).
import { createRequire } from 'node:module';
import {
  OpenTelemetryActivityInboundInterceptor,
  OpenTelemetryActivityOutboundInterceptor,
  makeWorkflowExporter,
} from '@temporalio/interceptors-opentelemetry';
import type { WorkerOptions } from '@temporalio/worker';
import type { Tracing } from './tracing.ts';

/** For bundleWorkflowCode's `workflowInterceptorModules`, and for workers that bundle at start. */
export const WORKFLOW_INTERCEPTOR_MODULES = [
  createRequire(import.meta.url).resolve('@temporalio/interceptors-opentelemetry/lib/workflow-interceptors'),
];

/** The worker options that trace activities and export the workflow's spans. */
export function tracingWorkerOptions(
  tracing: Pick<Tracing, 'spanProcessor' | 'resource'>,
  bundled: boolean,
): Pick<WorkerOptions, 'interceptors' | 'sinks'> {
  return {
    interceptors: {
      activity: [
        (ctx) => ({
          inbound: new OpenTelemetryActivityInboundInterceptor(ctx),
          outbound: new OpenTelemetryActivityOutboundInterceptor(ctx),
        }),
      ],
      // A prebuilt bundle already holds them (see src/cli/bundle-workflows.ts).
      ...(bundled ? {} : { workflowModules: WORKFLOW_INTERCEPTOR_MODULES }),
    },
    sinks: { exporter: makeWorkflowExporter(tracing.spanProcessor, tracing.resource) },
  };
}
