import { type Contract, type EventOf, publishedVersions, type ServiceName } from "@stockflow/contracts";
import { type OutboxRow, outboxRow } from "./outbox.js";

export interface EnqueueOptions {
  /**
   * The change is one that the older, deprecated versions of the event cannot express (a
   * shipment's new eta, in line_allocated v2 only): write this version alone.
   */
  onlyThisVersion?: boolean;
}

/**
 * The outbox rows of one event: the event itself and, during a deprecation window, every
 * older major version still published, downcast as its contract declares (newest first).
 * Each row is validated against its own contract and has its own `ce-id`; they share the
 * event time and the trace context current now, since they tell of one change.
 */
export function outboxRows<C extends Contract>(
  service: ServiceName,
  contract: C,
  payload: EventOf<C>,
  { onlyThisVersion = false }: EnqueueOptions = {},
): OutboxRow[] {
  const versions = onlyThisVersion ? [{ contract, payload }] : publishedVersions(contract, payload);
  const rows = versions.map((v) => outboxRow(service, v.contract, v.payload as EventOf<Contract>));
  const time = rows[0]!.headers["ce-time"]!;
  for (const row of rows) row.headers["ce-time"] = time;
  return rows;
}
