import { createUnitOfWork, inbox, type UnitOfWork as KitUnitOfWork } from "@stockflow/messaging";
import { countSocketWrites, type SocketWriteCounter } from "@stockflow/testkit";
import { drizzle } from "drizzle-orm/postgres-js";
import postgres from "postgres";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type UnitOfWorkFactory, unitOfWorkFactory } from "../src/adapters/db/unit-of-work.js";
import { createViews } from "../src/adapters/db/views.js";
import * as handlers from "../src/app/handlers.js";
import type { UnitOfWork } from "../src/app/ports.js";
import { kitUnitOfWork, migratedTestDatabase } from "./support.js";

// What one message costs once history has piled up: the statements it sends and how
// PostgreSQL runs them on tables of 100,000 rows. The consumer's own inbox insert is
// replayed here as the messaging kit does it, in the handler's transaction.

const HISTORY = 100_000;
const SKUS = 50;
const HOT_TABLES = /Seq Scan on (allocations|backorders|inbox|outbox)\b/;

interface Statement {
  text: string;
  params: unknown[];
}

let database: Awaited<ReturnType<typeof migratedTestDatabase>>;
let client: postgres.Sql;
/** Runs transactions as the consumers do (BEGIN goes out with the first statement). */
let kit: KitUnitOfWork;
let recording: Statement[] | undefined;
/** Socket writes to PostgreSQL: what a statement costs the service beyond building it. */
let socket: SocketWriteCounter;
let unitOfWork: UnitOfWorkFactory;

beforeAll(async () => {
  database = await migratedTestDatabase("allocation_hot_paths");
  unitOfWork = unitOfWorkFactory({
    clock: { now: () => new Date("2030-01-01T00:00:00Z") },
    unitOfWork: kitUnitOfWork(database.db),
  });
  socket = countSocketWrites(database.url);
  client = postgres(database.url, {
    max: 1,
    onnotice: () => {},
    ...socket.options,
    debug: (_connection, text, params) => recording?.push({ text, params: params as unknown[] }),
  });
  const db = drizzle(client);
  kit = createUnitOfWork({ service: "allocation", db, handOff: () => {} });
  for (let i = 0; i < SKUS; i++) {
    await db.transaction((tx) =>
      handlers.registerBatch(unitOfWork(tx), {
        reference: `b-${i}`,
        sku: `SKU-${i}`,
        qty: 10_000_000,
        eta: null,
      }),
    );
  }
  // History written straight into the tables, as 100,000 handled orders would have left it
  // (with totals that agree), plus waiting lines of other SKUs, and the messaging tables.
  await database.sql.unsafe(`
    insert into allocations (order_id, sku, batch_ref, qty, allocated_version)
      select 'old-' || n, 'SKU-' || (n % ${SKUS}), 'b-' || (n % ${SKUS}), 1, 1 + n / ${SKUS} from generate_series(1, ${HISTORY}) n;
    update batches b set allocated = t.qty from (select batch_ref, count(*)::int as qty from allocations group by 1) t
      where b.reference = t.batch_ref;
    update products set version = version + ${HISTORY / SKUS};
    insert into products (sku, version) select 'EMPTY-' || n, 1 from generate_series(1, ${SKUS}) n;
    insert into backorders (order_id, sku, qty, since_version)
      select 'wait-' || n, 'EMPTY-' || (1 + n % ${SKUS}), 1, n from generate_series(1, ${HISTORY}) n;
    insert into inbox (consumer, message_id, subject)
      select 'allocation-ordering', gen_random_uuid()::text, 'ordering.order_placed.v1' from generate_series(1, ${HISTORY});
    insert into outbox (event_id, subject, payload, headers, published_at)
      select gen_random_uuid(), 'allocation.line_allocated.v1', '{}', '{}', now() from generate_series(1, ${HISTORY});
    analyze;
  `);
}, 120_000);

afterAll(async () => {
  await client?.end();
  await database?.close();
});

class DryRun extends Error {}

/**
 * Runs a handler as the consumer does (inbox row, then the handler, one transaction) and
 * records its statements; a dry run rolls it back, so they can be explained on the state
 * they ran on.
 */
async function message<E>(
  handler: (uow: UnitOfWork, event: E) => Promise<void>,
  event: E,
  { dry = false } = {},
): Promise<Statement[]> {
  const recorded: Statement[] = [];
  recording = recorded;
  try {
    await kit.transaction(async (tx) => {
      await tx
        .insert(inbox)
        .values({ consumer: "allocation-ordering", messageId: crypto.randomUUID(), subject: "test" })
        .onConflictDoNothing()
        .returning({ id: inbox.messageId });
      await handler(unitOfWork(tx), event);
      if (dry) throw new DryRun();
    });
  } catch (err) {
    if (!(err instanceof DryRun)) throw err;
  } finally {
    recording = undefined;
  }
  return recorded;
}

