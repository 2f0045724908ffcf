import { register } from "prom-client";
import { describe, expect, it } from "vitest";
import { collectProcessMetrics } from "../src/http/process-metrics.js";

describe("the process metrics", () => {
  it("name prom-client's three active-count gauges as gauges, not like counters", async () => {
    collectProcessMetrics();
    collectProcessMetrics();
    const text = await register.metrics();
    expect(text).not.toMatch(/^nodejs_active_\w+_total/m);
    for (const name of ["handles", "requests", "resources"]) {
      expect(text).toMatch(new RegExp(`^# TYPE nodejs_active_${name}_all_types gauge$`, "m"));
    }
    const handles = register.getSingleMetric("nodejs_active_handles_all_types");
    expect((await handles?.get())?.values[0]?.value).toBeGreaterThanOrEqual(0);
  });
});
