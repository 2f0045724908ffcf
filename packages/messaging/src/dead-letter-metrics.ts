import { jetstreamManager } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/nats-core";
import { DEAD_LETTER_REASONS, dlqSubject, streams } from "@stockflow/contracts";
import client from "prom-client";

const WAITING = "stockflow_dead_letters_waiting";
const services = new Map<string, NatsConnection>();

/** Messages in the DLQ stream under `dlq.<service>.>`, by subject count (no consumer made). */
async function waitingFor(nc: NatsConnection, service: string): Promise<number> {
  const jsm = await jetstreamManager(nc);
  const info = await jsm.streams.info(streams.DLQ.name, { subjects_filter: dlqSubject(service, ">") });
  return Object.values(info.state.subjects ?? {}).reduce((sum, n) => sum + n, 0);
}

function waitingGauge(): void {
  if (client.register.getSingleMetric(WAITING)) return;
  new client.Gauge({
    name: WAITING,
    help: "dead letters of this service waiting in the DLQ stream (list and replay them with pnpm stockflow dlq)",
    labelNames: ["service"],
    async collect() {
      for (const [service, nc] of services) {
        const n = await waitingFor(nc, service).catch(() => undefined);
        if (n !== undefined) this.set({ service }, n);
      }
    },
  });
}

/**
 * The dead-letter series of a consumer from its start: the counter at zero for every subject
 * it reads and every reason (a rate or an alert needs the series before the first dead
 * letter), and the gauge of its service's dead letters waiting in the DLQ.
 */
export function watchDeadLetters(
  counter: client.Counter<string>,
  {
    service,
    durable,
    subjects,
    nc,
  }: { service: string; durable: string; subjects: Iterable<string>; nc: NatsConnection },
): void {
  for (const subject of subjects) {
    for (const reason of DEAD_LETTER_REASONS) counter.inc({ consumer: durable, subject, reason }, 0);
  }
  waitingGauge();
  services.set(service, nc);
}
