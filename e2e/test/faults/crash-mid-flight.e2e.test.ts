import postgres from "postgres";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { eventually, productHasBatches } from "../../support/eventually.js";
import { assertInvariants } from "../../support/invariants.js";
import { placeOrders } from "../../support/load.js";
import { type Stack, startStack } from "../../support/stack.js";

// Reliability scenario 3: allocation is killed with SIGKILL in the middle of a backlog of
// orders. Messages it had in hand are redelivered and change nothing twice (the inbox),
// and events it had committed to its outbox but not yet published go out after the restart.
//
// To be sure the crash leaves unpublished outbox rows behind, the test holds the advisory
// lock the outbox relay takes before publishing (`outbox:<service>`, see the messaging
// kit's relay): allocation then commits its events as usual but cannot publish them.
// To be sure the crash comes in the middle of the backlog (allocation gets through a few
// hundred orders in well under the time it takes to see it started), the first half of the
// orders touch two SKUs only, and the test holds the third product's row lock: allocation
// commits the first half's batches and then waits at the first save of the third SKU.

const SKUS = ["CM-BED", "CM-WARDROBE", "CM-MIRROR"];
const ORDERS = 240;
const LINES = ORDERS + ORDERS / 2;

let stack: Stack;

beforeAll(async () => {
  stack = await startStack({ label: "f_crash" });
});

afterAll(async () => {
  await stack?.dispose();
});

describe("crash mid-flight", () => {
  it("survives SIGKILL while allocating: no double effect, committed events published after restart", async () => {
    for (const [i, sku] of SKUS.entries()) {
      const res = await stack.api.registerBatch({
        reference: `${sku}-stock`,
        sku,
        qty: 300 + 100 * i,
        eta: null,
      });
      expect(res.status).toBe(201);
    }
    for (const sku of SKUS) await productHasBatches(stack, sku, [`${sku}-stock`]);

    // A backlog on ORDERING for allocation to chew through when it comes back.
    expect(await stack.stop("allocation")).toBe(0);
    const load = await placeOrders(
      stack,
      ORDERS,
      (i) => {
        const skus = i < ORDERS / 2 ? SKUS.slice(0, 2) : SKUS;
        return {
          customerId: `cm-customer-${i % 50}`,
          lines: [
            { sku: skus[i % skus.length]!, qty: 1 + (i % 3) },
            ...(i % 2 === 0 ? [{ sku: skus[(i + 1) % skus.length]!, qty: 1 }] : []),
          ],
        };
      },
      { concurrency: 8 },
    );
    expect(load.refused).toEqual([]);

    const db = postgres(stack.databases.allocation.url, { max: 3, onnotice: () => {} });
    const lock = await db.reserve();
    const rowLock = await db.reserve();
    try {
      await lock`select pg_advisory_lock(hashtext('outbox:allocation'))`;
      await rowLock`begin`;
      await rowLock`select 1 from products where sku = ${SKUS[2]!} for update`;
      await stack.start("allocation");
      const handled = await eventually(stack, "allocation to be part way through the backlog", async () => {
        const [row] =
          await db`select (select count(*) from allocations)::int + (select count(*) from backorders)::int as n`;
        return (row?.n ?? 0) >= 40 && row!.n;
      });
      await stack.kill("allocation");
      await rowLock`rollback`;

      const [after] =
        await db`select (select count(*) from allocations)::int + (select count(*) from backorders)::int as n`;
      expect(handled).toBeLessThan(LINES);
      expect(after?.n, "the crash came before the end of the backlog").toBeLessThan(LINES);
      const stranded = await db<{ event_id: string }[]>`
        select event_id::text from outbox where published_at is null`;
      expect(stranded.length).toBeGreaterThanOrEqual(40);

      await lock`select pg_advisory_unlock(hashtext('outbox:allocation'))`;
      lock.release();
      await stack.start("allocation");
      await assertInvariants(stack, { acceptedOrderIds: load.accepted });

      const published = new Set((await stack.readStream("ALLOCATION")).map((e) => e.headers["ce-id"]));
      expect(stranded.filter((r) => !published.has(r.event_id))).toEqual([]);

      // One answer per order line: allocating or backordering a line twice would show here.
      const answers = (await stack.readStream<{ orderId: string; sku: string }>("ALLOCATION")).filter(
        (e) => e.subject === "allocation.line_allocated.v1" || e.subject === "allocation.out_of_stock.v1",
      );
      expect(answers).toHaveLength(LINES);
      expect(new Set(answers.map((e) => `${e.payload.orderId}/${e.payload.sku}`)).size).toBe(LINES);
      const [inbox] = await db`
        select count(*)::int as n from inbox where consumer = 'allocation-ordering'`;
      expect(inbox?.n).toBe(ORDERS);
    } finally {
      lock.release();
      rowLock.release();
      await db.end({ timeout: 2 });
    }
  });
});
