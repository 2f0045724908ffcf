import type { DbOrTx, Outbox } from "@stockflow/messaging";
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

export function createUnitOfWork(db: DbOrTx, outbox: Outbox): UnitOfWork {
  return {
    run: (fn) => db.transaction((tx) => fn(workOn(tx, outbox))),
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
