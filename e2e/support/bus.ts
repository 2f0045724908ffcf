import { jetstreamManager } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/transport-node";

/** A message as it is stored in a stream: headers (keys lower-cased) and the JSON body. */
export interface BusEvent<T = Record<string, unknown>> {
  seq: number;
  subject: string;
  headers: Record<string, string>;
  payload: T;
}

export type StreamName = "ORDERING" | "ALLOCATION" | "WAREHOUSE" | "DLQ";

/**
 * Every message of a stream, in stream order, read one sequence at a time through the
 * JetStream API (no consumer is created, so the services' consumers are untouched).
 * A stream nobody has created yet reads as empty.
 */
export async function readStream<T = Record<string, unknown>>(
  nc: NatsConnection,
  stream: StreamName,
): Promise<BusEvent<T>[]> {
  const jsm = await jetstreamManager(nc);
  const info = await jsm.streams.info(stream).catch(() => undefined);
  if (!info || info.state.messages === 0) return [];
  const out: BusEvent<T>[] = [];
  for (let seq = info.state.first_seq; seq <= info.state.last_seq; seq++) {
    const m = await jsm.streams.getMessage(stream, { seq }).catch(() => null);
    if (!m) continue;
    const headers: Record<string, string> = {};
    for (const key of m.header?.keys() ?? []) headers[key.toLowerCase()] = m.header.get(key);
    let payload: unknown;
    try {
      payload = m.json();
    } catch {
      payload = m.string();
    }
    out.push({ seq: m.seq, subject: m.subject, headers, payload: payload as T });
  }
  return out;
}

/** The messages of one subject on a stream whose payload matches `where`. */
export async function eventsOf<T = Record<string, unknown>>(
  nc: NatsConnection,
  stream: StreamName,
  subject: string,
  where: (payload: T) => boolean = () => true,
): Promise<BusEvent<T>[]> {
  const all = await readStream<T>(nc, stream);
  return all.filter((e) => e.subject === subject && where(e.payload));
}

/** The trace id carried by a W3C `traceparent` header (`00-<trace>-<span>-<flags>`). */
export function traceIdOf(traceparent: string | undefined): string | undefined {
  const match = /^[0-9a-f]{2}-([0-9a-f]{32})-[0-9a-f]{16}-[0-9a-f]{2}$/.exec(traceparent ?? "");
  return match?.[1];
}
