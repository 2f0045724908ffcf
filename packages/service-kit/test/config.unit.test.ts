import { describe, expect, it } from "vitest";
import { ConfigError, intFromEnv, readBaseConfig } from "../src/index.js";

describe("readBaseConfig", () => {
  it("gives each service the documented defaults", () => {
    expect(readBaseConfig("allocation", {})).toEqual({
      service: "allocation",
      port: 3002,
      host: "127.0.0.1",
      databaseUrl: "postgres://postgres@127.0.0.1:5432/allocation",
      natsServers: ["nats://127.0.0.1:4222"],
      natsStreamReplicas: 1,
      logLevel: "info",
      consumer: { ackWaitMs: 30_000, retryDelaysMs: [500, 2000, 5000, 10_000], maxAttempts: 5 },
      retention: { outboxMs: 7 * 86_400_000, inboxMs: 7 * 86_400_000 },
    });
    expect(readBaseConfig("ordering", {}).port).toBe(3001);
    expect(readBaseConfig("warehouse", {}).port).toBe(3003);
  });

  it("reads every variable of the operations contract", () => {
    const config = readBaseConfig("ordering", {
      PORT: "8080",
      HOST: "0.0.0.0",
      DATABASE_URL: "postgres://ordering:pw@db:5432/ordering",
      NATS_URL: "nats://a:4222, nats://b:4222",
      NATS_USER: "ordering",
      NATS_PASSWORD: "secret",
      NATS_CREDS: "/run/ordering.creds",
      NATS_STREAM_REPLICAS: "3",
      LOG_LEVEL: "debug",
      CONSUMER_ACK_WAIT_MS: "5000",
      CONSUMER_RETRY_DELAYS_MS: "100, 250,1000",
      CONSUMER_MAX_ATTEMPTS: "3",
      OUTBOX_RETENTION: "15m",
      INBOX_RETENTION: "2h",
    });
    expect(config).toEqual({
      service: "ordering",
      port: 8080,
      host: "0.0.0.0",
      databaseUrl: "postgres://ordering:pw@db:5432/ordering",
      natsServers: ["nats://a:4222", "nats://b:4222"],
      natsUser: "ordering",
      natsPassword: "secret",
      natsCreds: "/run/ordering.creds",
      natsStreamReplicas: 3,
      logLevel: "debug",
      consumer: { ackWaitMs: 5000, retryDelaysMs: [100, 250, 1000], maxAttempts: 3 },
      retention: { outboxMs: 900_000, inboxMs: 7_200_000 },
    });
  });

  it("treats blank variables as unset", () => {
    expect(readBaseConfig("warehouse", { PORT: "", HOST: " " })).toMatchObject({
      port: 3003,
      host: "127.0.0.1",
    });
  });

  it.each([
    ["PORT", { PORT: "http" }],
    ["PORT", { PORT: "70000" }],
    ["PORT", { PORT: "30.5" }],
    ["DATABASE_URL", { DATABASE_URL: "not a url" }],
    ["DATABASE_URL", { DATABASE_URL: "mysql://db/ordering" }],
    ["NATS_URL", { NATS_URL: " , " }],
    ["NATS_PASSWORD", { NATS_USER: "ordering" }],
    ["LOG_LEVEL", { LOG_LEVEL: "loud" }],
    ["NATS_STREAM_REPLICAS", { NATS_STREAM_REPLICAS: "0" }],
    ["NATS_STREAM_REPLICAS", { NATS_STREAM_REPLICAS: "6" }],
    ["NATS_STREAM_REPLICAS", { NATS_STREAM_REPLICAS: "three" }],
    ["CONSUMER_ACK_WAIT_MS", { CONSUMER_ACK_WAIT_MS: "10" }],
    ["CONSUMER_RETRY_DELAYS_MS", { CONSUMER_RETRY_DELAYS_MS: "100,soon" }],
    ["CONSUMER_RETRY_DELAYS_MS", { CONSUMER_RETRY_DELAYS_MS: "-5" }],
    ["CONSUMER_MAX_ATTEMPTS", { CONSUMER_MAX_ATTEMPTS: "0" }],
    ["OUTBOX_RETENTION", { OUTBOX_RETENTION: "a week" }],
    ["OUTBOX_RETENTION", { OUTBOX_RETENTION: "7" }],
    ["OUTBOX_RETENTION", { OUTBOX_RETENTION: "0s" }],
    ["INBOX_RETENTION", { INBOX_RETENTION: "7w" }],
    ["INBOX_RETENTION", { INBOX_RETENTION: "59s" }],
    ["INBOX_RETENTION", { CONSUMER_ACK_WAIT_MS: "10000", INBOX_RETENTION: "15s" }],
  ])("refuses a bad %s with a ConfigError naming it", (variable, env) => {
    let error: unknown;
    try {
      readBaseConfig("ordering", env);
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).variable).toBe(variable);
    expect((error as ConfigError).message).toContain(variable);
  });

  it("reads retention durations in ms, seconds, minutes, hours and days", () => {
    const retention = (value: string) =>
      readBaseConfig("ordering", { OUTBOX_RETENTION: value, INBOX_RETENTION: "7d" }).retention.outboxMs;
    expect(retention("1500ms")).toBe(1500);
    expect(retention("30s")).toBe(30_000);
    expect(retention("15m")).toBe(900_000);
    expect(retention("12h")).toBe(43_200_000);
    expect(retention("7d")).toBe(604_800_000);
    expect(
      readBaseConfig("ordering", { CONSUMER_ACK_WAIT_MS: "10000", INBOX_RETENTION: "20s" }).retention.inboxMs,
    ).toBe(20_000);
  });

  it("needs PORT for a service without a default port", () => {
    expect(() => readBaseConfig("reporting", {})).toThrow(ConfigError);
  });
});

describe("intFromEnv", () => {
  it("reads a service-specific integer with its default and bounds", () => {
    expect(intFromEnv({}, "RATE_LIMIT_PER_MINUTE", 6000, { min: 0 })).toBe(6000);
    expect(intFromEnv({ RATE_LIMIT_PER_MINUTE: "0" }, "RATE_LIMIT_PER_MINUTE", 6000, { min: 0 })).toBe(0);
    expect(() =>
      intFromEnv({ RATE_LIMIT_PER_MINUTE: "-1" }, "RATE_LIMIT_PER_MINUTE", 6000, { min: 0 }),
    ).toThrow(ConfigError);
  });
});
