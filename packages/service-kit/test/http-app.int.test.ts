import { connect } from "node:net";
import { Writable } from "node:stream";
import helmet from "@fastify/helmet";
import { Type } from "@fastify/type-provider-typebox";
import { SpanKind, trace } from "@opentelemetry/api";
import { createLogger } from "@stockflow/telemetry";
import { collectSpans, freePort } from "@stockflow/testkit";
import Fastify from "fastify";
import postgres, { type Sql } from "postgres";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { buildHttpApp, type HttpApp, HttpError } from "../src/index.js";

const spans = collectSpans();
const logLines: Record<string, unknown>[] = [];
const logger = createLogger({
  service: "http-test",
  level: "debug",
  destination: new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString().split("\n").filter(Boolean)) logLines.push(JSON.parse(line));
      done();
    },
  }),
});

let app: HttpApp;
/** A client of a database that is not there: nothing listens on its port. */
let absentDatabase: Sql;
let activeInHandler: { traceId: string; spanId: string } | undefined;

beforeAll(async () => {
  app = await buildHttpApp({
    service: "test",
    version: "1.0.0",
    logger,
    readiness: async () => ({ ready: true, checks: { database: true } }),
  });
  app.post(
    "/orders",
    {
      schema: {
        body: Type.Object(
          { customerId: Type.String(), qty: Type.Integer({ minimum: 1 }) },
          { additionalProperties: false },
        ),
        response: { 202: Type.Object({ orderId: Type.String() }) },
      },
    },
    async (request, reply) => {
      activeInHandler = trace.getActiveSpan()?.spanContext();
      return reply.code(202).send({ orderId: `${request.body.customerId}-${request.body.qty}` });
    },
  );
  app.post("/orders/:orderId/cancel", async (_request, reply) => reply.code(202).send());
  app.get(
    "/items/:id",
    { schema: { params: Type.Object({ id: Type.String({ maxLength: 200 }) }) } },
    async (request) => ({ id: request.params.id }),
  );
  app.get("/teapot", async () => {
    throw new HttpError(409, "order_already_cancelled", "order o-1 is already cancelled");
  });
  absentDatabase = postgres(`postgres://postgres@127.0.0.1:${await freePort()}/gone`, {
    max: 1,
    connect_timeout: 2,
  });
  app.get("/stock", async () => absentDatabase`select 1`);
  app.get("/boom", async () => {
    throw new Error("connection string postgres://secret@db leaked");
  });
  await app.ready();
});

afterAll(async () => {
  await absentDatabase.end({ timeout: 1 });
  await app.close();
  await spans.shutdown();
});

beforeEach(() => spans.reset());

const postOrder = (payload: string, contentType = "application/json") =>
  app.inject({ method: "POST", url: "/orders", headers: { "content-type": contentType }, payload });

describe("built-in routes", () => {
  it("answers /healthz with status ok", async () => {
    const res = await app.inject({ method: "GET", url: "/healthz" });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ status: "ok" });
  });

  it("answers /readyz from the readiness function", async () => {
    const res = await app.inject({ method: "GET", url: "/readyz" });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ status: "ready", checks: { database: true } });
  });

  it("serves Prometheus metrics with the request duration histogram by route pattern", async () => {
    await app.inject({ method: "POST", url: "/orders/o-9/cancel" });
    const res = await app.inject({ method: "GET", url: "/metrics" });
    expect(res.statusCode).toBe(200);
    expect(res.headers["content-type"]).toContain("text/plain");
    expect(res.body).toContain("process_cpu_user_seconds_total");
    expect(res.body).toMatch(
      /http_request_duration_seconds_count\{method="POST",route="\/orders\/:orderId\/cancel",status_code="202"\} 1/,
    );
  });

  it("serves the OpenAPI document with the service's routes at /docs/json and a UI at /docs", async () => {
    const json = await app.inject({ method: "GET", url: "/docs/json" });
    expect(json.statusCode).toBe(200);
    const doc = json.json() as { openapi: string; paths: Record<string, unknown> };
    expect(doc.openapi).toMatch(/^3\./);
    expect(Object.keys(doc.paths)).toContain("/orders");
    const ui = await app.inject({ method: "GET", url: "/docs" });
    expect(ui.statusCode).toBe(200);
    expect(ui.headers["content-type"]).toContain("text/html");
  });

  it("sends security headers", async () => {
    const res = await app.inject({ method: "GET", url: "/healthz" });
    expect(res.headers["x-content-type-options"]).toBe("nosniff");
    expect(res.headers["x-frame-options"]).toBe("SAMEORIGIN");
  });

  it("sends exactly the headers @fastify/helmet sends, on errors too", async () => {
    const reference = Fastify();
    await reference.register(helmet, { contentSecurityPolicy: false });
    reference.get("/healthz", async () => ({ status: "ok" }));
    const expected = (await reference.inject({ method: "GET", url: "/healthz" })).headers;
    await reference.close();
    const helmetHeaders = Object.keys(expected).filter(
      (h) => !["content-type", "content-length", "date", "connection"].includes(h),
    );
    expect(helmetHeaders.length).toBeGreaterThan(5);
    for (const url of ["/healthz", "/no-such-route", "/boom"]) {
      const res = await app.inject({ method: "GET", url });
      for (const h of helmetHeaders) expect(res.headers[h], `${url} ${h}`).toBe(expected[h]);
    }
  });
});

