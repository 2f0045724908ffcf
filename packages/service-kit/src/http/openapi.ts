import type { FastifyDynamicSwaggerOptions } from "@fastify/swagger";
import type { FastifySchema, RouteOptions } from "fastify";

/** A response header as the OpenAPI document describes it. */
export interface DocumentedHeader {
  type: "string" | "integer";
  description: string;
}

/** What a route adds to its own OpenAPI description beyond its schema (documentation only). */
export interface RouteDocs {
  /** Headers of an answer, by status code: e.g. `{ 202: { Location: ... } }`. */
  headers?: Record<number, Record<string, DocumentedHeader>>;
  /** Answers the route gives that no response schema serializes (text, probes' bodies ...). */
  responses?: Record<number, Record<string, unknown>>;
}

declare module "fastify" {
  interface FastifyContextConfig {
    /** Read by the OpenAPI document only, never at run time. */
    openapi?: RouteDocs;
  }
}

/** An OpenAPI security scheme, e.g. `{ type: "http", scheme: "bearer" }`. */
export type SecurityScheme = Record<string, unknown>;

export interface OpenApiOptions {
  service: string;
  version: string;
  /** Security schemes the routes name in `schema.security`. */
  securitySchemes?: Record<string, SecurityScheme>;
}

const errorBody = {
  type: "object",
  required: ["error", "message"],
  properties: {
    error: { type: "string", description: "a stable error code" },
    message: { type: "string", description: "a sentence for humans" },
  },
};

export const RETRY_AFTER: Record<string, DocumentedHeader> = {
  "Retry-After": { type: "integer", description: "seconds to wait before sending the request again" },
};

/** An `{"error","message"}` answer as a response schema the document shows. */
export const errorAnswer = (description: string, headers?: Record<string, DocumentedHeader>) => ({
  ...errorBody,
  description,
  ...(headers ? { headers } : {}),
});

/** The tag of /healthz, /readyz and /metrics: they touch no database, so no shared 503. */
export const PROBE = "probes";

const BODY_METHODS = new Set(["POST", "PUT", "PATCH"]);

/** `GET /orders/:orderId/cancel` -> `getOrdersByOrderIdCancel`, for routes that name none. */
export function operationIdOf(method: string, url: string): string {
  const words = url
    .split("/")
    .filter(Boolean)
    .map((part) => (part.startsWith(":") ? `By${capitalize(part.slice(1))}` : capitalize(part)))
    .map((word) =>
      word.replace(/[^A-Za-z0-9]+(.)?/g, (_m, c: string | undefined) => (c ?? "").toUpperCase()),
    );
  return method.toLowerCase() + words.join("");
}

const capitalize = (s: string) => s.charAt(0).toUpperCase() + s.slice(1);

type Responses = Record<string, Record<string, unknown>>;

/**
 * Completes a route's description for the document: an operationId, its security (an
 * explicit empty list when the route is public), and the answers every route shares but
 * does not declare: 400/413/415 for a body, 503 with Retry-After while a dependency is away,
 * plus what the route's `config.openapi` adds. Runtime serialization is untouched.
 */
function documentRoute({ schema, url, route }: { schema: FastifySchema; url: string; route: RouteOptions }) {
  if (!schema || (schema as { hide?: boolean }).hide) return { schema, url };
  const method = Array.isArray(route.method) ? route.method[0] : route.method;
  const docs = route.config?.openapi ?? {};
  const responses: Responses = { ...(schema.response as Responses | undefined) };
  const add = (code: number, answer: Record<string, unknown>) => {
    responses[code] ??= answer;
  };
  for (const [code, answer] of Object.entries(docs.responses ?? {})) responses[code] = answer;
  // Without a schema fastify-swagger would show a default 200; adding answers must keep it.
  if (!Object.keys(responses).some((code) => code.startsWith("2"))) add(200, { description: "success" });
  if (BODY_METHODS.has(String(method)) && schema.body) {
    add(
      400,
      errorAnswer("the body is not valid JSON or does not match the schema (unknown fields included)"),
    );
    add(413, errorAnswer("the body is larger than 1 MiB"));
    add(415, errorAnswer("the body is not application/json"));
  }
  const probe = (schema as { tags?: string[] }).tags?.includes(PROBE);
  if (!probe)
    add(503, errorAnswer("the database is unavailable for a moment: send the request again", RETRY_AFTER));
  for (const [code, headers] of Object.entries(docs.headers ?? {})) {
    const answer = responses[code];
    if (answer) responses[code] = { ...answer, headers: { ...(answer.headers as object), ...headers } };
  }
  const withDocs = schema as FastifySchema & { operationId?: string; security?: unknown[] };
  return {
    schema: {
      ...schema,
      operationId: withDocs.operationId ?? operationIdOf(String(method), url),
      security: withDocs.security ?? [],
      response: responses,
    },
    url,
  };
}

/** Options of @fastify/swagger for a service's document at /docs/json. */
export function openApiOptions({
  service,
  version,
  securitySchemes,
}: OpenApiOptions): FastifyDynamicSwaggerOptions {
  return {
    openapi: {
      openapi: "3.0.3",
      info: {
        title: `stockflow ${service}`,
        version,
        description: `The HTTP API of stockflow's ${service} service. Errors answer {"error","message"}.`,
      },
      // Relative: the document is served by the service it describes, on whatever address.
      servers: [{ url: "/", description: `this ${service} service` }],
      components: securitySchemes ? { securitySchemes: securitySchemes as never } : {},
      tags: [{ name: PROBE, description: "what orchestrators and Prometheus read" }],
    },
    transform: documentRoute,
  };
}
