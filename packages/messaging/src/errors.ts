/** An event that does not satisfy its contract: refused before it reaches the outbox. */
export class ContractViolation extends Error {
  override readonly name = "ContractViolation";
  constructor(
    readonly subject: string,
    readonly errors: string[],
  ) {
    super(`${subject} violates its contract: ${errors.join("; ")}`);
  }
}
