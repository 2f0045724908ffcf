import { isSpanContextValid, trace } from "@opentelemetry/api";
import { type DestinationStream, type Logger, pino } from "pino";

export type { Logger } from "pino";

export interface LoggerOptions {
  service: string;
  level?: string;
  /** Where lines go; stdout unless given (tests pass a stream they read). */
  destination?: DestinationStream;
}

/**
 * A pino logger whose every line carries `trace_id` and `span_id` of the span active when
 * it is written, so a log line leads to its trace in Jaeger.
 */
export function createLogger({ service, level = "info", destination }: LoggerOptions): Logger {
  const options = {
    level,
    base: { service },
    mixin() {
      const span = trace.getActiveSpan();
      if (!span) return {};
      const sc = span.spanContext();
      if (!isSpanContextValid(sc)) return {};
      return { trace_id: sc.traceId, span_id: sc.spanId };
    },
  };
  return destination ? pino(options, destination) : pino(options);
}
