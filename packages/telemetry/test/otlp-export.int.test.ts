import { createServer, type IncomingMessage } from "node:http";
import type { AddressInfo } from "node:net";
import { context, propagation, trace } from "@opentelemetry/api";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTelemetry, tracer } from "../src/index.js";

interface OtlpAttribute {
  key: string;
  value: { stringValue?: string };
}
interface OtlpExport {
  resourceSpans: {
    resource: { attributes: OtlpAttribute[] };
    scopeSpans: { spans: { name: string; traceId: string }[] }[];
  }[];
}

const received: { path: string; contentType: string; body: OtlpExport }[] = [];
const receiver = createServer((req: IncomingMessage, res) => {
  const chunks: Buffer[] = [];
  req.on("data", (c: Buffer) => chunks.push(c));
  req.on("end", () => {
    received.push({
      path: req.url ?? "",
      contentType: req.headers["content-type"] ?? "",
      body: JSON.parse(Buffer.concat(chunks).toString()) as OtlpExport,
    });
    res.writeHead(200, { "content-type": "application/json" }).end("{}");
  });
});

beforeAll(async () => {
  await new Promise<void>((resolve) => receiver.listen(0, "127.0.0.1", resolve));
  const { port } = receiver.address() as AddressInfo;
  process.env.OTEL_EXPORTER_OTLP_ENDPOINT = `http://127.0.0.1:${port}`;
  process.env.OTEL_EXPORTER_OTLP_PROTOCOL = "http/json";
  delete process.env.OTEL_TRACES_EXPORTER;
  delete process.env.OTEL_SERVICE_NAME;
});
afterAll(async () => {
  await new Promise<void>((resolve) => receiver.close(() => resolve()));
});

describe("startTelemetry", () => {
  it("exports spans as OTLP/HTTP JSON to the configured endpoint, flushed by shutdown", async () => {
    const telemetry = startTelemetry({ serviceName: "otlp-test", serviceVersion: "1.2.3" });
    const span = tracer().startSpan("exported work");
    span.end();
    await telemetry.shutdown();

    expect(received.map((r) => r.path)).toContain("/v1/traces");
    const batch = received.find((r) => r.path === "/v1/traces");
    expect(batch?.contentType).toContain("application/json");
    const [resourceSpans] = batch?.body.resourceSpans ?? [];
    const attrs = Object.fromEntries(
      (resourceSpans?.resource.attributes ?? []).map((a) => [a.key, a.value.stringValue]),
    );
    expect(attrs["service.name"]).toBe("otlp-test");
    expect(attrs["service.version"]).toBe("1.2.3");
    const spans = resourceSpans?.scopeSpans.flatMap((s) => s.spans) ?? [];
    expect(spans.map((s) => s.name)).toContain("exported work");
  });

  it("lets OTEL_SERVICE_NAME override the service name given in code", async () => {
    // A second SDK in the same process must not find the first one's globals.
    trace.disable();
    context.disable();
    propagation.disable();
    received.length = 0;
    process.env.OTEL_SERVICE_NAME = "renamed";
    try {
      const telemetry = startTelemetry({ serviceName: "otlp-test" });
      tracer().startSpan("renamed work").end();
      await telemetry.shutdown();
    } finally {
      delete process.env.OTEL_SERVICE_NAME;
    }
    const attrs = received
      .flatMap((r) => r.body.resourceSpans)
      .flatMap((rs) => rs.resource.attributes)
      .filter((a) => a.key === "service.name")
      .map((a) => a.value.stringValue);
    expect(attrs).toEqual(["renamed"]);
  });
});
