import { Writable } from "node:stream";
import { trace } from "@opentelemetry/api";
import { afterAll, describe, expect, it } from "vitest";
import { createLogger, startTelemetry, traceExportMode, tracer } from "../src/index.js";

function captured() {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString().split("\n").filter(Boolean)) lines.push(JSON.parse(line));
      done();
    },
  });
  return { lines, stream };
}

// No OTLP endpoint in the test environment: the provider is registered but exports nothing.
delete process.env.OTEL_EXPORTER_OTLP_ENDPOINT;
delete process.env.OTEL_TRACES_EXPORTER;
const telemetry = startTelemetry({ serviceName: "logger-test" });
afterAll(() => telemetry.shutdown());

describe("createLogger", () => {
  it("writes trace_id and span_id of the active span on every line", () => {
    const { lines, stream } = captured();
    const logger = createLogger({ service: "ordering", destination: stream });
    let ids: { traceId: string; spanId: string } | undefined;
    tracer().startActiveSpan("work", (span) => {
      ids = span.spanContext();
      logger.info("inside");
      span.end();
    });
    expect(ids?.traceId).toMatch(/^[0-9a-f]{32}$/);
    expect(lines[0]).toMatchObject({
      msg: "inside",
      service: "ordering",
      trace_id: ids?.traceId,
      span_id: ids?.spanId,
    });
  });

  it("writes no trace fields outside a span", () => {
    const { lines, stream } = captured();
    createLogger({ service: "ordering", destination: stream }).info("outside");
    expect(trace.getActiveSpan()).toBeUndefined();
    expect(lines[0]).not.toHaveProperty("trace_id");
  });

  it("honours the level", () => {
    const { lines, stream } = captured();
    const logger = createLogger({ service: "ordering", level: "warn", destination: stream });
    logger.info("dropped");
    logger.warn("kept");
    expect(lines.map((l) => l.msg)).toEqual(["kept"]);
  });

  it("never writes an Authorization or Cookie header or a password, wherever it sits", () => {
    const { lines, stream } = captured();
    const logger = createLogger({ service: "warehouse", destination: stream });
    const secret = "Bearer s3cret-token";
    logger.info({ req: { method: "GET", headers: { authorization: secret, cookie: "sid=1" } } }, "a request");
    logger.info({ headers: { authorization: secret, accept: "application/json" } }, "headers");
    logger
      .child({ request: { headers: { authorization: secret } } })
      .warn({ authorization: secret }, "child");
    logger.error({ password: "hunter2", db: { password: "hunter2" } }, "config");
    const text = JSON.stringify(lines);
    expect(text).not.toContain("s3cret-token");
    expect(text).not.toContain("hunter2");
    expect(text).not.toContain("sid=1");
    expect(lines[1]).toMatchObject({ headers: { authorization: "[redacted]", accept: "application/json" } });
  });
});

describe("traceExportMode", () => {
  it("exports nothing when neither an endpoint nor an exporter is configured", () => {
    expect(traceExportMode({})).toBe("none");
  });
  it("exports over OTLP when an endpoint is configured", () => {
    expect(traceExportMode({ OTEL_EXPORTER_OTLP_ENDPOINT: "http://jaeger:4318" })).toBe("otlp");
    expect(traceExportMode({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: "http://jaeger:4318/v1/traces" })).toBe(
      "otlp",
    );
  });
  it("follows OTEL_TRACES_EXPORTER when it is set", () => {
    expect(traceExportMode({ OTEL_TRACES_EXPORTER: "none", OTEL_EXPORTER_OTLP_ENDPOINT: "http://x" })).toBe(
      "none",
    );
    expect(traceExportMode({ OTEL_TRACES_EXPORTER: "otlp" })).toBe("otlp");
    expect(traceExportMode({ OTEL_TRACES_EXPORTER: "console" })).toBe("env");
  });
});
