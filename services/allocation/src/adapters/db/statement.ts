/** Numbers the parameters of a statement while its text is written. */
export class Params {
  readonly values: unknown[] = [];

  /** `$n::type` for `value`; the cast gives the prepared statement its parameter type. */
  add(value: unknown, type: string): string {
    this.values.push(value);
    return `$${this.values.length}::${type}`;
  }
}

/**
 * Waits for every promise, then throws the first failure in the order given (the first
 * statement that failed, not the first answer): later statements of a pipeline only report
 * the transaction an earlier one aborted.
 */
export async function settleInOrder(pending: readonly Promise<unknown>[]): Promise<void> {
  const results = await Promise.allSettled(pending);
  const failure = results.find((r): r is PromiseRejectedResult => r.status === "rejected");
  if (failure) throw failure.reason;
}
