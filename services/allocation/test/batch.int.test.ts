import { createUnitOfWork, type DbOrTx, type UnitOfWork as KitUnitOfWork } from "@stockflow/messaging";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadProductState } from "../src/adapters/db/product-repository.js";
import { unitOfWorkFactory } from "../src/adapters/db/unit-of-work.js";
import { ConcurrencyConflict } from "../src/app/concurrency-conflict.js";
import * as handlers from "../src/app/handlers.js";
import { migratedTestDatabase } from "./support.js";

// The ordering consumer handles up to 64 messages in one transaction, and the unit of work
// lets a message start from the products an earlier one of the same transaction read or
// wrote. Whatever the messages, a batch must end exactly as the same messages handled one
// transaction each: the same events with the same versions, the same rows.

type Message =
  | { kind: "place"; order: number; lines: Array<{ sku: number; qty: number }> }
  | { kind: "cancel"; order: number }
  | { kind: "register"; sku: number; ref: number; qty: number; eta: string | null }
  | { kind: "change"; sku: number; ref: number; qty: number }
  | { kind: "delay"; sku: number; ref: number; eta: string };

const SKUS = [1, 2, 3];
const ORDERS = [1, 2, 3, 4, 5, 6];

let database: Awaited<ReturnType<typeof migratedTestDatabase>>;
const unitOfWork = unitOfWorkFactory({
  clock: { now: () => new Date("2030-01-01T00:00:00Z") },
});

beforeAll(async () => {
  database = await migratedTestDatabase("allocation_batches");
});

afterAll(async () => {
  await database?.dispose();
});

/** Names in a namespace of their own, so that each run starts from products nobody knows. */
const names = (ns: string) => ({
  sku: (n: number) => `${ns}-S${n}`,
  order: (n: number) => `${ns}-o${n}`,
  ref: (sku: number, n: number) => `${ns}-S${sku}-b${n}`,
});

function handle(tx: DbOrTx, m: Message, ns: string, factory = unitOfWork): Promise<void> {
  const name = names(ns);
  const uow = factory(tx);
  switch (m.kind) {
    case "place":
      return handlers.allocate(uow, {
        orderId: name.order(m.order),
        customerId: "c-1",
        lines: m.lines.map((l) => ({ sku: name.sku(l.sku), qty: l.qty })),
        placedAt: "2030-01-01T00:00:00Z",
      });
    case "cancel":
      return handlers.cancelOrder(uow, { orderId: name.order(m.order), cancelledAt: "2030-01-02T00:00:00Z" });
    case "register":
      return handlers.registerBatch(uow, {
        reference: name.ref(m.sku, m.ref),
        sku: name.sku(m.sku),
        qty: m.qty,
        eta: m.eta,
      });
    case "change":
      return handlers.changeBatchQuantity(uow, {
        reference: name.ref(m.sku, m.ref),
        sku: name.sku(m.sku),
        qty: m.qty,
        reason: "count",
      });
    case "delay":
      return handlers.delayShipment(uow, {
        reference: name.ref(m.sku, m.ref),
        sku: name.sku(m.sku),
        eta: m.eta,
      });
  }
}

const oneByOne = async (messages: readonly Message[], ns: string) => {
  for (const m of messages) await database.db.transaction((tx) => handle(tx, m, ns));
};

/**
 * One transaction per message, as the consumers run them in allocation's processes: after
 * each commit the process remembers the products (the kit's afterCommit), and the next transaction
 * of that process starts from them; a ConcurrencyConflict runs the message again. `processes`
 * are two replicas, each with its memory; `by[i]` says which one handles message i.
 */
async function oneByOneRemembering(
  messages: readonly Message[],
  ns: string,
  processes: { kit: KitUnitOfWork; factory: ReturnType<typeof unitOfWorkFactory> }[],
  by: readonly number[],
): Promise<void> {
  for (const [i, m] of messages.entries()) {
    const { kit, factory } = processes[by[i] ?? 0]!;
    for (let attempt = 0; ; attempt++) {
      try {
        await kit.transaction((tx) => handle(tx, m, ns, factory));
        break;
      } catch (err) {
        if (!(err instanceof ConcurrencyConflict) || attempt >= 10) throw err;
      }
    }
  }
}

