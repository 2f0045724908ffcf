import { Type } from "@fastify/type-provider-typebox";
import { createLogger } from "@stockflow/telemetry";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { operationIdOf } from "../src/http/openapi.js";
import { buildHttpApp, type HttpApp, limitRatePerClient } from "../src/index.js";

let app: HttpApp;
// biome-ignore lint/suspicious/noExplicitAny: the document is read as plain JSON.
let doc: any;

beforeAll(async () => {
  app = await buildHttpApp({
    service: "test",
    version: "1.2.3",
    logger: createLogger({ service: "openapi-test", level: "silent" }),
    readiness: async () => ({ ready: false, checks: { database: false } }),
    securitySchemes: { staffToken: { type: "http", scheme: "bearer" } },
  });
  await app.register(async (scope) => {
    await limitRatePerClient(scope, 100);
    scope.post(
      "/things",
      {
        config: { openapi: { headers: { 202: { Location: { type: "string", description: "the thing" } } } } },
        schema: {
          security: [{ staffToken: [] }],
          body: Type.Object({ name: Type.String() }, { additionalProperties: false }),
          response: { 202: Type.Object({ id: Type.String() }) },
        },
      },
      async (_request, reply) => reply.code(202).header("location", "/things/1").send({ id: "1" }),
    );
  });
  app.get("/things/:id", { schema: { operationId: "getThing" } }, async () => ({ id: "1" }));
  await app.ready();
  doc = (await app.inject({ method: "GET", url: "/docs/json" })).json();
});

afterAll(async () => {
  await app.close();
});

describe("the OpenAPI document every service serves", () => {
  it("derives an operationId from method and path where a route names none", () => {
    expect(operationIdOf("POST", "/orders/:orderId/cancel")).toBe("postOrdersByOrderIdCancel");
    expect(operationIdOf("GET", "/dispatches")).toBe("getDispatches");
    expect(doc.paths["/things"].post.operationId).toBe("postThings");
    expect(doc.paths["/things/{id}"].get.operationId).toBe("getThing");
  });

  it("says who may call each operation: the route's scheme, else an explicit empty list", () => {
    expect(doc.servers).toEqual([{ url: "/", description: "this test service" }]);
    expect(doc.components.securitySchemes.staffToken).toEqual({ type: "http", scheme: "bearer" });
    expect(doc.paths["/things"].post.security).toEqual([{ staffToken: [] }]);
    expect(doc.paths["/things/{id}"].get.security).toEqual([]);
  });

  it("adds the shared answers: 400/413/415 for a body, 429 under the rate limit, 503 with Retry-After", () => {
    const post = doc.paths["/things"].post.responses;
    expect(Object.keys(post).sort()).toEqual(["202", "400", "413", "415", "429", "503"]);
    expect(post["202"].headers.Location.schema).toEqual({ type: "string" });
    expect(post["429"].headers["Retry-After"]).toBeDefined();
    expect(post["503"].headers["Retry-After"]).toBeDefined();
    expect(Object.keys(doc.paths["/things/{id}"].get.responses).sort()).toEqual(["200", "503"]);
  });

  it("describes the probes without changing what they answer", async () => {
    for (const probe of ["/healthz", "/readyz", "/metrics"]) {
      expect(doc.paths[probe].get.summary, probe).toEqual(expect.any(String));
    }
    expect(doc.paths["/healthz"].get.responses["503"]).toBeUndefined();
    const ready = await app.inject({ method: "GET", url: "/readyz" });
    expect(ready.statusCode).toBe(503);
    expect(ready.headers["retry-after"]).toBe("1");
    expect(ready.json()).toEqual({ status: "not_ready", checks: { database: false } });
    const metrics = await app.inject({ method: "GET", url: "/metrics" });
    expect(metrics.headers["content-type"]).toMatch(/^text\/plain/);
  });
});