describe("request bodies and errors", () => {
  it("accepts a body that matches its schema", async () => {
    const res = await postOrder(JSON.stringify({ customerId: "c-1", qty: 2 }));
    expect(res.statusCode).toBe(202);
    expect(res.json()).toEqual({ orderId: "c-1-2" });
  });

  it("refuses an unknown body field with 400 validation_failed", async () => {
    const res = await postOrder(JSON.stringify({ customerId: "c-1", qty: 2, admin: true }));
    expect(res.statusCode).toBe(400);
    expect(res.json()).toEqual({ error: "validation_failed", message: expect.stringContaining('"admin"') });
  });

  it("does not coerce types: a string where an integer belongs is refused", async () => {
    const res = await postOrder(JSON.stringify({ customerId: "c-1", qty: "2" }));
    expect(res.statusCode).toBe(400);
    expect(res.json().error).toBe("validation_failed");
  });

  it("refuses a body that is not a JSON object", async () => {
    for (const payload of ["[]", '"text"', "42", "null"]) {
      const res = await app.inject({
        method: "POST",
        url: "/orders/o-1/cancel",
        headers: { "content-type": "application/json" },
        payload,
      });
      expect(res.statusCode, payload).toBe(400);
      expect(Object.keys(res.json()).sort()).toEqual(["error", "message"]);
    }
  });

  it("accepts an empty JSON body on a route without a body", async () => {
    const res = await app.inject({
      method: "POST",
      url: "/orders/o-1/cancel",
      headers: { "content-type": "application/json" },
    });
    expect(res.statusCode).toBe(202);
  });

  it("answers malformed JSON with 400 invalid_json", async () => {
    const res = await postOrder('{"customerId": ');
    expect(res.statusCode).toBe(400);
    expect(res.json()).toEqual({ error: "invalid_json", message: expect.any(String) });
  });

  it("answers a body over 1 MiB with 413 payload_too_large", async () => {
    const res = await postOrder(JSON.stringify({ customerId: "x".repeat(1024 * 1024), qty: 1 }));
    expect(res.statusCode).toBe(413);
    expect(res.json()).toEqual({ error: "payload_too_large", message: expect.any(String) });
  });

  it("answers a body that is not JSON with 415 unsupported_media_type", async () => {
    for (const type of ["text/plain", "application/x-www-form-urlencoded"]) {
      const res = await postOrder("customerId=c-1", type);
      expect(res.statusCode, type).toBe(415);
      expect(res.json()).toEqual({ error: "unsupported_media_type", message: expect.any(String) });
    }
  });

  it("answers an unknown route with 404 not_found", async () => {
    const res = await app.inject({ method: "GET", url: "/nowhere?x=1" });
    expect(res.statusCode).toBe(404);
    expect(res.json()).toEqual({ error: "not_found", message: expect.any(String) });
  });

  it("answers an HttpError with its status, code and message", async () => {
    const res = await app.inject({ method: "GET", url: "/teapot" });
    expect(res.statusCode).toBe(409);
    expect(res.json()).toEqual({
      error: "order_already_cancelled",
      message: "order o-1 is already cancelled",
    });
  });

  it("answers 503 service_unavailable with Retry-After while the database is unreachable", async () => {
    const res = await app.inject({ method: "GET", url: "/stock" });
    expect(res.statusCode).toBe(503);
    expect(res.headers["retry-after"]).toBe("1");
    expect(res.json()).toEqual({ error: "service_unavailable", message: expect.any(String) });
    expect(res.body).not.toContain("127.0.0.1");
  });

  it("answers an unexpected error with a bare 500 and logs the real one", async () => {
    const res = await app.inject({ method: "GET", url: "/boom" });
    expect(res.statusCode).toBe(500);
    expect(res.json()).toEqual({ error: "internal_error", message: "internal error" });
    expect(res.body).not.toContain("secret");
    const logged = logLines.find((l) => l.msg === "request failed");
    expect(JSON.stringify(logged)).toContain("postgres://secret@db leaked");
    expect(logged).toHaveProperty("reqId");
  });
});

