import { eq } from "drizzle-orm";
import type { CustomerRepository } from "../../app/ports.js";
import type { Executor } from "./executor.js";
import { couldBeStored } from "./storable.js";
import { customers } from "./tables.js";

export function customerRepository(db: Executor): CustomerRepository {
  return {
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
