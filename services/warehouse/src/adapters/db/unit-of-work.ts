import type { DbOrTx, UnitOfWork as KitUnitOfWork, Outbox } from "@stockflow/messaging";
import type { UnitOfWork, Work } from "../../app/ports.js";
import type { Queries } from "../../app/queries.js";
import { batchRepository } from "./batch-repository.js";
import { dispatchRepository } from "./dispatch-repository.js";

/** The repositories and outbox bound to one transaction (also one the messaging kit opened). */
export function workOn(tx: DbOrTx, outbox: Outbox): Work {
  return {
    batches: batchRepository(tx),
    dispatches: dispatchRepository(tx),
    events: { enqueue: (contract, payload) => outbox.enqueue(tx, contract, payload) },
  };
}

/** Units of work over the messaging kit's: its transactions, its outbox. */
export function createUnitOfWork(kit: Pick<KitUnitOfWork, "transaction" | "outbox">): UnitOfWork {
  return {
    run: (fn) => kit.transaction((tx) => fn(workOn(tx, kit.outbox))),
  };
}

export function createQueries(db: DbOrTx): Queries {
  const batches = batchRepository(db);
  const dispatches = dispatchRepository(db);
  return {
    batch: (reference) => batches.get(reference),
    batchesOf: (sku) => batches.listBySku(sku),
    dispatchesOf: (orderId) => dispatches.listByOrder(orderId),
  };
}
