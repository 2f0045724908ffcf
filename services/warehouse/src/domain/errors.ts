/** A rule of the warehouse refused the change; `code` is the stable string the API answers with. */
export class DomainError extends Error {
  override name = "DomainError";
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** More damaged units reported than the batch still holds: refused, nothing changes. */
export class DamageExceedsQuantity extends DomainError {
  override name = "DamageExceedsQuantity";
  constructor(reference: string, damaged: number, remaining: number) {
    super(
      "damage_exceeds_quantity",
      `batch ${reference} holds ${remaining} units; ${damaged} cannot be reported damaged`,
    );
  }
}

/** A delay must move a shipment's arrival later; an earlier date is not a delay. */
export class EtaNotLater extends DomainError {
  override name = "EtaNotLater";
  constructor(reference: string, current: string, requested: string) {
    super("eta_not_later", `batch ${reference} is due on ${current}; a delay cannot move it to ${requested}`);
  }
}

/** A quantity that is not a positive whole number reached the domain. */
export class InvalidQuantity extends DomainError {
  override name = "InvalidQuantity";
  constructor(qty: number) {
    super("invalid_quantity", `quantity must be a positive whole number, got ${qty}`);
  }
}