/**
 * PostgreSQL's plan for a recorded statement, run for real (EXPLAIN ANALYZE) and rolled
 * back; only planned when running it again fails (an outbox row's id is unique).
 */
async function planOf({ text, params }: Statement): Promise<string> {
  try {
    return await explain(text, params, "analyze, costs off");
  } catch {
    return await explain(text, params, "costs off");
  }
}

function literal(value: unknown): string {
  if (value === null || value === undefined) return "NULL";
  const quote = (text: string) => `'${text.replaceAll("'", "''")}'`;
  if (Array.isArray(value)) {
    const items = value.map((v) => (v === null ? "NULL" : `"${String(v).replace(/["\\]/g, "\\$&")}"`));
    return quote(`{${items.join(",")}}`);
  }
  return quote(String(value));
}

/** The plan PostgreSQL caches for a statement after its first executions (one plan for any parameters). */
async function genericPlanOf({ text, params }: Statement): Promise<string> {
  let plan = "";
  await client
    .begin(async (tx) => {
      await tx.unsafe("set local plan_cache_mode = force_generic_plan");
      await tx.unsafe(`prepare hot as ${text}`).simple();
      const [prepared] = await tx.unsafe(
        "select parameter_types::text[] as types from pg_prepared_statements where name = 'hot'",
      );
      const types = prepared?.types as string[];
      // EXPLAIN EXECUTE cannot take bind parameters: the values go in as literals.
      const args = params.map((value, i) => `${literal(value)}::${types[i]}`).join(", ");
      const rows = await tx.unsafe(`explain (costs off) execute hot${args ? `(${args})` : ""}`).simple();
      plan = rows.map((r) => r["QUERY PLAN"]).join("\n");
      await tx.unsafe("deallocate hot"); // a prepared statement outlives the transaction
      throw new DryRun();
    })
    .catch((err: Error) => {
      if (!(err instanceof DryRun)) throw err;
    });
  return plan;
}

async function explain(text: string, params: unknown[], options: string): Promise<string> {
  let plan = "";
  await client
    .begin(async (tx) => {
      const rows = await tx.unsafe(`explain (${options}) ${text}`, params as never[]);
      plan = rows.map((r) => r["QUERY PLAN"]).join("\n");
      throw new Error("rollback");
    })
    .catch((err: Error) => {
      if (err.message !== "rollback") throw err;
    });
  return plan;
}

/** What one message of a batch sent, beyond the batch's begin, inbox insert and commit. */
interface Cost {
  statements: string[];
  writes: number;
}

const kind = ({ text }: Statement) =>
  /^\s*select p\.sku/.test(text)
    ? "read"
    : /^\s*with p as/.test(text)
      ? "write"
      : /insert into "?outbox/.test(text)
        ? "outbox"
        : /insert into order_records/.test(text)
          ? "record"
          : text.trim().split(/\s+/)[0]!.toLowerCase();

/**
 * Orders placed in one transaction, as the ordering consumer handles a batch of them: the
 * statements and socket writes of each, and every statement for the plans.
 */
async function placedBatch(
  events: ReturnType<typeof placed>[],
): Promise<{ costs: Cost[]; all: Statement[] }> {
  const costs: Cost[] = [];
  const all: Statement[] = [];
  await kit.transaction(async (tx) => {
    await tx
      .insert(inbox)
      .values(
        events.map(() => ({
          consumer: "allocation-ordering",
          messageId: crypto.randomUUID(),
          subject: "test",
        })),
      )
      .onConflictDoNothing()
      .returning({ id: inbox.messageId });
    for (const event of events) {
      const recorded: Statement[] = [];
      recording = recorded;
      const from = socket.writes();
      await handlers.allocate(unitOfWork(tx), event);
      costs.push({ statements: recorded.map(kind), writes: socket.writes() - from });
      all.push(...recorded);
    }
    recording = undefined;
  });
  return { costs, all };
}

const placed = (orderId: string, sku: string, qty = 1) => ({
  orderId,
  customerId: "customer-1",
  lines: [{ sku, qty }],
  placedAt: "2030-01-01T00:00:00Z",
});

