import { eq, sql } from "drizzle-orm";
import type { CustomerRepository } from "../../app/ports.js";
import type { Executor } from "./executor.js";
import { couldBeStored } from "./storable.js";
import { customers } from "./tables.js";

export function customerRepository(db: Executor): CustomerRepository {
  return {
    async countOrder(customerId) {
      // The upsert locks the customer's row until commit, so three concurrent orders of
      // one customer see counts 1, 2 and 3, each exactly once.
      const [row] = await db
        .insert(customers)
        .values({ customerId, orderCount: 1 })
        .onConflictDoUpdate({
          target: customers.customerId,
          set: { orderCount: sql`${customers.orderCount} + 1`, updatedAt: sql`now()` },
        })
        .returning({ orderCount: customers.orderCount });
      if (!row) throw new Error(`counting an order of ${customerId} returned no row`);
      return row.orderCount;
    },

    async get(customerId) {
      if (!couldBeStored(customerId)) return undefined;
      const [row] = await db
        .select({ customerId: customers.customerId, orderCount: customers.orderCount })
        .from(customers)
        .where(eq(customers.customerId, customerId));
      return row;
    },
  };
}