describe("hostile requests", () => {
  const standardError = { error: expect.any(String), message: expect.any(String) };

  it("answers a URL with malformed percent-encoding with 400 invalid_url", async () => {
    for (const url of ["/items/%ZZ", "/items/%E0%A4%A", "/orders/%C0%80/cancel"]) {
      const res = await app.inject({ method: url.endsWith("cancel") ? "POST" : "GET", url });
      expect(res.statusCode, url).toBe(400);
      expect(res.json(), url).toEqual({ error: "invalid_url", message: expect.any(String) });
    }
  });

  it("answers a path parameter longer than the router allows like any over-long parameter", async () => {
    const res = await app.inject({ method: "GET", url: `/items/${"x".repeat(10_000)}` });
    expect(res.statusCode).toBe(400);
    expect(res.json()).toEqual({ error: "validation_failed", message: expect.any(String) });
  });

  it("refuses NUL and unpaired surrogates in query strings and bodies with 400", async () => {
    const answers = await Promise.all([
      app.inject({ method: "GET", url: "/items/a?q=%00" }),
      postOrder('{"customerId": "c\\u0000", "qty": 1}'),
      postOrder('{"customerId": "c\\ud800", "qty": 1}'),
      postOrder('{"customerId": "c\\udc00x", "qty": 1}'),
    ]);
    for (const res of answers) {
      expect(res.statusCode, res.body).toBe(400);
      expect(res.json()).toEqual({ error: "validation_failed", message: expect.any(String) });
    }
    const paired = await postOrder(JSON.stringify({ customerId: "c-\u{1F600}", qty: 1 }));
    expect(paired.statusCode).toBe(202);
  });

  it("leaves a path parameter with NUL to the route, which answers for the id it names", async () => {
    const res = await app.inject({ method: "GET", url: "/items/a%00b" });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ id: "a\u0000b" });
  });

  it("refuses a deeply nested body with 400, not a stack overflow", async () => {
    const deep = `${"[".repeat(100_000)}${"]".repeat(100_000)}`;
    const res = await postOrder(`{"customerId": "c", "qty": 1, "x": ${deep}}`);
    expect(res.statusCode).toBe(400);
    expect(res.json()).toEqual(standardError);
  });

  it("answers HTTP that Node cannot parse with the standard error shape", async () => {
    const address = await app.listen({ port: 0, host: "127.0.0.1" });
    const { port } = new URL(address);
    const answer = await new Promise<string>((resolve, reject) => {
      const socket = connect(Number(port), "127.0.0.1", () =>
        socket.write("GET /healthz HTTP/1.1\r\nBad Header\r\n\r\n"),
      );
      let text = "";
      socket.on("data", (chunk) => {
        text += chunk.toString();
      });
      socket.on("end", () => resolve(text));
      socket.on("error", reject);
    });
    expect(answer).toMatch(/^HTTP\/1\.1 400 /);
    expect(JSON.parse(answer.slice(answer.indexOf("\r\n\r\n") + 4))).toEqual({
      error: "bad_request",
      message: expect.any(String),
    });
  });
});

