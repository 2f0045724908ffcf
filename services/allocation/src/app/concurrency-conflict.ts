/**
 * Another transaction changed the product since it was loaded (or a line that a product
 * recalled from earlier in the transaction assumed absent exists). Nothing of the product
 * was written; the transaction is rolled back and the whole message handled again from a
 * fresh read.
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
