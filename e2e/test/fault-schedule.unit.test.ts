import { describe, expect, it } from "vitest";
import { faultSchedule, seededRandom } from "../support/fault-schedule.js";
import { serviceNames } from "../support/stack.js";

const options = { durationMs: 60_000, services: serviceNames, natsServers: 3 };

describe("the randomized fault schedule", () => {
  it("is the same for the same seed and differs for another", () => {
    expect(faultSchedule(42, options)).toEqual(faultSchedule(42, options));
    expect(faultSchedule(43, options)).not.toEqual(faultSchedule(42, options));
    expect([seededRandom(7)(), seededRandom(7)()]).toEqual([seededRandom(7)(), seededRandom(7)()]);
  });

  it.each([1, 2, 3, 42, 1000])(
    "with seed %i, brings one thing down at a time and restarts PostgreSQL once",
    (seed) => {
      const faults = faultSchedule(seed, options);
      expect(faults.filter((f) => f.kind === "restart-postgres")).toHaveLength(1);
      for (const [i, f] of faults.entries()) {
        expect(f.atMs).toBeLessThan(options.durationMs);
        const next = faults[i + 1];
        if (next) expect(next.atMs).toBeGreaterThan(f.atMs + f.downMs);
        if (f.kind === "kill-nats") expect([0, 1, 2]).toContain(f.server);
      }
      expect(faults.some((f) => f.kind === "kill-service")).toBe(true);
    },
  );

  it("SIGKILLs one replica of a service at a time, each of them in some run", () => {
    const replicas = { ...options, replicas: 2 };
    const killed = [1, 2, 3, 42, 1000].flatMap((seed) =>
      faultSchedule(seed, replicas).flatMap((f) => (f.kind === "kill-service" ? [f.replica] : [])),
    );
    expect(new Set(killed)).toEqual(new Set([0, 1]));
    expect(faultSchedule(7, options).every((f) => f.kind !== "kill-service" || f.replica === 0)).toBe(true);
  });
});
