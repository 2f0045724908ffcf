/** The batch reference names no batch. */
export class BatchNotFound extends Error {
  override name = "BatchNotFound";
  readonly code = "batch_not_found";
  constructor(readonly reference: string) {
    super(`no batch with reference ${reference}`);
  }
}

/** A batch with this reference is already registered. */
export class BatchExists extends Error {
  override name = "BatchExists";
  readonly code = "batch_exists";
  constructor(readonly reference: string) {
    super(`a batch with reference ${reference} is already registered`);
  }
}
