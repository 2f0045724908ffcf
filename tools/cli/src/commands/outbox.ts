import postgres from "postgres";
import { formatAge } from "../duration.js";
import { type Output, table } from "../output.js";

export interface OutboxSource {
  service: string;
  url: string;
}

export type OutboxBacklog =
  | { service: string; ok: true; pending: number; oldestAgeMs: number }
  | { service: string; ok: false; error: string };

export interface OutboxDeps {
  databases: OutboxSource[];
  output: Output;
  connectTimeoutSeconds?: number;
}

export const SERVICES = ["ordering", "allocation", "warehouse"] as const;

/** Each service's database from `<SERVICE>_DATABASE_URL`, or the local default. */
export function outboxSourcesFromEnv(env: NodeJS.ProcessEnv): OutboxSource[] {
  return SERVICES.map((service) => ({
    service,
    url: env[`${service.toUpperCase()}_DATABASE_URL`] || `postgres://postgres@127.0.0.1:5432/${service}`,
  }));
}

async function backlogOf(source: OutboxSource, connectTimeout: number): Promise<OutboxBacklog> {
  const sql = postgres(source.url, { max: 1, connect_timeout: connectTimeout, onnotice: () => {} });
  try {
    const [row] = await sql<{ pending: number; oldest_ms: number | null }[]>`
      select count(*)::int as pending,
             (extract(epoch from now() - min(created_at)) * 1000)::float8 as oldest_ms
      from outbox where published_at is null`;
    return {
      service: source.service,
      ok: true,
      pending: row?.pending ?? 0,
      oldestAgeMs: row?.oldest_ms ?? 0,
    };
  } catch (err) {
    return { service: source.service, ok: false, error: (err as Error).message };
  } finally {
    await sql.end({ timeout: 1 }).catch(() => {});
  }
}

/**
 * Prints the unpublished rows of each service's outbox and the age of the oldest: a growing
 * backlog means the relay cannot reach NATS. A database that cannot be read is reported,
 * and the others are still shown; the exit code is 1 then.
 */
export async function outboxBacklog(
  deps: OutboxDeps,
  options: { json?: boolean } = {},
): Promise<OutboxBacklog[]> {
  const { output } = deps;
  const results = await Promise.all(deps.databases.map((d) => backlogOf(d, deps.connectTimeoutSeconds ?? 3)));
  if (options.json) {
    output.out(JSON.stringify(results, null, 2));
    return results;
  }
  const rows = results.map((r) =>
    r.ok
      ? [r.service, String(r.pending), r.pending > 0 ? formatAge(r.oldestAgeMs) : "-"]
      : [r.service, "?", `cannot read: ${r.error}`],
  );
  for (const line of table([["SERVICE", "PENDING", "OLDEST"], ...rows])) output.out(line);
  return results;
}
