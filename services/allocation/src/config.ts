import { type BaseConfig, readBaseConfig } from "@stockflow/service-kit";

export type AllocationConfig = BaseConfig;

/** The only place that reads process.env; a bad value throws ConfigError at start-up. */
export function loadConfig(env: Record<string, string | undefined> = process.env): AllocationConfig {
  return readBaseConfig("allocation", env);
}
