import type { ConsumerOptions, Database, Logger, Redelivery } from "@stockflow/messaging";
import type { UnitOfWorkFactory } from "../adapters/db/unit-of-work.js";
import { isTransient } from "./transient.js";

export interface ConsumerDeps {
  nc: ConsumerOptions["nc"];
  db: Database;
  logger: Logger;
  unitOfWork: UnitOfWorkFactory;
  /** ack wait, retry delays, attempts before the DLQ (CONSUMER_* settings). */
  redelivery?: Redelivery;
  /** After a transaction commits: hands its outbox rows to the service's relay. */
  afterCommit?: ConsumerOptions["afterCommit"];
}

/** What both of allocation's consumers share: connections, redelivery, retries, the hand-off to the relay. */
export function sharedOptions({ nc, db, logger, redelivery, afterCommit }: ConsumerDeps) {
  return {
    ...redelivery,
    service: "allocation" as const,
    nc,
    db,
    logger,
    isTransient,
    ...(afterCommit ? { afterCommit } : {}),
  };
}
