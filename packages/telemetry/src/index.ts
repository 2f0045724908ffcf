export type { DomainKeys } from "./attributes.js";
export { ATTR_BATCH_REF, ATTR_ORDER_ID, ATTR_SKU, annotateSpan, tracer } from "./attributes.js";
export type { Logger, LoggerOptions } from "./logger.js";
export { createLogger } from "./logger.js";
export { setMessagingServer, startConsumerSpan, startProducerSpan } from "./messaging-spans.js";
export {
  captureContext,
  extractFromHeaders,
  injectIntoHeaders,
  natsHeadersGetter,
  natsHeadersSetter,
  restoreContext,
} from "./propagation.js";
export type { Telemetry, TelemetryOptions } from "./sdk.js";
export { startTelemetry, traceExportMode } from "./sdk.js";
