/** A customer becomes VIP with their third order. */
export const VIP_ORDER_COUNT = 3;

export interface Customer {
  readonly customerId: string;
  readonly orderCount: number;
}

export const isVip = (customer: Customer): boolean => customer.orderCount >= VIP_ORDER_COUNT;

/**
 * True for exactly one order count, the one that crosses the threshold, so the
 * became-VIP event is raised once per customer however many orders follow.
 */
export const becameVipAt = (orderCountAfterOrder: number): boolean =>
  orderCountAfterOrder === VIP_ORDER_COUNT;

/**
 * The became-VIP event an order carries, for the one count at which the customer becomes
 * VIP (becameVipAt): the count is known only inside the write that counts the order, so
 * the intake writes the event with the order that reaches `atOrderCount` and drops it for
 * any other.
 */
export const becameVipEvent = (customerId: string) => ({
  payload: { customerId, orderCount: VIP_ORDER_COUNT },
  atOrderCount: VIP_ORDER_COUNT,
});
