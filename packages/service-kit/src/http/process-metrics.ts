import { collectDefaultMetrics, Gauge, register } from "prom-client";

// prom-client names three gauges like counters (`_total`), which Prometheus' rules refuse
// (`promtool check metrics`): they are registered again under gauge names. The per-type
// gauges beside them (`nodejs_active_handles{type}`, ...) keep their names.
const renamed: { from: string; to: string; help: string; count: () => number }[] = [
  {
    from: "nodejs_active_handles_total",
    to: "nodejs_active_handles_all_types",
    help: "Number of active libuv handles, all types together.",
    count: () => (process as unknown as { _getActiveHandles(): unknown[] })._getActiveHandles().length,
  },
  {
    from: "nodejs_active_requests_total",
    to: "nodejs_active_requests_all_types",
    help: "Number of active libuv requests, all types together.",
    count: () => (process as unknown as { _getActiveRequests(): unknown[] })._getActiveRequests().length,
  },
  {
    from: "nodejs_active_resources_total",
    to: "nodejs_active_resources_all_types",
    help: "Number of active resources keeping the event loop alive, all types together.",
    count: () => process.getActiveResourcesInfo().length,
  },
];

let collected = false;

/** prom-client's default process metrics, once per process, with names that follow Prometheus' rules. */
export function collectProcessMetrics(): void {
  if (collected) return;
  collected = true;
  collectDefaultMetrics();
  for (const { from, to, help, count } of renamed) {
    if (!register.getSingleMetric(from)) continue;
    register.removeSingleMetric(from);
    new Gauge({
      name: to,
      help,
      collect() {
        this.set(count());
      },
    });
  }
}
