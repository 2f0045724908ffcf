import { isSpanContextValid, trace } from "@opentelemetry/api";
import { type DestinationStream, type Logger, pino } from "pino";

export type { Logger } from "pino";

export interface LoggerOptions {
  service: string;
  level?: string;
  /** Where lines go; stdout unless given (tests pass a stream they read). */
  destination?: DestinationStream;
}

/** Where a bearer token, a cookie or a password could sit in a logged object. */
const CREDENTIAL_PATHS = [
  "authorization",
  "headers.authorization",
  "headers.cookie",
  "*.headers.authorization",
  "*.headers.cookie",
  "password",
  "*.password",
];

/**
 * A pino logger whose every line carries `trace_id` and `span_id` of the span active when
 * it is written, so a log line leads to its trace in Jaeger. Authorization and Cookie headers
 * and passwords are replaced by "[redacted]" wherever a logged object carries them.
 */
export function createLogger({ service, level = "info", destination }: LoggerOptions): Logger {
  const options = {
    level,
    base: { service },
    // Credentials never reach a log line, whoever logs a request or its headers.
    redact: { paths: CREDENTIAL_PATHS, censor: "[redacted]" },
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
