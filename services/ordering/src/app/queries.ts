import { annotateSpan } from "@stockflow/telemetry";
import { isVip } from "../domain/customer.js";
import { type LineStatus, type OrderStatus, orderStatus } from "../domain/order.js";
import { CustomerNotFound, OrderNotFound } from "./errors.js";
import type { Transaction } from "./ports.js";

export interface OrderView {
  orderId: string;
  customerId: string;
  status: OrderStatus;
  lines: { sku: string; qty: number; status: LineStatus; batchref: string | null; eta: string | null }[];
  createdAt: string;
  updatedAt: string;
}

export async function getOrder(tx: Pick<Transaction, "orders">, orderId: string): Promise<OrderView> {
  annotateSpan({ orderId });
  const order = await tx.orders.get(orderId);
  if (!order) throw new OrderNotFound(orderId);
  return {
    orderId: order.orderId,
    customerId: order.customerId,
    status: orderStatus(order),
    lines: order.lines.map(({ sku, qty, status, batchref, eta }) => ({ sku, qty, status, batchref, eta })),
    createdAt: order.createdAt.toISOString(),
    updatedAt: order.updatedAt.toISOString(),
  };
}

export interface CustomerView {
  customerId: string;
  orderCount: number;
  vip: boolean;
}

export async function getCustomer(
  tx: Pick<Transaction, "customers">,
  customerId: string,
): Promise<CustomerView> {
  const customer = await tx.customers.get(customerId);
  if (!customer) throw new CustomerNotFound(customerId);
  return { customerId: customer.customerId, orderCount: customer.orderCount, vip: isVip(customer) };
}
