import { HttpError } from "@stockflow/service-kit";
import type { FastifyRequest } from "fastify";
import type { Batch } from "../domain/index.js";
import { toHttpError } from "./errors.js";
import type { StaffAuth } from "./staff-auth.js";

/**
 * Runs a staff change and writes one audit line for it through the request logger (so it
 * carries the request id and trace id): who (token fingerprint), what, when, and how it
 * ended. Refusals are audited too: they are staff actions as well. Errors come back mapped
 * to their HTTP answer.
 */
export function auditor(auth: StaffAuth) {
  return async function audited(
    request: FastifyRequest,
    action: string,
    details: Record<string, unknown>,
    change: () => Promise<Batch>,
  ): Promise<Batch> {
    const audit = { actor: auth.actorOf(request), action, ...details, at: new Date().toISOString() };
    try {
      const batch = await change();
      request.log.info(
        { audit: { ...audit, outcome: "ok", sku: batch.sku, qtyAfter: batch.qty, eta: batch.eta } },
        "staff action",
      );
      return batch;
    } catch (err) {
      const mapped = toHttpError(err);
      const outcome = mapped instanceof HttpError ? mapped.code : "error";
      request.log.info({ audit: { ...audit, outcome } }, "staff action");
      throw mapped;
    }
  };
}
