import { type HttpApp, HttpError, isStorableText } from "@stockflow/service-kit";
import { annotateSpan } from "@stockflow/telemetry";
import type { AllocationViews } from "../../app/views.js";
import { AllocatedLines, ErrorBody, OrderParams } from "../schemas.js";

export function allocationRoutes(app: HttpApp, views: AllocationViews): void {
  app.get(
    "/allocations/:orderId",
    {
      schema: {
        operationId: "getAllocations",
        summary: "Lines of an order allocated now, with their batch",
        params: OrderParams,
        response: { 200: AllocatedLines, 404: ErrorBody },
      },
    },
    async (request) => {
      const { orderId } = request.params;
      annotateSpan({ orderId });
      // An id PostgreSQL cannot store names no order (and would fail the query).
      const lines = isStorableText(orderId) ? await views.allocationsOf(orderId) : [];
      if (lines.length === 0) throw new HttpError(404, "not_found", "no line of this order is allocated");
      return lines;
    },
  );
}
