/** The machine offers no way to run what a test asked for; the message says what would. */
export class TestInfrastructureError extends Error {
  override readonly name = "TestInfrastructureError";
}
