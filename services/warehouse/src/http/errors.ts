import { HttpError } from "@stockflow/service-kit";
import { BatchExists, BatchNotFound } from "../app/errors.js";
import { DamageExceedsQuantity, DomainError, EtaNotLater } from "../domain/index.js";

/** The HTTP answer of a refused change; anything unknown goes on to the app's bare 500. */
export function toHttpError(err: unknown): unknown {
  if (err instanceof BatchNotFound) return new HttpError(404, err.code, err.message, { cause: err });
  if (err instanceof BatchExists) return new HttpError(409, err.code, err.message, { cause: err });
  if (err instanceof DamageExceedsQuantity || err instanceof EtaNotLater) {
    return new HttpError(422, err.code, err.message, { cause: err });
  }
  if (err instanceof DomainError) return new HttpError(400, err.code, err.message, { cause: err });
  return err;
}
