import { type Contract, publishedVersions } from "@stockflow/contracts";

export interface EnqueueOptions {
  /**
   * The change is one that the older, deprecated versions of the event cannot express (a
   * shipment's new eta, in line_allocated v2 only): write this version alone.
   */
  onlyThisVersion?: boolean;
}

/**
 * The versions one enqueued event is written as: the event itself and, during a
 * deprecation window, every older major version still published, downcast as its contract
 * declares (newest first). `outboxRowsOf` makes each a row with its own `ce-id`.
 */
export function versionsToWrite(
  contract: Contract,
  payload: unknown,
  { onlyThisVersion = false }: EnqueueOptions = {},
): { contract: Contract; payload: unknown }[] {
  return onlyThisVersion ? [{ contract, payload }] : publishedVersions(contract, payload);
}
