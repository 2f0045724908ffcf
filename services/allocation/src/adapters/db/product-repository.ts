import type { DbOrTx as Db } from "@stockflow/messaging";
import { type SQL, sql } from "drizzle-orm";
import { ConcurrencyConflict } from "../../app/concurrency-conflict.js";
import type { ProductNeeds, ProductRepository } from "../../app/ports.js";
import { Product } from "../../domain/product.js";
import type { ProductState } from "../../domain/state.js";
import { loadProducts, rowsOf } from "./product-queries.js";
import { saveStatement } from "./product-writes.js";

/** Reads the products of these SKUs with what `needs` asks for (one statement); unknown SKUs are absent. */
export async function loadProductStates(
  db: Db,
  skus: readonly string[],
  needs: ProductNeeds = {},
): Promise<ProductState[]> {
  if (skus.length === 0) return [];
  return loadProducts(db, sql`p.sku = any(${sql.param(skus)}::text[])`, needs);
}

/** Reads one product with what `needs` asks for; undefined when its row does not exist. */
export async function loadProductState(
  db: Db,
  sku: string,
  needs: ProductNeeds = {},
): Promise<ProductState | undefined> {
  return (await loadProductStates(db, [sku], needs))[0];
}

interface Tracked {
  readonly product: Product;
  /** Whether its row exists (a product this unit creates is inserted, not updated). */
  readonly stored: boolean;
}

/**
 * Loads products in a transaction with only the rows a change needs, and writes back the
 * changes each product collected: one statement per product, whose first step moves the
 * product row from the loaded version to the new one. A concurrent writer either waits for
 * this one's commit and then finds 0 rows (ConcurrencyConflict), or this one does; nothing
 * else of that statement is written when the version moved.
 */
export class DrizzleProductRepository implements ProductRepository {
  private readonly tracked = new Map<string, Tracked>();

  constructor(private readonly db: Db) {}

  async get(sku: string, needs: ProductNeeds = {}): Promise<Product | undefined> {
    const known = this.tracked.get(sku);
    if (known) return known.product;
    const [state] = await loadProductStates(this.db, [sku], needs);
    return state ? this.track(state) : undefined;
  }

  async getOrCreate(skus: readonly string[], needs: ProductNeeds = {}): Promise<Product[]> {
    const missing = [...new Set(skus.filter((sku) => !this.tracked.has(sku)))];
    for (const state of await loadProductStates(this.db, missing, needs)) this.track(state);
    return skus.map((sku) => {
      const known = this.tracked.get(sku);
      if (known) return known.product;
      const product = Product.create(sku);
      this.tracked.set(sku, { product, stored: false });
      return product;
    });
  }

  async withOrder(orderId: string, needs: Omit<ProductNeeds, "orderIds"> = {}): Promise<Product[]> {
    const states = await loadProducts(
      this.db,
      sql`p.sku in (select sku from allocations where order_id = ${orderId}
                    union select sku from backorders where order_id = ${orderId})`,
      { ...needs, orderIds: [orderId] },
    );
    return states
      .map((state) => this.tracked.get(state.sku)?.product ?? this.track(state))
      .sort((x, y) => (x.sku < y.sku ? -1 : 1));
  }

  /** Writes every changed product, in SKU order so that two multi-SKU writers cannot deadlock. */
  async saveChanges(now: Date): Promise<void> {
    const changed = [...this.tracked.values()]
      .map(({ product, stored }) => ({ changes: product.changes(), stored }))
      .filter(({ changes }) => changes.version !== changes.loadedVersion)
      .sort((x, y) => (x.changes.sku < y.changes.sku ? -1 : 1));
    for (const { changes, stored } of changed) {
      const statement: SQL = saveStatement(changes, stored, now);
      const [row] = await rowsOf<{ written: number }>(this.db, statement);
      if (!row || row.written === 0) throw new ConcurrencyConflict(changes.sku, changes.loadedVersion);
    }
  }

  private track(state: ProductState): Product {
    const product = Product.restore(state);
    this.tracked.set(state.sku, { product, stored: true });
    return product;
  }
}