/** Consecutive placed orders, as the ordering consumer hands them to allocateAll in one call. */
function placedRun(tx: DbOrTx, run: Array<Extract<Message, { kind: "place" }>>, ns: string): Promise<void> {
  const name = names(ns);
  return handlers.allocateAll(
    unitOfWork(tx),
    run.map((m) => ({
      event: {
        orderId: name.order(m.order),
        customerId: "c-1",
        lines: m.lines.map((l) => ({ sku: name.sku(l.sku), qty: l.qty })),
        placedAt: "2030-01-01T00:00:00Z",
      },
      within: (fn) => fn(),
    })),
  );
}

/**
 * The messages in one transaction, as the consumer runs a batch: a ConcurrencyConflict runs
 * the whole batch again in a new transaction. `before(i, attempt)` runs before message i.
 * With `runs`, consecutive placed orders go to allocateAll together, as the ordering consumer
 * hands them over (and `before` runs before the run of message i). Answers how many attempts
 * conflicted.
 */
async function asOneBatch(
  messages: readonly Message[],
  ns: string,
  before?: (i: number, attempt: number) => Promise<void>,
  { runs = false } = {},
): Promise<number> {
  for (let attempt = 0; ; attempt++) {
    try {
      await database.db.transaction(async (tx) => {
        for (let i = 0; i < messages.length; ) {
          await before?.(i, attempt);
          const m = messages[i]!;
          if (!runs || m.kind !== "place") {
            await handle(tx, m, ns);
            i++;
            continue;
          }
          const run: Array<Extract<Message, { kind: "place" }>> = [];
          for (let next = messages[i]; next?.kind === "place"; next = messages[++i]) run.push(next);
          await placedRun(tx, run, ns);
        }
      });
      return attempt;
    } catch (err) {
      if (!(err instanceof ConcurrencyConflict) || attempt >= 10) throw err;
    }
  }
}

/** The namespace's events in publication order and its products, with the namespace taken out of every name. */
async function outcome(ns: string) {
  const strip = (value: unknown): unknown =>
    typeof value === "string"
      ? value.replaceAll(`${ns}-`, "")
      : Array.isArray(value)
        ? value.map(strip)
        : value && typeof value === "object"
          ? Object.fromEntries(Object.entries(value).map(([k, v]) => [k, strip(v)]))
          : value;
  const events = await database.sql`
    select subject, payload from outbox where payload->>'sku' like ${`${ns}-%`} order by id`;
  const name = names(ns);
  const products = [];
  for (const sku of SKUS) {
    const state = await loadProductState(database.db, name.sku(sku), {
      queue: true,
      orderIds: ORDERS.map(name.order),
    });
    if (!state) continue;
    const by = (key: (x: { [k: string]: unknown }) => unknown) => (x: object, y: object) =>
      String(key(x as never)) < String(key(y as never)) ? -1 : 1;
    products.push({
      ...state,
      batches: [...state.batches].sort(by((b) => b.reference)),
      allocations: [...state.allocations].sort(by((a) => a.orderId)),
      backorders: [...state.backorders].sort(by((b) => b.orderId)),
    });
  }
  return strip({ events: events.map((e) => ({ subject: e.subject, ...e.payload })), products });
}

