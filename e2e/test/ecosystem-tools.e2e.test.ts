import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { Ajv } from "ajv";
import addFormats from "ajv-formats";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { StreamName } from "../support/bus.js";
import { cloudEventOf, headerAttributes } from "../support/cloudevents.js";
import { dispatchesReach, eventually, orderStatusIs, productHasBatches } from "../support/eventually.js";
import { publishRaw } from "../support/load.js";
import { operationsOf, redoclyProblems, validateOpenApi } from "../support/openapi.js";
import { parseExposition, promlintProblems } from "../support/promlint.js";
import { repoRoot, type ServiceName, type Stack, serviceNames, startStack } from "../support/stack.js";
import { SpanKind } from "../support/trace.js";

// The running system read by the tools its users' platforms run, not by our own code:
// the CloudEvents SDK, OpenAPI validators and linters, the Prometheus text-format rules,
// the OpenTelemetry semantic conventions. One stack for the file; a small flow first so
// that every stream, metric and span has something in it.

const SKU = "ECO-BOOKCASE";

let stack: Stack;
let orderId: string;

beforeAll(async () => {
  // Ordering's rate limit as in production, so its 429 is part of the document.
  stack = await startStack({
    label: "ecosystem",
    tracing: true,
    env: { ordering: { RATE_LIMIT_PER_MINUTE: "6000" } },
  });
  const batch = await stack.api.registerBatch({ reference: "eco-stock", sku: SKU, qty: 10, eta: null });
  expect(batch.status).toBe(201);
  await productHasBatches(stack, SKU, ["eco-stock"]);
  const placed = await stack.api.placeOrder({ customerId: "eco-customer", lines: [{ sku: SKU, qty: 2 }] });
  expect(placed.status).toBe(202);
  orderId = placed.body.orderId;
  await orderStatusIs(stack, orderId, "allocated");
  await dispatchesReach(stack, orderId, "has its dispatch", (d) => d.length === 1);
  // One poison message, so the dead-letter path shows on the bus, in /metrics and in the logs.
  await publishRaw(stack.natsConnection, "ordering.order_placed.v1", '{"orderId": "eco-poison", "lines": [');
  await eventually(
    stack,
    "the poison message in the DLQ",
    async () => (await stack.readStream("DLQ")).length === 1,
  );
});

afterAll(async () => {
  await stack?.dispose();
});

const eventStreams: StreamName[] = ["ORDERING", "ALLOCATION", "WAREHOUSE"];

describe("the events on the streams, read by the cloudevents SDK (NATS binding, binary mode)", () => {
  it("are valid CloudEvents 1.0 whose ce-* headers carry every attribute, datacontenttype included", async () => {
    let read = 0;
    for (const stream of eventStreams) {
      const events = await stack.readStream(stream);
      expect(events.length, `${stream} holds the flow's events`).toBeGreaterThan(0);
      // Only what the services published (the test's own poison message is not theirs).
      for (const event of events.filter((e) => e.headers["ce-source"] !== "/e2e-faults")) {
        const ce = cloudEventOf(event);
        expect(ce.specversion).toBe("1.0");
        expect(ce.type).toBe(event.subject);
        expect(ce.source).toBe(`/${event.subject.split(".")[0]}`);
        expect(ce.data).toEqual(event.payload);
        expect(headerAttributes(event), event.subject).toMatchObject({
          datacontenttype: "application/json",
          id: event.headers["nats-msg-id"],
        });
        expect(event.headers["content-type"]).toBe("application/json");
        read++;
      }
    }
    expect(read, "batch_registered, order_placed, line_allocated").toBeGreaterThanOrEqual(3);
  });
});

// biome-ignore lint/suspicious/noExplicitAny: OpenAPI and AsyncAPI documents read as plain JSON.
type Json = any;

describe("the messages on the streams, held to the committed AsyncAPI document", () => {
  const asyncApi: Json = JSON.parse(readFileSync(join(repoRoot, "contracts", "asyncapi.json"), "utf8"));
  const ajv = new Ajv({ strict: false, allErrors: true });
  addFormats.default(ajv);
  const headerErrors = (message: string, headers: Record<string, string>) => {
    const validate = ajv.compile(asyncApi.components.messages[message].headers);
    // NATS header names are case-insensitive: the document spells Nats-Msg-Id.
    const spelled = Object.fromEntries(
      Object.entries(headers).map(([k, v]) => [k === "nats-msg-id" ? "Nats-Msg-Id" : k, v]),
    );
    return validate(spelled) ? [] : (validate.errors ?? []).map((e) => `${e.instancePath} ${e.message}`);
  };

  it("gives every event the headers its message in the document requires", async () => {
    for (const stream of eventStreams) {
      for (const event of await stack.readStream(stream)) {
        if (event.headers["ce-source"] === "/e2e-faults") continue;
        expect(headerErrors(event.subject, event.headers), event.subject).toEqual([]);
      }
    }
  });

  it("gives a dead letter the dlq-* headers the document's dead_letter message describes", async () => {
    const [dead] = await stack.readStream("DLQ");
    expect(dead?.subject).toBe("dlq.allocation.ordering.order_placed.v1");
    expect(headerErrors("dead_letter", dead?.headers ?? {})).toEqual([]);
    expect(dead?.headers["dlq-reason"]).toBe("invalid_json");
  });
});

