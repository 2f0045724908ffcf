import { type HttpResult, request } from "./http.js";

// The shapes of the HTTP contract (docs/system-contract.md, "HTTP APIs"), written out here
// rather than imported from a service: the e2e suite holds the services to the spec.

export type LineStatus = "pending" | "allocated" | "backordered" | "cancelled";
export type OrderStatus = "pending" | "allocated" | "partially_allocated" | "backordered" | "cancelled";

export interface OrderLineInput {
  sku: string;
  qty: number;
}

export interface PlaceOrderInput {
  customerId: string;
  lines: OrderLineInput[];
}

export interface Order {
  orderId: string;
  customerId: string;
  status: OrderStatus;
  lines: { sku: string; qty: number; status: LineStatus; batchref: string | null; eta: string | null }[];
  createdAt: string;
  updatedAt: string;
}

export interface Customer {
  customerId: string;
  orderCount: number;
  vip: boolean;
}

export interface Product {
  sku: string;
  version: number;
  batches: { reference: string; qty: number; available: number; eta: string | null }[];
  backorders: { orderId: string; qty: number }[];
}

export interface Allocation {
  sku: string;
  batchref: string;
  qty: number;
}

export interface BatchInput {
  reference: string;
  sku: string;
  qty: number;
  eta: string | null;
}

export interface Batch {
  reference: string;
  sku: string;
  qty: number;
  eta: string | null;
}

export interface Dispatch {
  orderId: string;
  sku: string;
  qty: number;
  batchref: string;
  status: "pending" | "cancelled";
}

export interface ApiError {
  error: string;
  message: string;
}

export interface ServiceUrls {
  ordering: string;
  allocation: string;
  warehouse: string;
}

/** One thin wrapper per endpoint of the three services; warehouse writes carry the staff token. */
export function apiClient(urls: ServiceUrls, staffToken: string) {
  const staff = { authorization: `Bearer ${staffToken}` };
  const enc = encodeURIComponent;
  return {
    placeOrder: (body: PlaceOrderInput, headers: Record<string, string> = {}) =>
      request<{ orderId: string; status: "pending" }>("POST", `${urls.ordering}/orders`, { body, headers }),
    getOrder: (orderId: string) => request<Order>("GET", `${urls.ordering}/orders/${enc(orderId)}`),
    cancelOrder: (orderId: string) =>
      request<ApiError | unknown>("POST", `${urls.ordering}/orders/${enc(orderId)}/cancel`, { body: {} }),
    getCustomer: (customerId: string) =>
      request<Customer>("GET", `${urls.ordering}/customers/${enc(customerId)}`),

    getAllocations: (orderId: string) =>
      request<Allocation[]>("GET", `${urls.allocation}/allocations/${enc(orderId)}`),
    getProduct: (sku: string) => request<Product>("GET", `${urls.allocation}/products/${enc(sku)}`),

    registerBatch: (body: BatchInput) =>
      request<Batch>("POST", `${urls.warehouse}/batches`, { body, headers: staff }),
    damage: (reference: string, qty: number, reason?: string) =>
      request<Batch>("POST", `${urls.warehouse}/batches/${enc(reference)}/damage`, {
        body: reason === undefined ? { qty } : { qty, reason },
        headers: staff,
      }),
    delay: (reference: string, eta: string) =>
      request<Batch>("POST", `${urls.warehouse}/batches/${enc(reference)}/delay`, {
        body: { eta },
        headers: staff,
      }),
    getBatch: (reference: string) => request<Batch>("GET", `${urls.warehouse}/batches/${enc(reference)}`),
    getDispatches: (orderId: string) =>
      request<Dispatch[]>("GET", `${urls.warehouse}/dispatches?orderId=${enc(orderId)}`),
  };
}

export type ApiClient = ReturnType<typeof apiClient>;
export type { HttpResult };
