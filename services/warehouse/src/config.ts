import { type BaseConfig, readBaseConfig } from "@stockflow/service-kit";

export interface WarehouseConfig extends BaseConfig {
  /** Bearer token of warehouse staff; undefined: every write is refused. */
  staffToken: string | undefined;
}

/** The service's settings; the only place that reads the environment. */
export function loadConfig(env: Record<string, string | undefined> = process.env): WarehouseConfig {
  const token = env.WAREHOUSE_STAFF_TOKEN;
  // A blank value is as good as unset: a token of spaces would be guessable.
  return { ...readBaseConfig("warehouse", env), staffToken: token?.trim() ? token : undefined };
}
