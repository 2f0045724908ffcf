import { randomUUID } from "node:crypto";
import { type Contract, type EventOf, type ServiceName, validationErrors } from "@stockflow/contracts";
import { captureContext } from "@stockflow/telemetry";
import { sql } from "drizzle-orm";
import { ContractViolation } from "./errors.js";
import type { CommittedRow } from "./relay.js";
import { outbox } from "./schema.js";
import type { DbOrTx } from "./types.js";

/** The NOTIFY channel that wakes the relay when an outbox row commits. */
export const OUTBOX_CHANNEL = "stockflow_outbox";

export interface Outbox {
  /**
   * Validates the event and writes it to the outbox inside `tx`: it is published if and
   * only if `tx` commits. Returns the event's id (its `ce-id`).
   */
  enqueue<C extends Contract>(tx: DbOrTx, contract: C, payload: EventOf<C>): Promise<string>;
}

/** An outbox row as the relay reads it: the columns besides the generated id. */
export interface OutboxRow {
  eventId: string;
  subject: string;
  payload: unknown;
  headers: Record<string, string>;
}

/**
 * Validates an event against its contract and shapes its outbox row: CloudEvents headers
 * and the trace context current now. For a service that writes outbox rows in its own
 * statement; `createOutbox().enqueue` writes the same row.
 */
export function outboxRow<C extends Contract>(
  service: ServiceName,
  contract: C,
  payload: EventOf<C>,
): OutboxRow {
  const errors = validationErrors(contract, payload);
  if (errors.length > 0) throw new ContractViolation(contract.subject, errors);
  const eventId = randomUUID();
  return {
    eventId,
    subject: contract.subject,
    payload,
    headers: {
      "ce-specversion": "1.0",
      "ce-id": eventId,
      "ce-source": `/${service}`,
      "ce-type": contract.subject,
      "ce-time": new Date().toISOString(),
      "content-type": "application/json",
      // The CloudEvents NATS binding's name for it; `content-type` stays for plain clients.
      "ce-datacontenttype": "application/json",
      // The relay publishes under this context, so the trace survives the outbox.
      ...captureContext(),
    },
  };
}

/**
 * Outbox rows (from `outboxRow`) as one statement for a raw postgres-js client, whatever their
 * number, in the order given (their ids follow it), with the NOTIFY that wakes the relay at
 * commit. Values go as text and are cast in SQL, so the client's serializers do not matter.
 * Run it inside the transaction whose commit publishes them. `notify: false` leaves the
 * NOTIFY out, for a writer that tells its own relay after commit (the relay's `handOff()` or
 * `wake()`): a notifying transaction holds PostgreSQL's notify lock through its commit. The
 * statement then answers the rows' ids, for `committedRows`.
 */
export function outboxInsert(
  rows: readonly OutboxRow[],
  { notify = true }: { notify?: boolean } = {},
): { text: string; params: unknown[] } {
  const insert = `insert into outbox (event_id, subject, payload, headers)
      select t.event_id::uuid, t.subject, t.payload::jsonb, t.headers::jsonb
      from unnest($1::text[], $2::text[], $3::text[], $4::text[]) with ordinality
        as t(event_id, subject, payload, headers, n)
      order by t.n`;
  const params = [
    rows.map((r) => r.eventId),
    rows.map((r) => r.subject),
    rows.map((r) => JSON.stringify(r.payload)),
    rows.map((r) => JSON.stringify(r.headers)),
  ];
  if (!notify) return { text: `${insert} returning id::text as id, event_id::text as event_id`, params };
  return {
    text: `with written as (${insert} returning 1) select pg_notify($5::text, '') from written limit 1`,
    params: [...params, OUTBOX_CHANNEL],
  };
}

/**
 * The outbox rows a statement wrote, with the ids it answered for them (`outboxInsert`
 * without NOTIFY answers them), in the order given: for `relay.handOff`. Rows it did not
 * write (no id answered for their event id) are left out.
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

export function createOutbox({ service }: { service: ServiceName }): Outbox {
  return {
    async enqueue(tx, contract, payload) {
      const { eventId, headers } = outboxRow(service, contract, payload);
      // One statement, one round trip: the row, and the NOTIFY that wakes the relay (delivered
      // at commit only; PostgreSQL folds repeats within one transaction).
      await tx.execute(
        sql`with written as (
          insert into ${outbox} (event_id, subject, payload, headers)
          values (${eventId}, ${contract.subject}, ${JSON.stringify(payload)}::jsonb, ${JSON.stringify(headers)}::jsonb)
          returning 1
        ) select pg_notify(${OUTBOX_CHANNEL}, '') from written`,
      );
      return eventId;
    },
  };
}
