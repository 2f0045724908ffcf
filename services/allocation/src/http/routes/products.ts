import { type HttpApp, HttpError } from "@stockflow/service-kit";
import { annotateSpan } from "@stockflow/telemetry";
import type { AllocationViews } from "../../app/views.js";
import { ErrorBody, ProductBody, SkuParams } from "../schemas.js";

export function productRoutes(app: HttpApp, views: AllocationViews): void {
  app.get(
    "/products/:sku",
    {
      schema: {
        summary: "A product's batches, what is still available in each, and its backorders",
        params: SkuParams,
        response: { 200: ProductBody, 404: ErrorBody },
      },
    },
    async (request) => {
      const { sku } = request.params;
      annotateSpan({ sku });
      const product = await views.product(sku);
      if (!product) throw new HttpError(404, "not_found", "no such product");
      return product;
    },
  );
}
