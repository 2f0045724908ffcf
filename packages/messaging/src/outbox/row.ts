import { randomUUID } from "node:crypto";
import { type Contract, type EventOf, type ServiceName, validationErrors } from "@stockflow/contracts";
import { captureContext } from "@stockflow/telemetry";
import { ContractViolation } from "../errors.js";
import { type EnqueueOptions, versionsToWrite } from "../published-versions.js";

/** An outbox row as the relay publishes it: the columns besides the generated id. */
export interface OutboxRow {
  eventId: string;
  subject: string;
  payload: unknown;
  headers: Record<string, string>;
}

/** An outbox row its writer has just committed, with the id the outbox gave it. */
export interface CommittedRow extends OutboxRow {
  id: string;
}

/**
 * The headers a published event carries (CloudEvents binary mode) besides the trace
 * context: decided when the event is enqueued, stored with its row, published as stored.
 */
export function cloudEventHeaders(
  service: ServiceName,
  type: string,
  eventId: string,
): Record<string, string> {
  return {
    "ce-specversion": "1.0",
    "ce-id": eventId,
    "ce-source": `/${service}`,
    "ce-type": type,
    "ce-time": new Date().toISOString(),
    "content-type": "application/json",
    // The CloudEvents NATS binding's name for it; `content-type` stays for plain clients.
    "ce-datacontenttype": "application/json",
  };
}

/**
 * The outbox rows of one event: the one place where an event becomes what is stored and
 * published. Validates the payload against its contract (ContractViolation otherwise) and
 * adds the CloudEvents headers and the trace context current now (the relay publishes under
 * it, so the trace survives the outbox). Every writer (enqueue, ordering's intake,
 * allocation's units of work) goes through here. During a deprecation window the event is
 * also written as every older version still published (`versionsToWrite`): one row each,
 * each validated against its own contract, with its own `ce-id`, the same `ce-time` and
 * trace context (one change).
 */
export function outboxRowsOf<C extends Contract>(
  service: ServiceName,
  contract: C,
  payload: EventOf<C>,
  options?: EnqueueOptions,
): OutboxRow[] {
  const context = captureContext();
  let time: string | undefined;
  return versionsToWrite(contract, payload, options).map((version) => {
    const errors = validationErrors(version.contract, version.payload);
    if (errors.length > 0) throw new ContractViolation(version.contract.subject, errors);
    const eventId = randomUUID();
    const headers = cloudEventHeaders(service, version.contract.subject, eventId);
    time ??= headers["ce-time"];
    return {
      eventId,
      subject: version.contract.subject,
      payload: version.payload,
      headers: { ...headers, "ce-time": time!, ...context },
    };
  });
}

/**
 * The outbox rows a statement wrote, with the ids it answered for them, in the order given.
 * Rows it did not write (no id answered for their event id) are left out.
 */
export function committedRows(
  rows: readonly OutboxRow[],
  written: readonly { id: string | null; event_id: string | null }[],
): CommittedRow[] {
  const idOf = new Map(written.map((w) => [w.event_id, w.id]));
  return rows.flatMap((r) => {
    const id = idOf.get(r.eventId);
    return id ? [{ ...r, id }] : [];
  });
}
