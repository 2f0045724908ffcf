import { type HttpApp, HttpError, isStorableText } from "@stockflow/service-kit";
import { annotateSpan } from "@stockflow/telemetry";
import type { AllocationViews } from "../../app/views.js";
import { ErrorBody, ProductBody, SkuParams } from "../schemas.js";

export function productRoutes(app: HttpApp, views: AllocationViews): void {
  app.get(
    "/products/:sku",
    {
      schema: {
        operationId: "getProduct",
        summary: "A product's batches, what is still available in each, and its backorders",
        params: SkuParams,
        response: { 200: ProductBody, 404: ErrorBody },
      },
    },
    async (request) => {
      const { sku } = request.params;
      annotateSpan({ sku });
      // A SKU PostgreSQL cannot store names no product (and would fail the query).
      const product = isStorableText(sku) ? await views.product(sku) : undefined;
      if (!product) throw new HttpError(404, "not_found", "no such product");
      return product;
    },
  );
}
