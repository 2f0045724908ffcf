import client from "prom-client";

type Backlog = { backlog(): Promise<{ pending: number; oldestAgeMs: number }> };

// Metrics live in prom-client's default register, once per process, however many
// relays and consumers a process (or a test) creates.
function counter(name: string, help: string, labelNames: string[]) {
  return (
    (client.register.getSingleMetric(name) as client.Counter<string>) ??
    new client.Counter({ name, help, labelNames })
  );
}

function histogram(name: string, help: string, labelNames: string[]) {
  return (
    (client.register.getSingleMetric(name) as client.Histogram<string>) ??
    new client.Histogram({
      name,
      help,
      labelNames,
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    })
  );
}

const relays = new Map<string, Backlog>();

function gauges() {
  if (!client.register.getSingleMetric("stockflow_outbox_backlog")) {
    new client.Gauge({
      name: "stockflow_outbox_backlog",
      help: "outbox rows not yet published",
      labelNames: ["service"],
      async collect() {
        for (const [service, r] of relays) {
          const b = await r.backlog().catch(() => undefined);
          if (b) this.set({ service }, b.pending);
        }
      },
    });
    new client.Gauge({
      name: "stockflow_outbox_oldest_pending_age_seconds",
      help: "age of the oldest unpublished outbox row",
      labelNames: ["service"],
      async collect() {
        for (const [service, r] of relays) {
          const b = await r.backlog().catch(() => undefined);
          if (b) this.set({ service }, b.oldestAgeMs / 1000);
        }
      },
    });
  }
}

export function outboxMetrics() {
  gauges();
  return {
    published: counter("stockflow_outbox_published_total", "outbox rows published", ["service"]),
    register(service: string, relay: Backlog) {
      relays.set(service, relay);
    },
    unregister(service: string) {
      relays.delete(service);
    },
  };
}

type Pending = { pending(): Promise<number> };
const consumers = new Map<string, Pending>();

export function consumerMetrics() {
  if (!client.register.getSingleMetric("stockflow_consumer_pending")) {
    new client.Gauge({
      name: "stockflow_consumer_pending",
      help: "messages in the stream not yet delivered to the durable consumer (lag)",
      labelNames: ["consumer"],
      async collect() {
        for (const [consumer, c] of consumers) {
          const n = await c.pending().catch(() => undefined);
          if (n !== undefined) this.set({ consumer }, n);
        }
      },
    });
  }
  return {
    processed: counter("stockflow_messages_processed_total", "messages handled, by outcome", [
      "consumer",
      "subject",
      "outcome",
    ]),
    deadLettered: counter("stockflow_messages_dead_lettered_total", "messages sent to the DLQ", [
      "consumer",
      "subject",
      "reason",
    ]),
    duration: histogram("stockflow_handler_duration_seconds", "time to handle one message", [
      "consumer",
      "subject",
    ]),
    register(consumer: string, c: Pending) {
      consumers.set(consumer, c);
    },
    unregister(consumer: string) {
      consumers.delete(consumer);
    },
  };
}
