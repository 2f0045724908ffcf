/**
 * Another transaction changed the product since it was loaded. Nothing was written; the
 * whole message is handled again from a fresh read.
 */
export class ConcurrencyConflict extends Error {
  override readonly name = "ConcurrencyConflict";

  constructor(
    readonly sku: string,
    readonly expectedVersion: number,
    options?: { cause?: unknown },
  ) {
    super(`product ${sku} is no longer at version ${expectedVersion}`, options);
  }
}
