import { customerBecameVipV1 } from "@stockflow/contracts";
import { describe, expect, it } from "vitest";
import { ContractViolation } from "../src/errors.js";
import { committedRows, outboxRowsOf } from "../src/outbox/row.js";
import { outboxInsert } from "../src/outbox/statements.js";

describe("an event's outbox rows", () => {
  it("carry the CloudEvents headers of the event, its ce-id being the row's event id", () => {
    const [row, ...more] = outboxRowsOf("ordering", customerBecameVipV1, {
      customerId: "c-1",
      orderCount: 3,
    });
    expect(more).toEqual([]);
    expect(row).toMatchObject({
      subject: customerBecameVipV1.subject,
      payload: { customerId: "c-1", orderCount: 3 },
    });
    expect(row!.headers).toMatchObject({
      "ce-specversion": "1.0",
      "ce-id": row!.eventId,
      "ce-source": "/ordering",
      "ce-type": customerBecameVipV1.subject,
      "content-type": "application/json",
    });
    expect(Number.isNaN(Date.parse(row!.headers["ce-time"]!))).toBe(false);
  });

  it("are refused when the payload breaks its contract", () => {
    expect(() => outboxRowsOf("ordering", customerBecameVipV1, { customerId: "c-1" } as never)).toThrow(
      ContractViolation,
    );
  });

  it("are paired with the ids a statement answered, leaving out the rows it did not write", () => {
    const rows = [1, 2, 3].flatMap((n) =>
      outboxRowsOf("ordering", customerBecameVipV1, { customerId: `c-${n}`, orderCount: n }),
    );
    const answered = [
      { id: "12", event_id: rows[2]!.eventId },
      { id: null, event_id: null },
      { id: "10", event_id: rows[0]!.eventId },
    ];
    expect(committedRows(rows, answered)).toEqual([
      { ...rows[0], id: "10" },
      { ...rows[2], id: "12" },
    ]);
  });

  it("are written with the NOTIFY, or without it and answering their ids", () => {
    const rows = outboxRowsOf("ordering", customerBecameVipV1, { customerId: "c-1", orderCount: 1 });
    expect(outboxInsert(rows).text).toContain("pg_notify");
    const quiet = outboxInsert(rows, { notify: false });
    expect(quiet.text).not.toContain("pg_notify");
    expect(quiet.text).toContain("returning id::text as id, event_id::text as event_id");
  });
});
