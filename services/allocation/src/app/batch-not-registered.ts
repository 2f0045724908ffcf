/**
 * News about a batch (a quantity change, a delay) handled before the batch's registration.
 * Warehouse publishes a registration before any news of its batch, so the registration is in
 * another replica's hands or waiting for redelivery: the message fails and is tried again
 * (the consumer counts it transient) until the registration has been applied.
 */
export class BatchNotRegistered extends Error {
  override readonly name = "BatchNotRegistered";

  constructor(readonly reference: string) {
    super(`batch ${reference} has not been registered (yet)`);
  }
}
