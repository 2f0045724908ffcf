import { type DbOrTx as Db, sendPrepared } from "@stockflow/messaging";
import { ConcurrencyConflict } from "../../app/concurrency-conflict.js";
import type { ProductNeeds, ProductRepository } from "../../app/ports.js";
import { Product } from "../../domain/product.js";
import type { ProductState } from "../../domain/state.js";
import { changesOf } from "./product-changes.js";
import { loadProducts } from "./product-queries.js";
import { ProductSession } from "./product-session.js";
import { saveStatement } from "./product-writes.js";
import { settleInOrder } from "./statement.js";

/** Reads the products of these SKUs with what `needs` asks for (one statement); unknown SKUs are absent. */
export async function loadProductStates(
  db: Db,
  skus: readonly string[],
  needs: ProductNeeds = {},
): Promise<ProductState[]> {
  if (skus.length === 0) return [];
  return loadProducts(db, (params) => `p.sku = any(${params.add(skus, "text[]")})`, needs);
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
  /** The product as it was loaded (or created): what its changes are measured against. */
  readonly loaded: ProductState;
  /** Whether its row exists (a product this unit creates is inserted, not updated). */
  readonly stored: boolean;
  /** Orders whose lines on it the product holds every one of. */
  readonly orders: ReadonlySet<string>;
  /** Orders of `orders` assumed to have no line on it (recalled, not read): the save checks. */
  readonly unread: readonly string[];
}

/**
 * Loads products in a transaction with only the rows a change needs, and writes back the
 * changes each product collected: one statement per product, whose first step moves the
 * product row from the loaded version to the new one. A concurrent writer either waits for
 * this one's commit and then finds 0 rows (ConcurrencyConflict), or this one does; nothing
 * else of that statement is written when the version moved.
 *
 * Products this transaction read or wrote before (an earlier message of the same batch) come
 * from its `session` instead of a read; see ProductSession.
 */
export class DrizzleProductRepository implements ProductRepository {
  private readonly tracked = new Map<string, Tracked>();

  constructor(
    private readonly db: Db,
    private readonly session: ProductSession = new ProductSession(),
  ) {}

  async get(sku: string, needs: ProductNeeds = {}): Promise<Product | undefined> {
    await this.fetch([sku], needs);
    return this.tracked.get(sku)?.product;
  }

  async getOrCreate(skus: readonly string[], needs: ProductNeeds = {}): Promise<Product[]> {
    await this.fetch(skus, needs);
    return skus.map((sku) => {
      const known = this.tracked.get(sku);
      if (known) return known.product;
      const product = Product.create(sku);
      this.tracked.set(sku, {
        product,
        loaded: product.snapshot(),
        stored: false,
        orders: new Set(needs.orderIds),
        unread: [],
      });
      return product;
    });
  }

  async withOrder(orderId: string, needs: Omit<ProductNeeds, "orderIds"> = {}): Promise<Product[]> {
    const all = { ...needs, orderIds: [orderId] };
    const states = await loadProducts(
      this.db,
      (params) => {
        const order = params.add(orderId, "text");
        return `p.sku in (select sku from allocations where order_id = ${order}
                    union select sku from backorders where order_id = ${order})`;
      },
      all,
    );
    return states
      .map((state) => this.tracked.get(state.sku)?.product ?? this.read(state, all))
      .sort((x, y) => (x.sku < y.sku ? -1 : 1));
  }

  /**
   * Writes every changed product, in SKU order so that two multi-SKU writers cannot deadlock.
   * Every statement is sent before this returns its promise: one pipeline with whatever the
   * caller sends next.
   */
  async saveChanges(now: Date): Promise<void> {
    const bySku = [...this.tracked.values()].sort((x, y) => (x.product.sku < y.product.sku ? -1 : 1));
    const writes = bySku.map((tracked) => {
      const after = tracked.product.snapshot();
      return { tracked, after, changes: changesOf(tracked.loaded, after) };
    });
    for (const { tracked, changes } of writes) {
      // Only a write checks what was assumed: a product left as it was recalled might have
      // changed had its order's line been read (no handler does that; it is retried reading).
      if (changes.version === changes.loadedVersion && tracked.unread.length > 0) this.conflict(tracked);
    }
    const sent = writes
      .filter(({ changes }) => changes.version !== changes.loadedVersion)
      .map(async ({ tracked, after, changes }) => {
        const { stored, unread } = tracked;
        const [row] = await sendPrepared<{ written: number }>(
          this.db,
          saveStatement(changes, { stored, unread, now }),
        );
        if (!row || row.written === 0) this.conflict(tracked);
        this.session.wrote(after, tracked.orders);
      });
    await settleInOrder(sent);
  }

  private conflict({ product, loaded, unread }: Tracked): never {
    this.session.doubt(product.sku, unread);
    throw new ConcurrencyConflict(product.sku, loaded.version);
  }

  /** Tracks the product of each SKU not tracked yet: recalled from the session, or read (one statement). */
  private async fetch(skus: readonly string[], needs: ProductNeeds): Promise<void> {
    const toRead: string[] = [];
    for (const sku of new Set(skus)) {
      if (this.tracked.has(sku)) continue;
      const recalled = this.session.recall(sku, needs);
      if (!recalled) {
        toRead.push(sku);
        continue;
      }
      const orders = new Set([...recalled.orders, ...(needs.orderIds ?? [])]);
      const product = Product.restore(recalled.state);
      this.tracked.set(sku, {
        product,
        loaded: recalled.state,
        stored: true,
        orders,
        unread: recalled.unread,
      });
    }
    for (const state of await loadProductStates(this.db, toRead, needs)) this.read(state, needs);
  }

  private read(state: ProductState, needs: ProductNeeds): Product {
    const known = this.session.read(state, needs.orderIds ?? []);
    const product = Product.restore(known.state);
    this.tracked.set(state.sku, {
      product,
      loaded: known.state,
      stored: true,
      orders: known.orders,
      unread: [],
    });
    return product;
  }
}
