import { Type } from "@sinclair/typebox";
import { annotateSpan } from "@stockflow/telemetry";
import { DispatchesQuery, DispatchView, ErrorView } from "../schemas.js";
import type { HttpApp, RouteDeps } from "../types.js";

export function dispatchRoutes(app: HttpApp, { queries }: RouteDeps): void {
  app.get(
    "/dispatches",
    {
      schema: {
        operationId: "listDispatches",
        summary: "Dispatch instructions of an order: pending while allocated, cancelled after",
        querystring: DispatchesQuery,
        response: { 200: Type.Array(DispatchView), 400: ErrorView },
      },
    },
    async (request) => {
      const { orderId } = request.query;
      annotateSpan({ orderId });
      const instructions = await queries.dispatchesOf(orderId);
      return instructions.map(({ orderId, sku, qty, batchref, status }) => ({
        orderId,
        sku,
        qty,
        batchref,
        status,
      }));
    },
  );
}
