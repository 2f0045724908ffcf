import type { DbOrTx } from "@stockflow/messaging";
import { asc, eq } from "drizzle-orm";
import type { AllocationViews } from "../../app/views.js";
import { Product } from "../../domain/product.js";
import { loadProductState } from "./product-repository.js";
import { allocations } from "./tables.js";

export function createViews(db: DbOrTx): AllocationViews {
  return {
    // By the (order_id, sku) primary key.
    allocationsOf: (orderId) =>
      db
        .select({ sku: allocations.sku, batchref: allocations.batchRef, qty: allocations.qty })
        .from(allocations)
        .where(eq(allocations.orderId, orderId))
        .orderBy(asc(allocations.sku)),

    async product(sku) {
      // One statement (one snapshot, so the figures add up): the batches with their totals
      // and the waiting queue; no allocation row is read.
      const state = await loadProductState(db, sku, { queue: true });
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
