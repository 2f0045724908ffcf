type Env = Record<string, string | undefined>;

/** A missing or malformed setting, thrown at start-up so the service refuses to run. */
export class ConfigError extends Error {
  override readonly name = "ConfigError";
  constructor(
    readonly variable: string,
    message: string,
  ) {
    super(`${variable}: ${message}`);
  }
}

export interface BaseConfig {
  service: string;
  port: number;
  host: string;
  databaseUrl: string;
  /** From NATS_URL, comma separated. */
  natsServers: string[];
  natsUser?: string;
  natsPassword?: string;
  /** Path of a NATS credentials file (NATS_CREDS). */
  natsCreds?: string;
  /** NATS_STREAM_REPLICAS: replicas of the streams the service creates (1..5; 3 on a three-server cluster). */
  natsStreamReplicas: number;
  logLevel: string;
  /** How the service's durable consumers redeliver (CONSUMER_* variables). */
  consumer: ConsumerSettings;
  /** How long published outbox rows and processed inbox ids are kept (OUTBOX_RETENTION, INBOX_RETENTION). */
  retention: RetentionSettings;
}

export interface RetentionSettings {
  /** OUTBOX_RETENTION: published outbox rows older than this are deleted. */
  outboxMs: number;
  /**
   * INBOX_RETENTION: processed message ids older than this are forgotten. At least twice
   * CONSUMER_ACK_WAIT_MS: a message whose ack was lost comes back after the ack wait, and
   * must still find its id.
   */
  inboxMs: number;
}

const DAY_MS = 24 * 60 * 60 * 1000;
const DURATION_UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: DAY_MS };

/** A duration such as `500ms`, `30s`, `15m`, `12h`, `7d`, in milliseconds; undefined when it is not one. */
export function parseDuration(text: string): number | undefined {
  const match = /^(\d+)\s*(ms|s|m|h|d)$/.exec(text.trim());
  if (!match) return undefined;
  return Number(match[1]) * DURATION_UNITS[match[2]!]!;
}

/** A duration variable (`30s`, `15m`, `7d`), at least `minMs`; `fallback` when unset. */
export function durationFromEnv(env: Env, name: string, fallback: number, minMs = 1000): number {
  const raw = optionalString(env, name);
  if (raw === undefined) return fallback;
  const ms = parseDuration(raw);
  if (ms === undefined)
    throw new ConfigError(name, `must be a duration such as 30s, 15m, 12h or 7d, got "${raw}"`);
  if (ms < minMs) throw new ConfigError(name, `must be at least ${minMs} ms, got "${raw}"`);
  return ms;
}

export interface ConsumerSettings {
  /** CONSUMER_ACK_WAIT_MS: how long a delivered, unacknowledged message waits before redelivery. */
  ackWaitMs: number;
  /** CONSUMER_RETRY_DELAYS_MS: delays before the 1st, 2nd, ... redelivery of a failed message. */
  retryDelaysMs: number[];
  /** CONSUMER_MAX_ATTEMPTS: deliveries before a failing message goes to the DLQ. */
  maxAttempts: number;
}

export const DEFAULT_CONSUMER_SETTINGS: Readonly<ConsumerSettings> = {
  ackWaitMs: 30_000,
  retryDelaysMs: [500, 2000, 5000, 10_000],
  maxAttempts: 5,
};

/** Default HTTP ports of the three services (docs/system-contract.md, "Running a service"). */
export const DEFAULT_PORTS: Readonly<Record<string, number>> = {
  ordering: 3001,
  allocation: 3002,
  warehouse: 3003,
};

const LOG_LEVELS = ["fatal", "error", "warn", "info", "debug", "trace", "silent"];

/** The variable's value, or undefined when unset or blank (a blank value means "use the default"). */
export function optionalString(env: Env, name: string): string | undefined {
  const value = env[name]?.trim();
  return value ? value : undefined;
}

/** An integer variable within [min, max]; `fallback` when unset. */
export function intFromEnv(
  env: Env,
  name: string,
  fallback: number | undefined,
  { min = Number.MIN_SAFE_INTEGER, max = Number.MAX_SAFE_INTEGER }: { min?: number; max?: number } = {},
): number {
  const raw = optionalString(env, name);
  if (raw === undefined) {
    if (fallback === undefined) throw new ConfigError(name, "is required");
    return fallback;
  }
  if (!/^-?\d+$/.test(raw)) throw new ConfigError(name, `must be an integer, got "${raw}"`);
  const value = Number(raw);
  if (value < min || value > max)
    throw new ConfigError(name, `must be between ${min} and ${max}, got ${value}`);
  return value;
}

