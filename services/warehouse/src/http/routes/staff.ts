import { Type } from "@sinclair/typebox";
import { ErrorView } from "../schemas.js";
import type { HttpApp, RouteDeps } from "../types.js";

const WhoAmIView = Type.Object({
  actor: Type.String({ description: "sha256:<16 hex> of the token, as in the audit lines; never the token" }),
});

/**
 * Lets a client (the console) check a staff token without changing anything: the contract
 * has no read behind the token, and probing with a write would leave audit lines and risk
 * a change.
 */
export function staffRoutes(app: HttpApp, { auth }: RouteDeps): void {
  app.get(
    "/staff/whoami",
    {
      onRequest: auth.onRequest,
      schema: {
        summary:
          "Checks the staff bearer token: 200 with its fingerprint, 401 when it is not the staff token",
        response: { 200: WhoAmIView, 401: ErrorView },
      },
    },
    async (request) => ({ actor: auth.actorOf(request) }),
  );
}
