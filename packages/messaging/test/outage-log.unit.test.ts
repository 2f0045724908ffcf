import { describe, expect, it } from "vitest";
import { dependencyOutages, type Logger, outageLog } from "../src/index.js";

function recordingLogger() {
  const lines: { level: string; obj: Record<string, unknown>; msg: string }[] = [];
  const at =
    (level: string) =>
    (obj: object, msg = "") =>
      lines.push({ level, obj: obj as Record<string, unknown>, msg });
  const logger: Logger = { debug: at("debug"), info: at("info"), warn: at("warn"), error: at("error") };
  return { logger, lines };
}

function refused() {
  return Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:5432"), { code: "ECONNREFUSED" });
}

describe("outageLog", () => {
  it("logs an outage once, then at most one reminder per interval, then once when it is back", () => {
    const { logger, lines } = recordingLogger();
    let t = 0;
    const outage = outageLog({ logger, dependency: "NATS", component: "outbox relay", now: () => t });
    for (; t < 12_000; t += 110) outage.down(new Error("no responders"));
    expect(outage.isDown()).toBe(true);
    outage.up();
    outage.up();

    expect(lines.map((l) => l.level)).toEqual(["warn", "warn", "warn", "info"]);
    expect(lines[0]?.msg).toBe("outbox relay: NATS unavailable: no responders");
    expect(lines[0]?.obj).toEqual({ dependency: "NATS", component: "outbox relay", error: "no responders" });
    expect(lines[1]?.obj).toMatchObject({ downForMs: 5060, failures: 46 });
    expect(lines[3]?.msg).toMatch(/^outbox relay: NATS is back after 12\.1 s$/);
    expect(lines[3]?.obj).toMatchObject({ downForMs: 12_100 });
    expect(outage.isDown()).toBe(false);
  });

  it("writes the error's message and code, never its stack", () => {
    const { logger, lines } = recordingLogger();
    outageLog({ logger, dependency: "PostgreSQL", component: "consumer c" }).down(refused());
    expect(lines[0]?.obj).toEqual({
      dependency: "PostgreSQL",
      component: "consumer c",
      error: "connect ECONNREFUSED 127.0.0.1:5432",
      code: "ECONNREFUSED",
    });
    expect(JSON.stringify(lines)).not.toContain("at ");
  });

  it("says nothing when a dependency that never went away answers", () => {
    const { logger, lines } = recordingLogger();
    outageLog({ logger, dependency: "NATS", component: "c" }).up();
    expect(lines).toEqual([]);
  });
});

describe("dependencyOutages", () => {
  it("tells a database outage from a NATS one and ends both on success", () => {
    const { logger, lines } = recordingLogger();
    const outages = dependencyOutages(logger, "outbox relay (ordering)");
    outages.failed(refused());
    outages.failed(new Error("TIMEOUT"));
    outages.succeeded();
    expect(lines.map((l) => [l.level, l.obj.dependency])).toEqual([
      ["warn", "PostgreSQL"],
      ["warn", "NATS"],
      ["info", "PostgreSQL"],
      ["info", "NATS"],
    ]);
  });
});
