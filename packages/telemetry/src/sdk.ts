import { AsyncLocalStorageContextManager } from "@opentelemetry/context-async-hooks";
import { W3CTraceContextPropagator } from "@opentelemetry/core";
import { OTLPTraceExporter } from "@opentelemetry/exporter-trace-otlp-http";
import { resourceFromAttributes } from "@opentelemetry/resources";
import { NodeSDK } from "@opentelemetry/sdk-node";
import { NoopSpanProcessor } from "@opentelemetry/sdk-trace-base";
import { ATTR_SERVICE_NAME, ATTR_SERVICE_VERSION } from "@opentelemetry/semantic-conventions";

export interface TelemetryOptions {
  serviceName: string;
  serviceVersion?: string;
}

export interface Telemetry {
  /** Flushes pending spans and stops the SDK; call last when the service stops. */
  shutdown(): Promise<void>;
}

type Env = Record<string, string | undefined>;

/**
 * How spans leave the process, decided from the standard OTEL_* variables:
 * - "otlp": our OTLP/HTTP (JSON) exporter, which reads OTEL_EXPORTER_OTLP_* itself;
 * - "none": spans are created (trace ids for logs and propagation) but not exported;
 * - "env": anything else named in OTEL_TRACES_EXPORTER (e.g. console) is left to the SDK.
 */
export function traceExportMode(env: Env = process.env): "otlp" | "none" | "env" {
  const named = (env.OTEL_TRACES_EXPORTER ?? "")
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s !== "");
  if (named.length === 0) {
    // Without an endpoint the exporter would try localhost:4318 and log a failure every
    // batch; a service run without a collector should stay quiet instead.
    const endpoint = env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT ?? env.OTEL_EXPORTER_OTLP_ENDPOINT;
    return endpoint ? "otlp" : "none";
  }
  if (named.includes("none")) return "none";
  if (named.length === 1 && named[0] === "otlp") return "otlp";
  return "env";
}

/**
 * Starts the OpenTelemetry SDK: W3C trace context, AsyncLocalStorage context, and no
 * auto-instrumentation (service-kit makes the HTTP server spans, messaging the NATS ones).
 * Call first thing in main.ts. OTEL_SERVICE_NAME overrides `serviceName`.
 */
export function startTelemetry(options: TelemetryOptions): Telemetry {
  const mode = traceExportMode(process.env);
  const resource = resourceFromAttributes({
    [ATTR_SERVICE_NAME]: options.serviceName,
    ...(options.serviceVersion ? { [ATTR_SERVICE_VERSION]: options.serviceVersion } : {}),
  });
  const sdk = new NodeSDK({
    // The env detector runs after this resource is set, so OTEL_SERVICE_NAME and
    // OTEL_RESOURCE_ATTRIBUTES win over what the code says.
    resource,
    contextManager: new AsyncLocalStorageContextManager(),
    textMapPropagator: new W3CTraceContextPropagator(),
    instrumentations: [],
    // Traces only: no metric readers or log exporters (metrics are Prometheus via /metrics).
    metricReaders: [],
    logRecordProcessors: [],
    ...(mode === "otlp" ? { traceExporter: new OTLPTraceExporter() } : {}),
    // A provider needs at least one processor to be registered at all.
    ...(mode === "none" ? { spanProcessors: [new NoopSpanProcessor()] } : {}),
  });
  sdk.start();
  let stopped: Promise<void> | undefined;
  return {
    shutdown() {
      stopped ??= sdk.shutdown();
      return stopped;
    },
  };
}
