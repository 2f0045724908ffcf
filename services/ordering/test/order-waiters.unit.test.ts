import { describe, expect, it } from "vitest";
import { createOrderWaiters } from "../src/app/order-waiters.js";

const HOUR = 60 * 60 * 1000;

describe("the waiting requests of one process", () => {
  it("wakes the waiters of a changed order and no others", async () => {
    const waiters = createOrderWaiters({ max: 10 });
    const first = waiters.watch("order-1", HOUR)!;
    const second = waiters.watch("order-1", HOUR)!;
    const other = waiters.watch("order-2", HOUR)!;
    let otherWoke = false;
    void other.next().then(() => {
      otherWoke = true;
    });

    waiters.changed(["order-1", "order-3"]);
    expect(await first.next()).toBe("changed");
    expect(await second.next()).toBe("changed");
    expect(otherWoke).toBe(false);
    for (const w of [first, second, other]) w.end();
    expect(waiters.size).toBe(0);
  });

  it("keeps a change that came while the waiter was not listening", async () => {
    const waiters = createOrderWaiters({ max: 10 });
    const watch = waiters.watch("order-1", HOUR)!;
    waiters.changed(["order-1"]);
    expect(await watch.next()).toBe("changed");
    watch.end();
  });

  it("ends a wait with timeout when its time is up", async () => {
    const waiters = createOrderWaiters({ max: 10 });
    const watch = waiters.watch("order-1", 5)!;
    expect(await watch.next()).toBe("timeout");
    watch.end();
  });

  it("wakes every waiter when changes may have been missed", async () => {
    const waiters = createOrderWaiters({ max: 10 });
    const watches = [waiters.watch("order-1", HOUR)!, waiters.watch("order-2", HOUR)!];
    waiters.changedAll();
    expect(await Promise.all(watches.map((w) => w.next()))).toEqual(["changed", "changed"]);
    for (const w of watches) w.end();
  });

  it("refuses a waiter beyond the cap until one ends", () => {
    const waiters = createOrderWaiters({ max: 2 });
    const first = waiters.watch("order-1", HOUR)!;
    waiters.watch("order-2", HOUR)!.end();
    const second = waiters.watch("order-2", HOUR)!;
    expect(waiters.watch("order-3", HOUR)).toBeUndefined();
    first.end();
    first.end(); // twice counts once
    expect(waiters.size).toBe(1);
    const third = waiters.watch("order-3", HOUR);
    expect(third).toBeDefined();
    second.end();
    third?.end();
  });

  it("releases every waiter and takes no new one once closing", async () => {
    const waiters = createOrderWaiters({ max: 10 });
    const watch = waiters.watch("order-1", HOUR)!;
    waiters.releaseAll();
    expect(await watch.next()).toBe("released");
    waiters.changed(["order-1"]);
    expect(await watch.next()).toBe("released");
    watch.end();
    expect(waiters.watch("order-1", HOUR)).toBeUndefined();
    expect(waiters.closing).toBe(true);
  });
});
