// OpenTelemetry traces, off unless the standard OTEL_* variables ask for them (validated with
// every other setting in src/config/):
//   OTEL_TRACES_EXPORTER=otlp (or an OTEL_EXPORTER_OTLP_[TRACES_]ENDPOINT) → OTLP over HTTP,
//     protobuf by default, JSON with OTEL_EXPORTER_OTLP_[TRACES_]PROTOCOL=http/json;
//   OTEL_TRACES_EXPORTER=console → spans printed to stdout; none / OTEL_SDK_DISABLED=true → off.
// The exporters read their own OTEL_EXPORTER_OTLP_* settings (endpoint, headers, timeout);
// OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES name the service (default order-events-producer).
// Registering the provider installs the W3C trace-context propagator used for record headers.
import { SpanStatusCode, context, propagation, trace, type Attributes } from '@opentelemetry/api';
import { OTLPTraceExporter as OtlpJsonExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { OTLPTraceExporter as OtlpProtobufExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { Resource, envDetectorSync, type IResource } from '@opentelemetry/resources';
import {
  BatchSpanProcessor,
  ConsoleSpanExporter,
  NoopSpanProcessor,
  type SpanExporter,
  type SpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import type { Config } from '../config/index.ts';

const SERVICE = 'order-events-producer';
const tracer = () => trace.getTracer(SERVICE);

export interface Tracing {
  enabled: boolean;
  resource: IResource;
  /** Where workflow spans (exported from the workflow sandbox through a sink) go. */
  spanProcessor: SpanProcessor;
  /** Flushes the spans still buffered. */
  shutdown(): Promise<void>;
}

function exporterFor(settings: Config['tracing']): SpanExporter | undefined {
  if (settings.exporter === 'none') return undefined;
  if (settings.exporter === 'console') return new ConsoleSpanExporter();
  return settings.protocol === 'http/json' ? new OtlpJsonExporter() : new OtlpProtobufExporter();
}

/** Starts tracing when the settings ask for it; otherwise a no-op with the same shape. */
export function startTracing(settings: Config['tracing']): Tracing {
  const resource = Resource.default()
    .merge(new Resource({ 'service.name': SERVICE }))
    .merge(envDetectorSync.detect());
  const exporter = exporterFor(settings);
  if (!exporter) {
    return { enabled: false, resource, spanProcessor: new NoopSpanProcessor(), shutdown: async () => undefined };
  }
  const spanProcessor = new BatchSpanProcessor(exporter);
  const provider = new NodeTracerProvider({ resource, spanProcessors: [spanProcessor] });
  provider.register();
  return { enabled: true, resource, spanProcessor, shutdown: () => provider.shutdown() };
}

/** Runs `work` in a child span of the active one; the span records a failure and always ends. */
export function inSpan<T>(name: string, attributes: Attributes, work: () => Promise<T>): Promise<T> {
  return tracer().startActiveSpan(name, { attributes }, async (span) => {
    try {
      return await work();
    } catch (err) {
      span.recordException(err as Error);
      span.setStatus({ code: SpanStatusCode.ERROR, message: (err as Error)?.message });
      throw err;
    } finally {
      span.end();
    }
  });
}

/** The active span as W3C trace-context headers (`traceparent`), or undefined when there is none. */
export function traceHeaders(): Record<string, string> | undefined {
  const carrier: Record<string, string> = {};
  propagation.inject(context.active(), carrier);
  return carrier['traceparent'] ? carrier : undefined;
}
