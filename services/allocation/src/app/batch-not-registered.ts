/**
 * News about a batch (a quantity change, a delay) handled before the batch's registration.
 * Warehouse publishes a registration before any news of its batch, so the registration is in
 * another replica's hands or waiting for redelivery: the message fails and is redelivered
 * after the consumer's retry delay, by when it is usually applied. News of a batch that is
 * never registered ends in the DLQ after the retries.
 */
export class BatchNotRegistered extends Error {
  override readonly name = "BatchNotRegistered";

  constructor(readonly reference: string) {
    super(`batch ${reference} has not been registered (yet)`);
  }
}