describe("server spans", () => {
  it("makes the SERVER span the active span inside a handler that reads a JSON body", async () => {
    activeInHandler = undefined;
    const res = await postOrder(JSON.stringify({ customerId: "c-2", qty: 1 }));
    expect(res.statusCode).toBe(202);

    const [span] = spans.byName("POST /orders");
    expect(span?.kind).toBe(SpanKind.SERVER);
    // Assigned by the handler; TypeScript cannot see that and narrows it to undefined.
    const active = activeInHandler as { spanId: string } | undefined;
    expect(active?.spanId).toBe(span?.spanContext().spanId);
    expect(span?.attributes).toMatchObject({
      "http.request.method": "POST",
      "http.route": "/orders",
      "url.path": "/orders",
      "http.response.status_code": 202,
    });
  });

  it("tells the caller its trace in a traceresponse header", async () => {
    const res = await postOrder(JSON.stringify({ customerId: "c-3", qty: 1 }));
    const [span] = spans.byName("POST /orders");
    expect(res.headers.traceresponse).toBe(
      `00-${span!.spanContext().traceId}-${span!.spanContext().spanId}-01`,
    );
  });

  it("continues the trace of an incoming traceparent", async () => {
    const traceId = "0af7651916cd43dd8448eb211c80319c";
    await app.inject({
      method: "POST",
      url: "/orders",
      headers: { "content-type": "application/json", traceparent: `00-${traceId}-b7ad6b7169203331-01` },
      payload: JSON.stringify({ customerId: "c-3", qty: 1 }),
    });
    const [span] = spans.byName("POST /orders");
    expect(span?.spanContext().traceId).toBe(traceId);
    expect(span?.parentSpanContext?.spanId).toBe("b7ad6b7169203331");
  });

  it("marks a 500 as an error and names the route pattern", async () => {
    await app.inject({ method: "GET", url: "/boom" });
    const [span] = spans.byName("GET /boom");
    expect(span?.status.code).toBe(2);
    expect(span?.attributes["http.response.status_code"]).toBe(500);
  });

  it("writes the trace id on the request's log line", async () => {
    await app.inject({ method: "POST", url: "/orders/o-2/cancel" });
    const [span] = spans.byName("POST /orders/:orderId/cancel");
    const line = logLines.findLast((l) => l.msg === "request completed");
    expect(line).toMatchObject({ trace_id: span?.spanContext().traceId, statusCode: 202 });
  });
});

describe("request log lines", () => {
  const completed = (reqId: unknown) =>
    logLines.filter((l) => l.msg === "request completed" && l.reqId === reqId);

  it("logs a completed request at debug, with its request id, route and status", async () => {
    const res = await app.inject({
      method: "POST",
      url: "/orders/o-3/cancel",
      headers: { "x-request-id": "req-debug-1" },
    });
    expect(res.statusCode).toBe(202);
    expect(completed("req-debug-1")).toEqual([
      expect.objectContaining({
        level: 20,
        route: "/orders/:orderId/cancel",
        statusCode: 202,
        durationMs: expect.any(Number),
      }),
    ]);
  });

  it("logs a 5xx answer at warn besides the error itself", async () => {
    await app.inject({ method: "GET", url: "/boom", headers: { "x-request-id": "req-boom-1" } });
    expect(completed("req-boom-1")).toEqual([expect.objectContaining({ level: 40, statusCode: 500 })]);
    expect(logLines.filter((l) => l.reqId === "req-boom-1" && l.msg === "request failed")).toEqual([
      expect.objectContaining({ level: 50 }),
    ]);
  });

  it("writes no line for a successful request at info, but still the 5xx ones", async () => {
    const lines: Record<string, unknown>[] = [];
    const infoApp = await buildHttpApp({
      service: "test-info",
      logger: createLogger({
        service: "http-test-info",
        level: "info",
        destination: new Writable({
          write(chunk: Buffer, _enc, done) {
            for (const line of chunk.toString().split("\n").filter(Boolean)) lines.push(JSON.parse(line));
            done();
          },
        }),
      }),
      readiness: async () => ({ ready: true, checks: {} }),
    });
    infoApp.get("/boom", async () => {
      throw new Error("boom");
    });
    try {
      await infoApp.inject({ method: "GET", url: "/healthz" });
      await infoApp.inject({ method: "GET", url: "/boom" });
      expect(lines.filter((l) => l.msg === "request completed")).toEqual([
        expect.objectContaining({ level: 40, statusCode: 500, route: "/boom" }),
      ]);
    } finally {
      await infoApp.close();
    }
  });
});
