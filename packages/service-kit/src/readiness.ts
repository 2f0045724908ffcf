export interface ReadinessReport {
  ready: boolean;
  checks: Record<string, boolean>;
}

export type Readiness = () => Promise<ReadinessReport>;

/** The part of a postgres-js client readiness uses. */
export interface SqlProbe {
  unsafe(query: string): PromiseLike<unknown>;
}

/** The part of a nats.js connection readiness uses (rtt() throws while disconnected or closed). */
export interface NatsProbe {
  isClosed(): boolean;
  rtt(): Promise<number>;
}

export interface ConsumerProbe {
  isRunning(): boolean;
}

export interface ReadinessSources {
  sql: SqlProbe;
  nc: NatsProbe;
  consumers?: readonly ConsumerProbe[];
  /** How long a probe may take before it counts as down. */
  timeoutMs?: number;
}

async function within(probe: () => PromiseLike<unknown>, timeoutMs: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(false), timeoutMs);
  });
  try {
    return await Promise.race([
      Promise.resolve(probe()).then(
        () => true,
        () => false,
      ),
      timeout,
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * The readiness check of a service: the database answers `select 1`, NATS is connected
 * (not closed, a round trip succeeds) and every consumer runs.
 */
export function readinessOf({ sql, nc, consumers = [], timeoutMs = 1000 }: ReadinessSources): Readiness {
  return async () => {
    const [database, nats] = await Promise.all([
      within(() => sql.unsafe("select 1"), timeoutMs),
      nc.isClosed() ? Promise.resolve(false) : within(() => nc.rtt(), timeoutMs),
    ]);
    const checks = { database, nats, consumers: consumers.every((c) => c.isRunning()) };
    return { ready: Object.values(checks).every(Boolean), checks };
  };
}
