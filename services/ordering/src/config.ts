import { type BaseConfig, intFromEnv, readBaseConfig } from "@stockflow/service-kit";

export interface OrderingConfig extends BaseConfig {
  /** Storefront requests per client address and minute; 0 turns the limit off. */
  rateLimitPerMinute: number;
  /** Requests that may wait at once for an order (`GET /orders/:id?wait=`); beyond it they answer at once. */
  maxWaitingRequests: number;
  /**
   * LINE_ALLOCATED_VERSION: the major version of allocation.line_allocated this build reads
   * (2, the default; 1 reads the deprecated version without etas, as the build before v2).
   */
  lineAllocatedVersion: 1 | 2;
}

/** The only reader of the environment; throws ConfigError on a bad value, so start-up fails early. */
export function loadConfig(env: Record<string, string | undefined> = process.env): OrderingConfig {
  return {
    ...readBaseConfig("ordering", env),
    rateLimitPerMinute: intFromEnv(env, "RATE_LIMIT_PER_MINUTE", 6000, { min: 0 }),
    maxWaitingRequests: intFromEnv(env, "ORDER_WAIT_MAX_REQUESTS", 10_000, { min: 0 }),
    lineAllocatedVersion: intFromEnv(env, "LINE_ALLOCATED_VERSION", 2, { min: 1, max: 2 }) as 1 | 2,
  };
}
