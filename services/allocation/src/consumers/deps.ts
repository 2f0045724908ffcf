import type { ConsumerOptions, Database, Logger } from "@stockflow/messaging";
import type { UnitOfWorkFactory } from "../adapters/db/unit-of-work.js";

export interface ConsumerDeps {
  nc: ConsumerOptions["nc"];
  db: Database;
  logger: Logger;
  unitOfWork: UnitOfWorkFactory;
}
