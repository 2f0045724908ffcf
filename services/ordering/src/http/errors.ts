import { HttpError } from "@stockflow/service-kit";
import { CustomerNotFound, IdempotencyKeyReused, OrderNotFound } from "../app/errors.js";
import { InvalidOrder, OrderAlreadyCancelled } from "../domain/errors.js";

/** Maps the expected outcomes of ordering's handlers to the contract's HTTP answers. */
export function toHttpError(err: unknown): unknown {
  if (err instanceof OrderNotFound || err instanceof CustomerNotFound)
    return new HttpError(404, err.code, err.message);
  if (err instanceof OrderAlreadyCancelled || err instanceof IdempotencyKeyReused) {
    return new HttpError(409, err.code, err.message);
  }
  if (err instanceof InvalidOrder) return new HttpError(400, err.code, err.message);
  return err;
}

/** Runs a handler and rethrows its expected errors as HttpError (unexpected ones stay 500). */
export async function answering<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (err) {
    throw toHttpError(err);
  }
}
