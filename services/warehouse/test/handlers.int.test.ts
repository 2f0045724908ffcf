import { batchQuantityChangedV1, batchRegisteredV1, shipmentDelayedV1 } from "@stockflow/contracts";
import {
  createUnitOfWork as createKitUnitOfWork,
  type UnitOfWork as KitUnitOfWork,
  outbox,
} from "@stockflow/messaging";
import { asc } from "drizzle-orm";
import fc from "fast-check";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { createQueries, createUnitOfWork, workOn } from "../src/adapters/db/unit-of-work.js";
import { delayBatchShipment, registerBatch, reportBatchDamage } from "../src/app/batch-handlers.js";
import {
  followLines,
  type LineChange,
  lineAllocated,
  lineDeallocated,
} from "../src/app/dispatch-handlers.js";
import { BatchExists, BatchNotFound } from "../src/app/errors.js";
import { DamageExceedsQuantity, EtaNotLater } from "../src/domain/index.js";
import { type MigratedDatabase, migratedDatabase } from "./support.js";

let m: MigratedDatabase;
let kit: KitUnitOfWork;
let uow: ReturnType<typeof createUnitOfWork>;
let queries: ReturnType<typeof createQueries>;

beforeAll(async () => {
  m = await migratedDatabase("warehouse_handlers");
  // No relay runs here: nothing publishes the outbox rows.
  kit = createKitUnitOfWork({ service: "warehouse", db: m.db, handOff: () => {} });
  uow = createUnitOfWork(kit);
  queries = createQueries(m.db);
});
afterAll(async () => m?.close());
beforeEach(async () => {
  await m.sql`truncate batches, dispatch_instructions, outbox`;
});

const outboxRows = () =>
  m.db
    .select({ subject: outbox.subject, payload: outbox.payload, headers: outbox.headers })
    .from(outbox)
    .orderBy(asc(outbox.id));

describe("registering a batch", () => {
  it("stores the batch and enqueues batch_registered with it", async () => {
    const batch = await registerBatch(uow, { reference: "b1", sku: "LAMP", qty: 20, eta: "2030-03-01" });
    expect(batch).toEqual({ reference: "b1", sku: "LAMP", qty: 20, eta: "2030-03-01" });
    expect(await queries.batch("b1")).toEqual(batch);
    const rows = await outboxRows();
    expect(rows).toHaveLength(1);
    expect(rows[0]?.subject).toBe(batchRegisteredV1.subject);
    expect(rows[0]?.payload).toEqual({ reference: "b1", sku: "LAMP", qty: 20, eta: "2030-03-01" });
    expect(rows[0]?.headers).toMatchObject({
      "ce-specversion": "1.0",
      "ce-source": "/warehouse",
      "ce-type": "warehouse.batch_registered.v1",
      "content-type": "application/json",
    });
  });

  it("keeps stock on hand as a batch without eta", async () => {
    await registerBatch(uow, { reference: "b1", sku: "LAMP", qty: 20, eta: null });
    expect((await outboxRows())[0]?.payload).toEqual({ reference: "b1", sku: "LAMP", qty: 20, eta: null });
  });

  it("refuses a known reference and enqueues nothing more", async () => {
    await registerBatch(uow, { reference: "b1", sku: "LAMP", qty: 20, eta: null });
    await expect(registerBatch(uow, { reference: "b1", sku: "SOFA", qty: 1, eta: null })).rejects.toThrow(
      BatchExists,
    );
    expect(await outboxRows()).toHaveLength(1);
    expect((await queries.batch("b1"))?.sku).toBe("LAMP");
  });

  it("lets exactly one of many concurrent registrations of a reference win", async () => {
    const results = await Promise.allSettled(
      Array.from({ length: 8 }, (_, i) =>
        registerBatch(uow, { reference: "b1", sku: `SKU-${i}`, qty: 1, eta: null }),
      ),
    );
    expect(results.filter((r) => r.status === "fulfilled")).toHaveLength(1);
    for (const r of results) if (r.status === "rejected") expect(r.reason).toBeInstanceOf(BatchExists);
    expect(await outboxRows()).toHaveLength(1);
  });
});

