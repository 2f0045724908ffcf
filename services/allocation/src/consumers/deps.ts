import type { ConsumerOptions, Database, Logger, Redelivery } from "@stockflow/messaging";
import type { UnitOfWorkFactory } from "../adapters/db/unit-of-work.js";

export interface ConsumerDeps {
  nc: ConsumerOptions["nc"];
  db: Database;
  logger: Logger;
  unitOfWork: UnitOfWorkFactory;
  /** ack wait, retry delays, attempts before the DLQ (CONSUMER_* settings). */
  redelivery?: Redelivery;
  /** After a transaction commits: wakes the service's outbox relay. */
  afterCommit?: () => void;
}
