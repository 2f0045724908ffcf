export type { BaseConfig, ConsumerSettings, RetentionSettings } from "./config.js";
export {
  ConfigError,
  DEFAULT_CONSUMER_SETTINGS,
  DEFAULT_PORTS,
  durationFromEnv,
  intFromEnv,
  optionalString,
  parseDuration,
  readBaseConfig,
} from "./config.js";
export type { Database, DatabaseOptions } from "./database.js";
export { ensureDatabaseExists, openDatabase } from "./database.js";
export type { HttpApp, HttpAppOptions } from "./http/app.js";
export { buildHttpApp } from "./http/app.js";
export type { ErrorBody } from "./http/error-handler.js";
export { toErrorReply } from "./http/error-handler.js";
export { limitRatePerClient } from "./http/rate-limit.js";
export { isStorableText } from "./http/storable-text.js";
export { HttpError } from "./http-error.js";
export type {
  ConsumerProbe,
  NatsProbe,
  Readiness,
  ReadinessReport,
  ReadinessSources,
  SqlProbe,
} from "./readiness.js";
export { readinessOf } from "./readiness.js";
export type { MainOptions, ServiceInstance } from "./run-main.js";
export { runMain } from "./run-main.js";
export type { RunningService, RunServiceOptions } from "./run-service.js";
export { runService } from "./run-service.js";
