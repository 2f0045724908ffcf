import type { Msg, NatsConnection } from "@nats-io/nats-core";
import type { Output } from "../output.js";

export interface TailDeps {
  nc: NatsConnection;
  output: Output;
}

export interface TailOptions {
  /** Stop after this many messages; otherwise run until `signal` aborts (Ctrl-C). */
  count?: number;
  json?: boolean;
  signal?: AbortSignal;
  /** Called once the server has registered the subscription. */
  onReady?: () => void;
}

export interface TailedEvent {
  subject: string;
  ceId: string;
  traceId: string;
  body: string;
}

/** The trace id of a W3C `traceparent` (`00-<trace id>-<span id>-<flags>`), or "". */
export function traceIdOf(traceparent: string | undefined): string {
  const parts = (traceparent ?? "").split("-");
  return parts.length === 4 && /^[0-9a-f]{32}$/.test(parts[1] ?? "") ? parts[1]! : "";
}

function toEvent(m: Msg): TailedEvent {
  return {
    subject: m.subject,
    ceId: m.headers?.get("ce-id") ?? "",
    traceId: traceIdOf(m.headers?.get("traceparent")),
    body: new TextDecoder().decode(m.data).replace(/[\r\n]+/g, " "),
  };
}

/**
 * Prints live messages on a subject filter. A core subscription sees JetStream publishes too,
 * and unlike a consumer it leaves nothing behind on the server.
 */
export async function tail(
  deps: TailDeps,
  filter: string,
  options: TailOptions = {},
): Promise<TailedEvent[]> {
  const { nc, output } = deps;
  const sub = nc.subscribe(filter, options.count ? { max: options.count } : {});
  const stop = () => sub.unsubscribe();
  options.signal?.addEventListener("abort", stop, { once: true });
  const seen: TailedEvent[] = [];
  try {
    await nc.flush();
    options.onReady?.();
    if (options.signal?.aborted) stop();
    for await (const m of sub) {
      const e = toEvent(m);
      seen.push(e);
      output.out(
        options.json
          ? JSON.stringify(e)
          : `${new Date().toISOString()} ${e.subject} ce-id=${e.ceId || "-"} trace=${e.traceId || "-"} ${e.body}`,
      );
    }
  } finally {
    options.signal?.removeEventListener("abort", stop);
  }
  return seen;
}