async function openApiOf(name: ServiceName): Promise<Json> {
  const res = await fetch(`${stack.urls[name]}/docs/json`);
  expect(res.status).toBe(200);
  return res.json();
}

describe.each(serviceNames)("%s's live OpenAPI document (/docs/json)", (name) => {
  it("is valid for swagger-parser", async () => {
    await expect(validateOpenApi(await openApiOf(name))).resolves.toBeUndefined();
  });

  it("passes Redocly's recommended rules without an error", async () => {
    const problems = await redoclyProblems(await openApiOf(name), name);
    const errors = problems.filter((p) => p.severity === "error");
    expect(errors.map((p) => `${p.rule} ${p.where}: ${p.message}`)).toEqual([]);
  });

  it("names its servers, and gives every operation an operationId and its security (empty when public)", async () => {
    const doc = await openApiOf(name);
    expect(doc.servers?.length).toBeGreaterThan(0);
    const ops = operationsOf(doc);
    expect(ops.length).toBeGreaterThan(3);
    for (const { path, method, op } of ops) {
      const where = `${method.toUpperCase()} ${path}`;
      expect(op.operationId, where).toMatch(/^[A-Za-z][A-Za-z0-9]*$/);
      expect(Array.isArray(op.security), `${where} says who may call it`).toBe(true);
      for (const requirement of op.security) {
        for (const scheme of Object.keys(requirement)) {
          expect(doc.components?.securitySchemes?.[scheme], `${where}: scheme ${scheme}`).toBeDefined();
        }
      }
    }
    expect(new Set(ops.map((o) => o.op.operationId)).size).toBe(ops.length);
  });

  it("describes /healthz, /readyz and /metrics", async () => {
    const doc = await openApiOf(name);
    for (const probe of ["/healthz", "/readyz", "/metrics"]) {
      const get = doc.paths[probe]?.get;
      expect(get?.summary, probe).toEqual(expect.any(String));
      expect(get?.responses?.["200"], probe).toBeDefined();
    }
    expect(doc.paths["/readyz"].get.responses["503"]).toBeDefined();
    expect(Object.keys(doc.paths["/metrics"].get.responses["200"].content)[0]).toMatch(/^text\/plain/);
  });

  it("describes the 413 and 415 of every body, Location on every 202 that creates, Retry-After on every 429 and 503", async () => {
    const doc = await openApiOf(name);
    for (const { path, method, op } of operationsOf(doc)) {
      const where = `${method.toUpperCase()} ${path}`;
      const responses = op.responses;
      if (op.requestBody) {
        expect(responses["413"], `${where} 413`).toBeDefined();
        expect(responses["415"], `${where} 415`).toBeDefined();
      }
      for (const code of ["429", "503"]) {
        // The console's 503 means "not built": nothing to retry, so no Retry-After.
        if (responses[code] && !(code === "503" && path === "/console"))
          expect(responses[code].headers?.["Retry-After"], `${where} ${code}`).toBeDefined();
      }
      if (!op.tags?.includes("probes"))
        expect(responses["503"], `${where} may answer 503 while a dependency is away`).toBeDefined();
    }
    if (name === "ordering") {
      const post = doc.paths["/orders"].post;
      expect(post.responses["202"].headers?.Location).toBeDefined();
      expect(post.responses["429"]).toBeDefined();
    }
  });
});

describe("warehouse's live OpenAPI document", () => {
  it("declares the staff bearer token and requires it on every write", async () => {
    const doc = await openApiOf("warehouse");
    const schemes = Object.entries(doc.components?.securitySchemes ?? {}) as [string, Json][];
    const bearer = schemes.filter(([, s]) => s.type === "http" && s.scheme === "bearer").map(([id]) => id);
    expect(bearer).toHaveLength(1);
    const writes = operationsOf(doc).filter((o) => o.method !== "get");
    expect(writes.length).toBeGreaterThanOrEqual(3);
    for (const { path, method, op } of writes) {
      expect(op.security, `${method.toUpperCase()} ${path}`).toEqual([{ [bearer[0] as string]: [] }]);
      expect(op.responses["401"], `${method.toUpperCase()} ${path} 401`).toBeDefined();
    }
    for (const { op } of operationsOf(doc).filter((o) => o.method === "get")) expect(op.security).toEqual([]);
  });
});

/** `promtool check metrics` on the text, when promtool is installed (Debian: `prometheus`). */
function promtool(text: string): { ran: boolean; status: number | null; output: string } {
  const run = spawnSync("promtool", ["check", "metrics"], { input: text, encoding: "utf8" });
  if (run.error) return { ran: false, status: null, output: String(run.error) };
  return { ran: true, status: run.status, output: `${run.stdout}${run.stderr}` };
}

