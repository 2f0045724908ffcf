import { createHash, timingSafeEqual } from "node:crypto";
import { HttpError } from "@stockflow/service-kit";
import type { FastifyRequest } from "fastify";

const sha256 = (value: string): Buffer => createHash("sha256").update(value, "utf8").digest();

/**
 * Who did it, for audit lines: a short digest of the token, never the token itself. Staff
 * share one token today; the fingerprint still tells apart actions under a rotated token.
 */
export const tokenFingerprint = (token: string): string =>
  `sha256:${sha256(token).toString("hex").slice(0, 16)}`;

/** The staff token as the OpenAPI document names it. */
export const STAFF_SECURITY = "staffToken";

/** Its OpenAPI security scheme: `Authorization: Bearer <WAREHOUSE_STAFF_TOKEN>`. */
export const staffSecurityScheme = {
  type: "http",
  scheme: "bearer",
  description: "the warehouse staff token (WAREHOUSE_STAFF_TOKEN); every write needs it, else 401",
};

const BEARER = /^Bearer\s+(\S+)\s*$/i;

export interface StaffAuth {
  /**
   * Fastify hook of every staff write: 401 unless the bearer token is the staff token. It
   * runs on request, before the body is parsed and validated, so a caller without the
   * token learns nothing about the body's schema.
   */
  onRequest(request: FastifyRequest): Promise<void>;
  /** The fingerprint of the token the request was accepted with. */
  actorOf(request: FastifyRequest): string;
}

/**
 * Checks `Authorization: Bearer <token>` against the staff token. Without a configured
 * token every write is refused: a deployment that forgot the variable must not be open.
 */
export function staffAuth(token: string | undefined): StaffAuth {
  const expected = token ? sha256(token) : undefined;
  const actors = new WeakMap<FastifyRequest, string>();
  return {
    async onRequest(request) {
      const presented = BEARER.exec(request.headers.authorization ?? "")?.[1];
      // Comparing digests gives equal lengths, so timingSafeEqual never throws and the
      // time taken says nothing about the token.
      if (!expected || !presented || !timingSafeEqual(sha256(presented), expected)) {
        request.log.warn(
          {
            audit: {
              actor: null,
              action: "auth",
              outcome: "unauthorized",
              method: request.method,
              url: request.url,
            },
          },
          expected ? "staff token refused" : "staff write refused: WAREHOUSE_STAFF_TOKEN is not set",
        );
        throw new HttpError(401, "unauthorized", "a valid staff bearer token is required");
      }
      actors.set(request, tokenFingerprint(presented));
    },
    actorOf: (request) => actors.get(request) ?? "unknown",
  };
}
