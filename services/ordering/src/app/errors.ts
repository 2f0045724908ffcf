export class OrderNotFound extends Error {
  override readonly name = "OrderNotFound";
  readonly code = "order_not_found";
  constructor(readonly orderId: string) {
    super(`no order ${orderId}`);
  }
}

export class CustomerNotFound extends Error {
  override readonly name = "CustomerNotFound";
  readonly code = "customer_not_found";
  constructor(readonly customerId: string) {
    super(`no customer ${customerId}`);
  }
}

export class IdempotencyKeyReused extends Error {
  override readonly name = "IdempotencyKeyReused";
  readonly code = "idempotency_key_reused";
  constructor() {
    super("this Idempotency-Key was used with a different request body");
  }
}