describe.each(serviceNames)("%s's /metrics", (name) => {
  const scrape = async () => {
    const res = await fetch(`${stack.urls[name]}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^text\/plain; version=0\.0\.4/);
    return res.text();
  };

  it("parses as the Prometheus text format and breaks none of promtool's rules", async () => {
    const text = await scrape();
    // The real tool where the machine has it; the same rules in JS stand in everywhere.
    const real = promtool(text);
    if (real.ran) expect.soft(real.output.trim(), "promtool check metrics").toBe("");
    if (real.ran) expect.soft(real.status).toBe(0);
    expect(promlintProblems(parseExposition(text))).toEqual([]);
  });

  it("has dead-letter series from the start and the number of dead letters waiting in the DLQ", async () => {
    const families = parseExposition(await scrape());
    const dead = families.find((f) => f.name === "stockflow_messages_dead_lettered_total");
    // Durable names start with the service's (ordering's v1 and v2 readers alike).
    const own = dead?.samples.filter((s) => s.labels.consumer?.startsWith(`${name}-`)) ?? [];
    expect(own.length, "a series per subject and reason").toBeGreaterThanOrEqual(4);
    const waiting = families.find((f) => f.name === "stockflow_dead_letters_waiting");
    expect(waiting?.type).toBe("gauge");
    const expected = name === "allocation" ? 1 : 0;
    expect(waiting?.samples.find((s) => s.labels.service === name)?.value).toBe(expected);
    const poisoned = own.filter((s) => s.value > 0).map((s) => `${s.labels.subject} ${s.labels.reason}`);
    expect(poisoned).toEqual(name === "allocation" ? ["ordering.order_placed.v1 invalid_json"] : []);
  });
});

describe("the spans, held to the OpenTelemetry semantic conventions", () => {
  const received = async () => {
    const otlp = stack.otlp;
    if (!otlp) throw new Error("the stack was started without an OTLP receiver");
    // The flow's consumer spans of every service arrive within a batch delay or two.
    return eventually(stack, "spans of the three services", async () => {
      const spans = otlp.spans();
      const services = new Set(spans.filter((s) => s.kind === SpanKind.CONSUMER).map((s) => s.service));
      return services.size === 3 && spans;
    });
  };

  it("carry service.name and service.version as resource attributes", async () => {
    for (const span of await received()) {
      expect(span.resource["service.version"], `${span.service} ${span.name}`).toMatch(/^\d+\.\d+\.\d+/);
      expect(serviceNames).toContain(span.resource["service.name"]);
    }
  });

  it("give HTTP server spans the HTTP conventions' required attributes, url.scheme and server.address among them", async () => {
    const servers = (await received()).filter((s) => s.kind === SpanKind.SERVER);
    expect(servers.length).toBeGreaterThanOrEqual(2);
    for (const span of servers) {
      expect(span.attributes, span.name).toMatchObject({
        "http.request.method": expect.any(String),
        "url.path": expect.any(String),
        "url.scheme": "http",
        "server.address": "127.0.0.1",
        "server.port": expect.any(Number),
        "http.response.status_code": expect.any(Number),
      });
    }
    expect(servers.find((s) => s.name === "POST /orders")?.attributes["http.route"]).toBe("/orders");
  });

  it("give messaging spans the NATS server's address and port", async () => {
    const messaging = (await received()).filter(
      (s) => s.kind === SpanKind.PRODUCER || s.kind === SpanKind.CONSUMER,
    );
    expect(messaging.length).toBeGreaterThanOrEqual(4);
    const port = Number(new URL(stack.nats.url).port);
    for (const span of messaging) {
      expect(span.attributes, span.name).toMatchObject({
        "server.address": "127.0.0.1",
        "server.port": port,
      });
    }
  });

  it("make no trace of /healthz, /readyz and /metrics", async () => {
    for (const name of serviceNames) {
      for (const probe of ["/healthz", "/readyz", "/metrics"])
        expect((await fetch(stack.urls[name] + probe)).ok).toBe(true);
    }
    // A request that is traced, sent after the probes: once its span is in, theirs would be too.
    const traced = await stack.api.getOrder(orderId);
    const traceId = traced.headers.get("traceresponse")?.split("-")[1];
    await eventually(stack, "the GET /orders span", async () =>
      stack.otlp?.spans().some((s) => s.traceId === traceId),
    );
    const probes = (stack.otlp?.spans() ?? []).filter((s) =>
      /healthz|readyz|metrics/.test(`${s.name} ${s.attributes["url.path"]}`),
    );
    expect(probes.map((s) => `${s.service} ${s.name}`)).toEqual([]);
  });

  it("log the consumer's 'message dead-lettered' warning with the trace_id of its span", async () => {
    const lines = stack
      .logs("allocation")
      .split("\n")
      .filter((l) => l.includes("message dead-lettered"))
      .map((l) => JSON.parse(l.slice(l.indexOf("{"))));
    expect(lines).toHaveLength(1);
    expect(lines[0].trace_id).toMatch(/^[0-9a-f]{32}$/);
    const span = stack.otlp?.spans().find((s) => s.traceId === lines[0].trace_id);
    expect(span?.name).toBe("process ordering.order_placed.v1");
  });
});