describe("reporting damage", () => {
  beforeEach(async () => {
    await registerBatch(uow, { reference: "b1", sku: "LAMP", qty: 10, eta: null });
    await m.sql`truncate outbox`;
  });

  it("lowers the quantity and enqueues batch_quantity_changed with the new quantity and reason", async () => {
    const batch = await reportBatchDamage(uow, { reference: "b1", qty: 3, reason: "forklift" });
    expect(batch).toEqual({ reference: "b1", sku: "LAMP", qty: 7, eta: null });
    expect(await queries.batch("b1")).toEqual(batch);
    const rows = await outboxRows();
    expect(rows.map((r) => [r.subject, r.payload])).toEqual([
      [batchQuantityChangedV1.subject, { reference: "b1", sku: "LAMP", qty: 7, reason: "forklift" }],
    ]);
  });

  it("gives the reason 'damaged' when staff give none", async () => {
    await reportBatchDamage(uow, { reference: "b1", qty: 1 });
    expect((await outboxRows())[0]?.payload).toEqual({
      reference: "b1",
      sku: "LAMP",
      qty: 9,
      reason: "damaged",
    });
  });

  it("refuses damage beyond the remaining quantity and changes nothing", async () => {
    await expect(reportBatchDamage(uow, { reference: "b1", qty: 11 })).rejects.toThrow(DamageExceedsQuantity);
    expect((await queries.batch("b1"))?.qty).toBe(10);
    expect(await outboxRows()).toHaveLength(0);
  });

  it("refuses damage to an unknown batch", async () => {
    await expect(reportBatchDamage(uow, { reference: "nope", qty: 1 })).rejects.toThrow(BatchNotFound);
  });

  it("never lets concurrent reports take more than the batch holds", async () => {
    const results = await Promise.allSettled(
      Array.from({ length: 6 }, () => reportBatchDamage(uow, { reference: "b1", qty: 3 })),
    );
    expect(results.filter((r) => r.status === "fulfilled")).toHaveLength(3);
    expect((await queries.batch("b1"))?.qty).toBe(1);
    const quantities = (await outboxRows()).map((r) => (r.payload as { qty: number }).qty);
    expect(quantities).toEqual([7, 4, 1]);
  });
});

describe("delaying a shipment", () => {
  it("moves the eta and enqueues shipment_delayed", async () => {
    await registerBatch(uow, { reference: "s1", sku: "SOFA", qty: 5, eta: "2030-01-10" });
    await m.sql`truncate outbox`;
    const batch = await delayBatchShipment(uow, { reference: "s1", eta: "2030-02-01" });
    expect(batch).toEqual({ reference: "s1", sku: "SOFA", qty: 5, eta: "2030-02-01" });
    expect(await queries.batch("s1")).toEqual(batch);
    expect((await outboxRows()).map((r) => [r.subject, r.payload])).toEqual([
      [shipmentDelayedV1.subject, { reference: "s1", sku: "SOFA", eta: "2030-02-01" }],
    ]);
  });

  it("turns stock on hand into a shipment", async () => {
    await registerBatch(uow, { reference: "h1", sku: "SOFA", qty: 5, eta: null });
    expect((await delayBatchShipment(uow, { reference: "h1", eta: "2030-02-01" })).eta).toBe("2030-02-01");
  });

  it("publishes nothing when the date is the one the shipment already has", async () => {
    await registerBatch(uow, { reference: "s1", sku: "SOFA", qty: 5, eta: "2030-01-10" });
    await m.sql`truncate outbox`;
    expect((await delayBatchShipment(uow, { reference: "s1", eta: "2030-01-10" })).eta).toBe("2030-01-10");
    expect(await outboxRows()).toHaveLength(0);
  });

  it("refuses an earlier date and an unknown batch", async () => {
    await registerBatch(uow, { reference: "s1", sku: "SOFA", qty: 5, eta: "2030-01-10" });
    await expect(delayBatchShipment(uow, { reference: "s1", eta: "2029-12-31" })).rejects.toThrow(
      EtaNotLater,
    );
    await expect(delayBatchShipment(uow, { reference: "nope", eta: "2030-01-10" })).rejects.toThrow(
      BatchNotFound,
    );
  });
});

describe("dispatch instructions", () => {
  const allocated = (batchref: string, version: number) =>
    m.db.transaction((tx) =>
      lineAllocated(workOn(tx, kit.outbox), { orderId: "o1", sku: "LAMP", qty: 2, batchref, version }),
    );
  const deallocated = (batchref: string, version: number) =>
    m.db.transaction((tx) =>
      lineDeallocated(workOn(tx, kit.outbox), {
        ...{ orderId: "o1", sku: "LAMP", qty: 2, batchref, version },
        reason: "batch_quantity_changed",
      }),
    );
  const view = async () =>
    (await queries.dispatchesOf("o1")).map(({ batchref, status, version }) => ({
      batchref,
      status,
      version,
    }));

  it("follow an allocation, a deallocation and a reallocation", async () => {
    await allocated("b1", 1);
    expect(await queries.dispatchesOf("o1")).toEqual([
      { orderId: "o1", sku: "LAMP", qty: 2, batchref: "b1", status: "pending", version: 1 },
    ]);
    await deallocated("b1", 2);
    await allocated("b2", 2);
    expect(await view()).toEqual([
      { batchref: "b1", status: "cancelled", version: 2 },
      { batchref: "b2", status: "pending", version: 2 },
    ]);
  });

  it("are created once however often an event is applied", async () => {
    await allocated("b1", 1);
    await allocated("b1", 1);
    expect(await view()).toEqual([{ batchref: "b1", status: "pending", version: 1 }]);
  });

  it("keep the newer state when an older event arrives late", async () => {
    await deallocated("b1", 3);
    await allocated("b1", 2);
    expect(await view()).toEqual([{ batchref: "b1", status: "cancelled", version: 3 }]);
  });

  it("become pending again when the line comes back to the batch", async () => {
    await allocated("b1", 1);
    await deallocated("b1", 2);
    await allocated("b1", 5);
    expect(await view()).toEqual([{ batchref: "b1", status: "pending", version: 5 }]);
  });

  it("of an order without any are an empty list", async () => {
    expect(await queries.dispatchesOf("unknown")).toEqual([]);
  });
});

