/**
 * A change needed a part of the product it was not given (the backorder queue, the newest
 * lines of a shrinking batch): a bug in whoever loaded it, never a business outcome.
 */
export class IncompleteProduct extends Error {
  override readonly name = "IncompleteProduct";

  constructor(
    readonly sku: string,
    readonly missing: string,
  ) {
    super(`product ${sku} was loaded without ${missing}`);
  }
}