describe("after 100,000 orders", () => {
  it("a placed order costs five statements in its transaction: inbox, order record, one read, one write, outbox", async () => {
    const statements = await message(handlers.allocate, placed("new-1", "SKU-7"));
    expect(statements.map(kind)).toEqual(["begin", "insert", "record", "read", "write", "outbox", "commit"]);
  });

  it("sends a placed order's write and outbox row together, and reads a product once per batch", async () => {
    // Prepared statements are parsed once per connection: the first batch prepares them.
    await placedBatch([placed("warm-1", "SKU-5"), placed("warm-2", "SKU-5"), placed("warm-3", "SKU-6")]);
    const { costs } = await placedBatch([
      placed("batch-1", "SKU-6"),
      placed("batch-2", "SKU-6"),
      placed("batch-3", "SKU-5"),
      placed("batch-4", "SKU-6"),
    ]);
    // One socket write for the order record (its lock) and the read, one for the product
    // write and the outbox rows. Without a read the record's answer is still awaited (the
    // placement of a cancelled order allocates nothing): one write more.
    const first = { statements: ["record", "read", "write", "outbox"], writes: 2 };
    const again = { statements: ["record", "write", "outbox"], writes: 2 };
    expect(costs).toEqual([first, again, first, again]);
  });

  it("handles a run of placed orders with one read, one write per product and one outbox insert", async () => {
    const run = (ids: string[], skus: string[]) =>
      kit.transaction((tx) =>
        handlers.allocateAll(
          unitOfWork(tx),
          ids.map((id, i) => ({ event: placed(id, skus[i % skus.length]!), within: (fn) => fn() })),
        ),
      );
    await run(["run-warm-1", "run-warm-2"], ["SKU-11", "SKU-12"]);
    const recorded: Statement[] = [];
    recording = recorded;
    const from = socket.writes();
    try {
      await run(["run-1", "run-2", "run-3", "run-4", "run-5", "run-6"], ["SKU-11", "SKU-12", "SKU-13"]);
    } finally {
      recording = undefined;
    }
    expect(recorded.map(kind)).toEqual([
      "begin",
      "record",
      "read",
      "write",
      "write",
      "write",
      "outbox",
      "commit",
    ]);
    // BEGIN goes out with the read; the writes and the outbox rows are sent together (in
    // writes of about 1 KB each: postgres-js writes out what it holds once it passes that).
    expect(socket.writes() - from).toBeLessThanOrEqual(6);
    const events = await database.sql`
      select payload from outbox where payload->>'orderId' like 'run-%' and payload->>'orderId' not like 'run-warm%'
        and subject = 'allocation.line_allocated.v2' order by id`;
    expect(events.map((e) => [e.payload.orderId, e.payload.sku])).toEqual([
      ["run-1", "SKU-11"],
      ["run-2", "SKU-12"],
      ["run-3", "SKU-13"],
      ["run-4", "SKU-11"],
      ["run-5", "SKU-12"],
      ["run-6", "SKU-13"],
    ]);
  });

  it("reads only the newest lines of a shrinking batch, however many it holds", async () => {
    const before = await createViews(database.db).product("SKU-7");
    const allocated = 10_000_000 - before!.batches[0]!.available;
    expect(allocated).toBe(HISTORY / SKUS + 1);
    const shrink = { reference: "b-7", sku: "SKU-7", qty: allocated - 3, reason: "damaged" };
    const statements = await message(handlers.changeBatchQuantity, shrink, { dry: true });
    const load = statements.find((s) => s.text.includes("running"));
    expect(await planOf(load!)).toMatch(
      /Index Scan Backward using allocations_batch_newest_idx .*rows=3 loops=1/,
    );
    await message(handlers.changeBatchQuantity, shrink);
    const after = await createViews(database.db).product("SKU-7");
    expect(after?.batches[0]).toMatchObject({ qty: allocated - 3, available: 0 });
    expect(after?.backorders.map((b) => b.orderId)).toEqual(["new-1", "old-99957", "old-99907"]);
  });

  it("runs every statement of every message through an index, never a scan of a hot table", async () => {
    const statements = [
      ...(await message(handlers.allocate, placed("new-2", "SKU-8"))),
      ...(await message(handlers.allocate, placed("new-2b", "EMPTY-3"))),
      ...(
        await placedBatch([placed("new-2c", "SKU-8"), placed("new-2d", "SKU-8"), placed("new-2e", "EMPTY-4")])
      ).all,
      ...(await message(handlers.cancelOrder, { orderId: "new-2", cancelledAt: "2030-01-02T00:00:00Z" })),
      ...(await message(handlers.cancelOrder, { orderId: "wait-17", cancelledAt: "2030-01-02T00:00:00Z" })),
      ...(await message(handlers.registerBatch, { reference: "e-3", sku: "EMPTY-3", qty: 5, eta: null })),
      ...(await message(handlers.changeBatchQuantity, {
        reference: "b-9",
        sku: "SKU-9",
        qty: 5_000_000,
        reason: "count",
      })),
      ...(await message(handlers.changeBatchQuantity, {
        reference: "b-9",
        sku: "SKU-9",
        qty: 1_980,
        reason: "damaged",
      })),
      ...(await message(handlers.delayShipment, { reference: "e-3", sku: "EMPTY-3", eta: "2030-02-01" })),
    ].filter((s) => !/^\s*(begin|commit)/i.test(s.text));
    for (const statement of statements) {
      const plan = await planOf(statement);
      const generic = await genericPlanOf(statement);
      if (process.env.PRINT_PLANS) console.log(`${statement.text}\n${plan}\n--- generic:\n${generic}\n`);
      expect(plan, statement.text).not.toMatch(HOT_TABLES);
      expect(generic, statement.text).not.toMatch(HOT_TABLES);
    }
  });
});