describe("dispatch instructions of a batch of events", () => {
  type Answer = { order: number; batchref: string; kind: LineChange["kind"]; version: number; sku: string };
  /** Order `order` of the copy `copy` ("alone" or "together"): the two copies never share rows. */
  const changeOf = (copy: string, a: Answer): LineChange => ({
    kind: a.kind,
    event: {
      orderId: `${copy}-o${a.order}`,
      sku: a.sku,
      qty: a.version + 1,
      batchref: a.batchref,
      version: a.version,
    },
  });
  const applyAlone = (a: Answer) =>
    m.db.transaction(async (tx) => {
      const { event } = changeOf("alone", a);
      const work = workOn(tx, kit.outbox);
      if (a.kind === "allocated") await lineAllocated(work, event);
      else await lineDeallocated(work, { ...event, reason: "batch_quantity_changed" });
    });
  const applyTogether = (answers: Answer[]) =>
    m.db.transaction((tx) =>
      followLines(
        workOn(tx, kit.outbox),
        answers.map((a) => changeOf("together", a)),
      ),
    );
  /** Every instruction of a copy, without the copy's prefix, in key order. */
  const stateOf = async (copy: string, orders: number) => {
    const all = [];
    for (let i = 0; i < orders; i++) {
      for (const d of await queries.dispatchesOf(`${copy}-o${i}`)) all.push({ ...d, orderId: `o${i}` });
    }
    return all.sort((x, y) =>
      `${x.orderId} ${x.sku} ${x.batchref}`.localeCompare(`${y.orderId} ${y.sku} ${y.batchref}`),
    );
  };

  it("end as the events applied one at a time, for one line moving and several orders", async () => {
    const answers: Answer[] = [
      { order: 0, sku: "LAMP", batchref: "b1", kind: "allocated", version: 1 },
      { order: 1, sku: "LAMP", batchref: "b1", kind: "allocated", version: 1 },
      { order: 0, sku: "LAMP", batchref: "b1", kind: "deallocated", version: 2 },
      { order: 0, sku: "LAMP", batchref: "b2", kind: "allocated", version: 2 },
      { order: 2, sku: "SOFA", batchref: "b3", kind: "deallocated", version: 4 },
      { order: 1, sku: "LAMP", batchref: "b1", kind: "allocated", version: 1 },
      { order: 2, sku: "SOFA", batchref: "b3", kind: "allocated", version: 3 },
      { order: 0, sku: "LAMP", batchref: "b2", kind: "deallocated", version: 5 },
      { order: 0, sku: "LAMP", batchref: "b1", kind: "allocated", version: 5 },
    ];
    for (const a of answers) await applyAlone(a);
    await applyTogether(answers);

    const together = await stateOf("together", 3);
    expect(together).toEqual(await stateOf("alone", 3));
    expect(
      together.map(({ orderId, batchref, status, version }) => [orderId, batchref, status, version]),
    ).toEqual([
      ["o0", "b1", "pending", 5],
      ["o0", "b2", "cancelled", 5],
      ["o1", "b1", "pending", 1],
      ["o2", "b3", "cancelled", 4],
    ]);
  });

  it("end as the events applied one at a time, whatever the events", async () => {
    const answer = fc.record({
      order: fc.integer({ min: 0, max: 2 }),
      sku: fc.constantFrom("LAMP", "SOFA"),
      batchref: fc.constantFrom("b1", "b2"),
      kind: fc.constantFrom<LineChange["kind"]>("allocated", "deallocated"),
      version: fc.integer({ min: 1, max: 4 }),
    });
    await fc.assert(
      fc.asyncProperty(fc.array(answer, { minLength: 1, maxLength: 12 }), async (answers) => {
        await m.sql`truncate dispatch_instructions`;
        for (const a of answers) await applyAlone(a);
        await applyTogether(answers);
        expect(await stateOf("together", 3)).toEqual(await stateOf("alone", 3));
      }),
      { numRuns: 60 },
    );
  });

  it("keep the newer state already stored when the batch's events are older", async () => {
    await applyTogether([{ order: 0, sku: "LAMP", batchref: "b1", kind: "deallocated", version: 3 }]);
    await applyTogether([
      { order: 0, sku: "LAMP", batchref: "b1", kind: "allocated", version: 2 },
      { order: 0, sku: "LAMP", batchref: "b1", kind: "allocated", version: 3 },
    ]);
    expect((await stateOf("together", 1)).map((d) => [d.status, d.version])).toEqual([["cancelled", 3]]);
  });
});
