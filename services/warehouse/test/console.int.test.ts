import { afterAll, beforeAll, describe, expect, it } from "vitest";
// @ts-expect-error: a plain .mjs build script, without types
import { buildConsole } from "../scripts/build-console.mjs";
import { CONSOLE_CSP } from "../src/http/console.js";
import { type Harness, STAFF_TOKEN, startHarness } from "./harness.js";

let h: Harness;

beforeAll(async () => {
  // The console's files are what the package's build writes; build them as it does.
  await buildConsole();
  // debug: the kit then writes a line for every request, the lines most likely to leak a header.
  h = await startHarness("warehouse_console", { LOG_LEVEL: "debug" });
});
afterAll(async () => {
  await h?.close();
});

const get = (url: string, headers: Record<string, string> = {}) =>
  h.service.app.inject({ method: "GET", url, headers });

describe("GET /console", () => {
  it("serves the page with its own stylesheet and script and no inline script or style", async () => {
    const res = await get("/console");
    expect(res.statusCode).toBe(200);
    expect(res.headers["content-type"]).toBe("text/html; charset=utf-8");
    const html = res.body;
    expect(html).toContain('<script type="module" src="/console/console.js"></script>');
    expect(html).toContain('<link rel="stylesheet" href="/console/console.css">');
    expect(html).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/);
    expect(html).not.toMatch(/<style|\sstyle=|\son[a-z]+=/i);
    expect(html).not.toMatch(/https?:\/\//);
  });

  it.each([
    ["/console/console.js", "text/javascript; charset=utf-8"],
    ["/console/console.css", "text/css; charset=utf-8"],
  ])("serves %s built by the package's build", async (url, type) => {
    const res = await get(url);
    expect(res.statusCode).toBe(200);
    expect(res.headers["content-type"]).toBe(type);
    expect(res.body.length).toBeGreaterThan(500);
    expect(res.body).not.toMatch(/https?:\/\/(?!www\.w3\.org)/);
  });

  it.each(["/console", "/console/console.js", "/console/console.css"])(
    "sends %s with a CSP that allows only the page's own files, and the API's security headers",
    async (url) => {
      const api = await get("/batches?sku=ANY");
      const res = await get(url);
      expect(res.headers["content-security-policy"]).toBe(CONSOLE_CSP);
      for (const directive of [
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "connect-src 'self'",
        "form-action 'none'",
        "frame-ancestors 'none'",
        "base-uri 'none'",
      ]) {
        expect(CONSOLE_CSP).toContain(directive);
      }
      expect(CONSOLE_CSP).not.toMatch(/unsafe-inline|unsafe-eval|\*/);
      for (const name of [
        "x-content-type-options",
        "x-frame-options",
        "referrer-policy",
        "strict-transport-security",
        "cross-origin-opener-policy",
        "cross-origin-resource-policy",
      ]) {
        expect(api.headers[name], name).toBeDefined();
        expect(res.headers[name], name).toBe(api.headers[name]);
      }
    },
  );

  it("sends /console/ on to /console", async () => {
    const res = await get("/console/");
    expect(res.statusCode).toBe(308);
    expect(res.headers.location).toBe("/console");
  });

  it("is listed in the OpenAPI document, its assets are not", async () => {
    const doc = (await get("/docs/json")).json();
    expect(doc.paths["/console"]?.get).toBeDefined();
    expect(doc.paths["/console/console.js"]).toBeUndefined();
  });
});

describe("GET /staff/whoami", () => {
  it("accepts the staff token with its fingerprint, never the token", async () => {
    const res = await get("/staff/whoami", { authorization: `Bearer ${STAFF_TOKEN}` });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ actor: expect.stringMatching(/^sha256:[0-9a-f]{16}$/) });
    expect(JSON.stringify(res.headers) + res.body).not.toContain(STAFF_TOKEN);
  });

  it.each([
    ["no token", undefined],
    ["a wrong token", "Bearer not-the-staff-token"],
    ["another scheme", `Basic ${STAFF_TOKEN}`],
  ])("refuses %s with 401 unauthorized", async (_what, authorization) => {
    const res = await get("/staff/whoami", authorization ? { authorization } : {});
    expect(res.statusCode).toBe(401);
    expect(res.json()).toEqual({ error: "unauthorized", message: expect.any(String) });
    expect(res.body).not.toContain("not-the-staff-token");
  });
});

describe("the staff token in the logs", () => {
  it("appears in no log line, at debug level, for accepted and refused requests alike", async () => {
    const wrong = "wrong-token-that-must-not-be-logged";
    const json = { "content-type": "application/json" };
    const reference = `LOG-${Date.now()}`;
    for (const token of [STAFF_TOKEN, wrong]) {
      const authorization = `Bearer ${token}`;
      await get("/staff/whoami", { authorization });
      await h.service.app.inject({
        method: "POST",
        url: "/batches",
        headers: { authorization, ...json },
        payload: { reference, sku: "LOG-SKU", qty: 2, eta: null },
      });
      await h.service.app.inject({
        method: "POST",
        url: `/batches/${reference}/damage`,
        headers: { authorization, ...json },
        payload: { qty: 5 },
      });
    }
    const text = h.logs.text.join("\n");
    expect(text).toContain("request completed");
    expect(text).toContain("staff token refused");
    expect(text).not.toContain(STAFF_TOKEN);
    expect(text).not.toContain(wrong);
    expect(text).not.toContain("[redacted]");
  });
});