const sku = fc.constantFrom(...SKUS);
const message: fc.Arbitrary<Message> = fc.oneof(
  {
    weight: 5,
    arbitrary: fc.record({
      kind: fc.constant("place" as const),
      order: fc.constantFrom(...ORDERS),
      lines: fc.uniqueArray(fc.record({ sku, qty: fc.integer({ min: 1, max: 6 }) }), {
        minLength: 1,
        maxLength: 2,
        selector: (l) => l.sku,
      }),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({ kind: fc.constant("cancel" as const), order: fc.constantFrom(...ORDERS) }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant("register" as const),
      sku,
      ref: fc.integer({ min: 1, max: 2 }),
      qty: fc.integer({ min: 1, max: 15 }),
      eta: fc.constantFrom(null, "2030-02-01", "2030-03-01"),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant("change" as const),
      sku,
      ref: fc.integer({ min: 1, max: 2 }),
      qty: fc.integer({ min: 0, max: 15 }),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant("delay" as const),
      sku,
      ref: fc.integer({ min: 1, max: 2 }),
      eta: fc.constantFrom("2030-01-15", "2030-04-01"),
    }),
  },
);

let runs = 0;

/**
 * Drops news (change, delay) of a batch not registered before it: the handler refuses it
 * (BatchNotRegistered) and the consumer retries it until the registration has been applied,
 * or dead-letters it, so it never changes anything in a transaction that commits.
 */
function registeredFirst<T>(items: readonly T[], messageOf: (item: T) => Message, known = new Set<string>()) {
  return items.filter((item) => {
    const m = messageOf(item);
    if (m.kind === "register") known.add(`${m.sku}/${m.ref}`);
    return (m.kind !== "change" && m.kind !== "delay") || known.has(`${m.sku}/${m.ref}`);
  });
}
const itself = (m: Message) => m;

describe("messages handled as one batch", () => {
  it.each([
    ["one handler call each", false],
    ["runs of placed orders in one allocateAll call", true],
  ])(
    "end exactly as the same messages handled one transaction each (property: %s)",
    async (_, grouped) => {
      await fc.assert(
        fc.asyncProperty(
          fc.array(message, { maxLength: 10 }),
          fc.array(message, { minLength: 1, maxLength: 20 }),
          async (anyHistory, anyBatch) => {
            const known = new Set<string>();
            const history = registeredFirst(anyHistory, itself, known);
            const batch = registeredFirst(anyBatch, itself, known);
            if (batch.length === 0) return;
            const run = ++runs;
            const [batched, single] = [`p${run}a`, `p${run}b`];
            await oneByOne(history, batched);
            await asOneBatch(batch, batched, undefined, { runs: grouped });
            await oneByOne(history, single);
            await oneByOne(batch, single);
            expect(await outcome(batched)).toEqual(await outcome(single));
          },
        ),
        { numRuns: 60 },
      );
    },
    120_000,
  );

  it("end exactly as with a read each when every transaction starts from the products committed ones left, two replicas apart (property)", async () => {
    const replicas = [0, 1].map(() => {
      const kit = createUnitOfWork({
        service: "allocation",
        db: database.db,
        handOff: () => {},
      });
      const factory = unitOfWorkFactory({
        clock: { now: () => new Date("2030-01-01T00:00:00Z") },
        unitOfWork: kit,
      });
      return { kit, factory };
    });
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.tuple(message, fc.integer({ min: 0, max: 1 })), { minLength: 1, maxLength: 30 }),
        async (anyHandled) => {
          const handled = registeredFirst(anyHandled, ([m]) => m);
          const run = ++runs;
          const [remembering, reading] = [`m${run}a`, `m${run}b`];
          const messages = handled.map(([m]) => m);
          await oneByOneRemembering(
            messages,
            remembering,
            replicas,
            handled.map(([, by]) => by),
          );
          await oneByOne(messages, reading);
          expect(await outcome(remembering)).toEqual(await outcome(reading));
        },
      ),
      { numRuns: 60 },
    );
  }, 120_000);

  it.each([
    ["one handler call each", false],
    ["one allocateAll call", true],
  ])("give each order of one SKU its own version, as one by one (%s)", async (_, grouped) => {
    const [a, b] = [`v${Number(grouped)}-a`, `v${Number(grouped)}-b`];
    const register: Message = { kind: "register", sku: 1, ref: 1, qty: 10, eta: null };
    const orders: Message[] = ORDERS.map((order) => ({ kind: "place", order, lines: [{ sku: 1, qty: 2 }] }));
    await oneByOne([register], a);
    expect(await asOneBatch(orders, a, undefined, { runs: grouped })).toBe(0);
    await oneByOne([register, ...orders], b);
    const batched = await outcome(a);
    expect(batched).toEqual(await outcome(b));
    expect((batched as { events: Array<{ subject: string; version: number }> }).events).toEqual([
      ...[2, 3, 4, 5, 6].flatMap((version) => [
        expect.objectContaining({ subject: "allocation.line_allocated.v2", version }),
        expect.objectContaining({ subject: "allocation.line_allocated.v1", version }),
      ]),
      expect.objectContaining({ subject: "allocation.out_of_stock.v1", orderId: "o6", version: 7 }),
    ]);
  });

  it("reads the line of an order placed again under a new message id, after one conflicting attempt", async () => {
    const history: Message[] = [
      { kind: "register", sku: 1, ref: 1, qty: 10, eta: null },
      { kind: "place", order: 1, lines: [{ sku: 1, qty: 3 }] },
    ];
    // Order 2 leaves the product in the transaction; order 1 starts from it, assuming it has
    // no line there, which the write finds false.
    const batch: Message[] = [
      { kind: "place", order: 2, lines: [{ sku: 1, qty: 2 }] },
      { kind: "place", order: 1, lines: [{ sku: 1, qty: 3 }] },
      { kind: "place", order: 3, lines: [{ sku: 1, qty: 1 }] },
    ];
    await oneByOne(history, "d-a");
    expect(await asOneBatch(batch, "d-a")).toBe(1);
    await oneByOne([...history, ...batch], "d-b");
    expect(await outcome("d-a")).toEqual(await outcome("d-b"));
  });

  it("ends right when another transaction changes a product the batch had only read", async () => {
    const history: Message[] = [
      { kind: "register", sku: 1, ref: 1, qty: 1, eta: null },
      { kind: "place", order: 1, lines: [{ sku: 1, qty: 1 }] },
    ];
    // Order 1 again changes nothing, so the batch reads the product without locking it; a
    // batch registered meanwhile moves its version before order 2 writes.
    const batch: Message[] = [
      { kind: "place", order: 1, lines: [{ sku: 1, qty: 1 }] },
      { kind: "place", order: 2, lines: [{ sku: 1, qty: 4 }] },
    ];
    const meanwhile: Message = { kind: "register", sku: 1, ref: 2, qty: 5, eta: "2030-02-01" };
    await oneByOne(history, "c-a");
    const attempts = await asOneBatch(batch, "c-a", async (i, attempt) => {
      if (i === 1 && attempt === 0) await oneByOne([meanwhile], "c-a");
    });
    expect(attempts).toBe(1);
    await oneByOne([...history, meanwhile, ...batch], "c-b");
    const batched = await outcome("c-a");
    expect(batched).toEqual(await outcome("c-b"));
    expect((batched as { events: object[] }).events.at(-1)).toMatchObject({
      orderId: "o2",
      batchref: "S1-b2",
    });
  });

  it("starts a new transaction from nothing the rolled-back one had", async () => {
    const ns = "r";
    await oneByOne([{ kind: "register", sku: 1, ref: 1, qty: 10, eta: null }], ns);
    class Boom extends Error {}
    await expect(
      database.db.transaction(async (tx) => {
        await handle(tx, { kind: "place", order: 1, lines: [{ sku: 1, qty: 4 }] }, ns);
        throw new Boom();
      }),
    ).rejects.toBeInstanceOf(Boom);
    await database.db.transaction((tx) =>
      handle(tx, { kind: "place", order: 2, lines: [{ sku: 1, qty: 1 }] }, ns),
    );
    const { products } = (await outcome(ns)) as { products: Array<{ version: number; batches: unknown[] }> };
    expect(products[0]).toMatchObject({ version: 2, batches: [expect.objectContaining({ allocated: 1 })] });
  });
});
