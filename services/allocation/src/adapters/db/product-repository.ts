import type { DbOrTx as Db } from "@stockflow/messaging";
import { and, asc, eq, inArray } from "drizzle-orm";
import { ConcurrencyConflict } from "../../app/concurrency-conflict.js";
import type { ProductRepository } from "../../app/ports.js";
import { Product } from "../../domain/product.js";
import type { ProductState } from "../../domain/state.js";
import { allocations, backorders, batches, products } from "./tables.js";

/** Reads a product's whole state; undefined when its row does not exist. */
export async function loadProductState(db: Db, sku: string): Promise<ProductState | undefined> {
  const [row] = await db.select().from(products).where(eq(products.sku, sku));
  if (!row) return undefined;
  const [b, a, w] = await Promise.all([
    db.select().from(batches).where(eq(batches.sku, sku)).orderBy(asc(batches.registeredVersion)),
    db.select().from(allocations).where(eq(allocations.sku, sku)).orderBy(asc(allocations.allocatedVersion)),
    db.select().from(backorders).where(eq(backorders.sku, sku)).orderBy(asc(backorders.sinceVersion)),
  ]);
  return {
    sku,
    version: row.version,
    batches: b.map((x) => ({
      reference: x.reference,
      qty: x.qty,
      eta: x.eta,
      registeredAt: x.registeredVersion,
    })),
    allocations: a.map((x) => ({
      orderId: x.orderId,
      batchref: x.batchRef,
      qty: x.qty,
      allocatedAt: x.allocatedVersion,
    })),
    backorders: w.map((x) => ({ orderId: x.orderId, qty: x.qty, since: x.sinceVersion })),
  };
}

interface Tracked {
  readonly product: Product;
  /** What the database held when loaded; undefined for a product this unit creates. */
  readonly loaded: ProductState | undefined;
}

/**
 * Loads products in a transaction and writes back the ones that changed. The product row
 * is written first with `version = <loaded>` in its condition, so a concurrent writer
 * either waits for this one's commit and then finds 0 rows (ConcurrencyConflict), or
 * this one does. Children are written as a difference from what was loaded.
 */
export class DrizzleProductRepository implements ProductRepository {
  private readonly tracked = new Map<string, Tracked>();

  constructor(private readonly db: Db) {}

  async get(sku: string): Promise<Product | undefined> {
    const known = this.tracked.get(sku);
    if (known) return known.product;
    const loaded = await loadProductState(this.db, sku);
    if (!loaded) return undefined;
    const product = Product.restore(loaded);
    this.tracked.set(sku, { product, loaded });
    return product;
  }

  async getOrCreate(sku: string): Promise<Product> {
    const existing = await this.get(sku);
    if (existing) return existing;
    const product = Product.create(sku);
    this.tracked.set(sku, { product, loaded: undefined });
    return product;
  }

  async withOrder(orderId: string): Promise<Product[]> {
    const [a, w] = await Promise.all([
      this.db.select({ sku: allocations.sku }).from(allocations).where(eq(allocations.orderId, orderId)),
      this.db.select({ sku: backorders.sku }).from(backorders).where(eq(backorders.orderId, orderId)),
    ]);
    const skus = [...new Set([...a, ...w].map((r) => r.sku))].sort();
    const found: Product[] = [];
    for (const sku of skus) {
      const product = await this.get(sku);
      if (product) found.push(product);
    }
    return found;
  }

  /** Writes every changed product, in SKU order so that two multi-SKU writers cannot deadlock. */
  async saveChanges(now: Date): Promise<void> {
    const changed = [...this.tracked.values()]
      .filter((t) => t.product.version !== (t.loaded?.version ?? 0))
      .sort((x, y) => (x.product.sku < y.product.sku ? -1 : 1));
    for (const t of changed) await this.save(t, now);
  }

  private async save({ product, loaded }: Tracked, now: Date): Promise<void> {
    const { sku } = product;
    const expected = loaded?.version ?? 0;
    const written = loaded
      ? await this.db
          .update(products)
          .set({ version: product.version, updatedAt: now })
          .where(and(eq(products.sku, sku), eq(products.version, expected)))
          .returning({ sku: products.sku })
      : await this.db
          .insert(products)
          .values({ sku, version: product.version, updatedAt: now })
          .onConflictDoNothing()
          .returning({ sku: products.sku });
    if (written.length === 0) throw new ConcurrencyConflict(sku, expected);
    await this.writeChildren(product.snapshot(), loaded);
  }

  private async writeChildren(now: ProductState, before: ProductState | undefined): Promise<void> {
    const { sku } = now;
    const b = diff(before?.batches ?? [], now.batches, (x) => x.reference);
    if (b.removed.length) {
      await this.db.delete(batches).where(
        inArray(
          batches.reference,
          b.removed.map((x) => x.reference),
        ),
      );
    }
    for (const x of b.changed) {
      await this.db.update(batches).set({ qty: x.qty, eta: x.eta }).where(eq(batches.reference, x.reference));
    }
    if (b.added.length) {
      await this.db.insert(batches).values(
        b.added.map((x) => ({
          reference: x.reference,
          sku,
          qty: x.qty,
          eta: x.eta,
          registeredVersion: x.registeredAt,
        })),
      );
    }

    // Allocation and backorder rows never change in place (a moved line is another row),
    // so their whole content is their identity: a difference is a delete plus an insert.
    const a = diff(before?.allocations ?? [], now.allocations, (x) => JSON.stringify(x));
    const dropped = a.removed.map((x) => x.orderId);
    if (dropped.length) {
      await this.db
        .delete(allocations)
        .where(and(eq(allocations.sku, sku), inArray(allocations.orderId, dropped)));
    }
    if (a.added.length) {
      await this.db.insert(allocations).values(
        a.added.map((x) => ({
          orderId: x.orderId,
          sku,
          batchRef: x.batchref,
          qty: x.qty,
          allocatedVersion: x.allocatedAt,
        })),
      );
    }

    const w = diff(before?.backorders ?? [], now.backorders, (x) => JSON.stringify(x));
    const served = w.removed.map((x) => x.orderId);
    if (served.length) {
      await this.db
        .delete(backorders)
        .where(and(eq(backorders.sku, sku), inArray(backorders.orderId, served)));
    }
    if (w.added.length) {
      await this.db
        .insert(backorders)
        .values(w.added.map((x) => ({ orderId: x.orderId, sku, qty: x.qty, sinceVersion: x.since })));
    }
  }
}

/** Items whose key disappeared, items whose key appeared, and items under a kept key whose fields differ. */
function diff<T extends object>(before: readonly T[], after: readonly T[], key: (x: T) => string) {
  const old = new Map(before.map((x) => [key(x), x]));
  const current = new Set(after.map(key));
  return {
    removed: before.filter((x) => !current.has(key(x))),
    added: after.filter((x) => !old.has(key(x))),
    changed: after.filter((x) => {
      const o = old.get(key(x));
      return o !== undefined && JSON.stringify(o) !== JSON.stringify(x);
    }),
  };
}
