import type { Logger, Messaging, Redelivery } from "@stockflow/messaging";
import type { UnitOfWorkFactory } from "../adapters/db/unit-of-work.js";
import { isTransient } from "./transient.js";

export interface ConsumerDeps {
  messaging: Pick<Messaging, "consumer">;
  logger: Logger;
  unitOfWork: UnitOfWorkFactory;
  /** ack wait, retry delays, attempts before the DLQ (CONSUMER_* settings). */
  redelivery?: Redelivery;
}

/** What both of allocation's consumers share: redelivery and retries. */
export function sharedOptions({ redelivery }: ConsumerDeps) {
  return { ...redelivery, isTransient };
}
