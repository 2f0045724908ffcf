import type { DbOrTx } from "@stockflow/messaging";
import { asc, eq } from "drizzle-orm";
import type { AllocationViews } from "../../app/views.js";
import { Product } from "../../domain/product.js";
import { loadProductState } from "./product-repository.js";
import { allocations } from "./tables.js";

export function createViews(db: DbOrTx): AllocationViews {
  return {
    allocationsOf: (orderId) =>
      db
        .select({ sku: allocations.sku, batchref: allocations.batchRef, qty: allocations.qty })
        .from(allocations)
        .where(eq(allocations.orderId, orderId))
        .orderBy(asc(allocations.sku)),

    async product(sku) {
      // One snapshot for the product row and its children, so the figures add up.
      const state = await db.transaction((tx) => loadProductState(tx, sku), {
        isolationLevel: "repeatable read",
        accessMode: "read only",
      });
      if (!state) return undefined;
      const product = Product.restore(state);
      return {
        sku,
        version: product.version,
        batches: product
          .batches()
          .map(({ reference, qty, available, eta }) => ({ reference, qty, available, eta })),
        backorders: product.backorders(),
      };
    },
  };
}
