import type { ServiceName } from "./stack.js";

/** One fault: something goes down `atMs` into the run and comes back `downMs` later. */
export type Fault =
  | { atMs: number; downMs: number; kind: "kill-service"; service: ServiceName; replica: number }
  | { atMs: number; downMs: number; kind: "kill-nats"; server: number }
  | { atMs: number; downMs: number; kind: "restart-postgres" };

/** mulberry32: a small seeded generator, the same numbers for the same seed on every machine. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface ScheduleOptions {
  durationMs: number;
  services: readonly ServiceName[];
  /** Replicas of every service (default 1): a service fault SIGKILLs one of them. */
  replicas?: number;
  natsServers: number;
}

/**
 * The faults of a run, drawn from the seed alone: one at a time (a three-server cluster
 * survives one lost server, not two), each lasting 1-6 s, 1-4 s apart, and PostgreSQL
 * restarted once somewhere in the run. The same seed (and options) gives the same schedule.
 */
export function faultSchedule(
  seed: number,
  { durationMs, services, replicas = 1, natsServers }: ScheduleOptions,
): Fault[] {
  const random = seededRandom(seed);
  const between = (min: number, max: number) => Math.floor(min + random() * (max - min));
  const faults: Fault[] = [];
  const postgresAt = between(durationMs / 4, (3 * durationMs) / 4);
  let postgresDone = false;
  for (let at = between(2000, 4000); at < durationMs; ) {
    const downMs = between(1000, 6000);
    if (!postgresDone && at >= postgresAt) {
      faults.push({ atMs: at, downMs, kind: "restart-postgres" });
      postgresDone = true;
    } else if (random() < 0.5) {
      faults.push({
        atMs: at,
        downMs,
        kind: "kill-service",
        service: services[between(0, services.length)]!,
        replica: between(0, replicas),
      });
    } else {
      faults.push({ atMs: at, downMs, kind: "kill-nats", server: between(0, natsServers) });
    }
    at += downMs + between(1000, 4000);
  }
  return faults;
}

export function describeFault(f: Fault): string {
  const what =
    f.kind === "kill-service"
      ? `SIGKILL ${f.service}#${f.replica}`
      : f.kind === "kill-nats"
        ? `SIGKILL nats server ${f.server + 1}`
        : "stop PostgreSQL";
  return `at ${(f.atMs / 1000).toFixed(1)} s ${what}, back after ${(f.downMs / 1000).toFixed(1)} s`;
}
