/** Base of the ordering domain's errors: `code` is the stable string the HTTP edge answers with. */
export abstract class OrderingError extends Error {
  abstract readonly code: string;
}

export class OrderAlreadyCancelled extends OrderingError {
  override readonly name = "OrderAlreadyCancelled";
  readonly code = "order_already_cancelled";
  constructor(readonly orderId: string) {
    super(`order ${orderId} is already cancelled`);
  }
}

export class InvalidOrder extends OrderingError {
  override readonly name = "InvalidOrder";
  readonly code = "validation_failed";
}