/** Comma-separated non-negative integers, e.g. "500,2000,5000". */
function intListFromEnv(env: Env, name: string, fallback: readonly number[], max: number): number[] {
  const raw = optionalString(env, name);
  if (raw === undefined) return [...fallback];
  const parts = raw.split(",").map((p) => p.trim());
  if (parts.some((p) => !/^\d+$/.test(p) || Number(p) > max)) {
    throw new ConfigError(name, `must be comma-separated integers between 0 and ${max}, got "${raw}"`);
  }
  return parts.map(Number);
}

/**
 * The settings every service shares, from the environment, validated: a bad value throws
 * ConfigError naming the variable. Service-specific variables are read by the service.
 */
export function readBaseConfig(service: string, env: Env = process.env): BaseConfig {
  const port = intFromEnv(env, "PORT", DEFAULT_PORTS[service], { min: 0, max: 65535 });
  const host = optionalString(env, "HOST") ?? "127.0.0.1";

  const databaseUrl = optionalString(env, "DATABASE_URL") ?? `postgres://postgres@127.0.0.1:5432/${service}`;
  let parsed: URL;
  try {
    parsed = new URL(databaseUrl);
  } catch {
    throw new ConfigError("DATABASE_URL", "is not a URL");
  }
  if (parsed.protocol !== "postgres:" && parsed.protocol !== "postgresql:") {
    throw new ConfigError("DATABASE_URL", `must be a postgres:// URL, got ${parsed.protocol}//`);
  }
  if (parsed.pathname.length <= 1) throw new ConfigError("DATABASE_URL", "must name a database");

  const natsServers = (optionalString(env, "NATS_URL") ?? "nats://127.0.0.1:4222")
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s !== "");
  if (natsServers.length === 0) throw new ConfigError("NATS_URL", "names no server");

  const natsUser = optionalString(env, "NATS_USER");
  const natsPassword = optionalString(env, "NATS_PASSWORD");
  if ((natsUser === undefined) !== (natsPassword === undefined)) {
    throw new ConfigError(
      natsUser ? "NATS_PASSWORD" : "NATS_USER",
      "NATS_USER and NATS_PASSWORD go together",
    );
  }
  const natsCreds = optionalString(env, "NATS_CREDS");
  // JetStream allows at most 5 replicas.
  const natsStreamReplicas = intFromEnv(env, "NATS_STREAM_REPLICAS", 1, { min: 1, max: 5 });

  const logLevel = optionalString(env, "LOG_LEVEL") ?? "info";
  if (!LOG_LEVELS.includes(logLevel)) {
    throw new ConfigError("LOG_LEVEL", `must be one of ${LOG_LEVELS.join(", ")}, got "${logLevel}"`);
  }

  const consumer: ConsumerSettings = {
    ackWaitMs: intFromEnv(env, "CONSUMER_ACK_WAIT_MS", DEFAULT_CONSUMER_SETTINGS.ackWaitMs, {
      min: 1000,
      max: 3_600_000,
    }),
    retryDelaysMs: intListFromEnv(
      env,
      "CONSUMER_RETRY_DELAYS_MS",
      DEFAULT_CONSUMER_SETTINGS.retryDelaysMs,
      3_600_000,
    ),
    maxAttempts: intFromEnv(env, "CONSUMER_MAX_ATTEMPTS", DEFAULT_CONSUMER_SETTINGS.maxAttempts, {
      min: 1,
      max: 1000,
    }),
  };

  const inboxMs = durationFromEnv(env, "INBOX_RETENTION", 7 * DAY_MS);
  if (inboxMs < 2 * consumer.ackWaitMs) {
    throw new ConfigError(
      "INBOX_RETENTION",
      `must be at least twice CONSUMER_ACK_WAIT_MS (${2 * consumer.ackWaitMs} ms): a message whose ack was lost is redelivered after the ack wait and must still be known`,
    );
  }
  const retention: RetentionSettings = {
    outboxMs: durationFromEnv(env, "OUTBOX_RETENTION", 7 * DAY_MS),
    inboxMs,
  };

  return {
    service,
    port,
    host,
    databaseUrl,
    natsServers,
    ...(natsUser !== undefined ? { natsUser } : {}),
    ...(natsPassword !== undefined ? { natsPassword } : {}),
    ...(natsCreds !== undefined ? { natsCreds } : {}),
    natsStreamReplicas,
    logLevel,
    consumer,
    retention,
  };
}
