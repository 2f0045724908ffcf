import { readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { Type } from "@sinclair/typebox";
import type { FastifyReply } from "fastify";
import { ErrorView } from "./schemas.js";
import type { HttpApp } from "./types.js";

/**
 * The console's own files only: no inline script or style, no other origin, no plugins, no
 * framing, no form posts (every form is handled by the page's script), no <base> rewrites.
 */
export const CONSOLE_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "connect-src 'self'",
  "img-src 'self'",
  "form-action 'none'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
].join("; ");

// src/http and dist/http both sit two levels below the service folder; the build writes there.
const builtConsole = fileURLToPath(new URL("../../dist/console", import.meta.url));

const FILES = [
  { url: "/console", file: "index.html", type: "text/html; charset=utf-8" },
  { url: "/console/console.js", file: "console.js", type: "text/javascript; charset=utf-8" },
  { url: "/console/console.css", file: "console.css", type: "text/css; charset=utf-8" },
] as const;

export interface ConsoleOptions {
  /** Where `scripts/build-console.mjs` wrote the console (default: the service's dist/console). */
  assetsDir?: string;
}

function secured(reply: FastifyReply, type: string): FastifyReply {
  // The API's security headers come from the kit's hook on every answer; these are the page's own.
  return reply.type(type).header("content-security-policy", CONSOLE_CSP).header("cache-control", "no-cache");
}

/**
 * Serves the staff console (`GET /console`) and its two assets from memory. They are read
 * once, here: a service started without a built console still runs its API and answers
 * 503 on these routes, saying so.
 */
export function consoleRoutes(app: HttpApp, { assetsDir = builtConsole }: ConsoleOptions = {}): void {
  let missing: string | undefined;
  const loaded = FILES.map((f) => {
    try {
      return { ...f, body: readFileSync(join(assetsDir, f.file)) };
    } catch {
      missing ??= join(assetsDir, f.file);
      return { ...f, body: undefined };
    }
  });
  if (missing) app.log.warn({ missing }, "the staff console is not built: GET /console answers 503");

  const serve = (reply: FastifyReply, { type, body }: (typeof loaded)[number]) => {
    if (!body) {
      return reply.code(503).send({
        error: "console_not_built",
        message: "the staff console has not been built; run the warehouse package's build",
      });
    }
    return secured(reply, type).send(body);
  };
  // The files go out as Buffers, which fastify never serializes; the schemas are for OpenAPI
  // (the page is listed, its assets are not) and the 503.
  const [page, ...assets] = loaded;
  if (page) {
    app.get(
      page.url,
      {
        schema: {
          summary: "The staff console: a web page for the API above, used with the staff token",
          response: { 200: Type.String({ description: "the page (text/html)" }), 503: ErrorView },
        },
      },
      async (_request, reply) => serve(reply, page),
    );
  }
  for (const asset of assets) {
    app.get(asset.url, { schema: { hide: true, response: { 503: ErrorView } } }, async (_request, reply) =>
      serve(reply, asset),
    );
  }
  // A typed or bookmarked /console/ reaches the page too (the router tells the two apart).
  app.get("/console/", { schema: { hide: true, response: {} } }, async (_request, reply) =>
    reply.redirect("/console", 308),
  );
}
