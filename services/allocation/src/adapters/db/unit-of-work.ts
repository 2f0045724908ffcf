import type { DbOrTx, Outbox } from "@stockflow/messaging";
import type { Clock, UnitOfWork } from "../../app/ports.js";
import type { AllocationEvent } from "../../domain/events.js";
import { enqueueEvent } from "../outgoing.js";
import { DrizzleProductRepository } from "./product-repository.js";

/** Builds a unit of work over a transaction that its caller (the message consumer) opens and commits. */
export type UnitOfWorkFactory = (tx: DbOrTx) => UnitOfWork;

export function unitOfWorkFactory({ outbox, clock }: { outbox: Outbox; clock: Clock }): UnitOfWorkFactory {
  return (tx) => {
    const products = new DrizzleProductRepository(tx);
    return {
      products,
      async commit(events: readonly AllocationEvent[]) {
        // Products first: their row locks make a later writer of the same SKU wait, so its
        // outbox rows get higher ids and the relay publishes per SKU in commit order.
        await products.saveChanges(clock.now());
        for (const event of events) await enqueueEvent(outbox, tx, event);
      },
    };
  };
}
