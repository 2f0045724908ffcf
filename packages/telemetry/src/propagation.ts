import { Match, type MsgHdrs } from "@nats-io/nats-core";
import {
  type Context,
  context,
  propagation,
  ROOT_CONTEXT,
  type TextMapGetter,
  type TextMapSetter,
} from "@opentelemetry/api";

/** Writes propagation fields into NATS message headers. */
export const natsHeadersSetter: TextMapSetter<MsgHdrs> = {
  set(carrier, key, value) {
    carrier.set(key, value);
  },
};

/** Reads propagation fields from NATS headers; header names compare case-insensitively. */
export const natsHeadersGetter: TextMapGetter<MsgHdrs | undefined> = {
  get(carrier, key) {
    if (!carrier?.has(key, Match.IgnoreCase)) return undefined;
    return carrier.get(key, Match.IgnoreCase);
  },
  keys(carrier) {
    return carrier ? carrier.keys() : [];
  },
};

/** Adds `traceparent` (and `tracestate`) of `ctx` to the headers of an outgoing message. */
export function injectIntoHeaders(ctx: Context, headers: MsgHdrs): void {
  propagation.inject(ctx, headers, natsHeadersSetter);
}

/** The remote context a message was published under (ROOT_CONTEXT-based, never undefined). */
export function extractFromHeaders(headers: MsgHdrs | undefined): Context {
  return propagation.extract(ROOT_CONTEXT, headers, natsHeadersGetter);
}

/**
 * The trace context as a plain object, e.g. to store in an outbox row so the relay can
 * publish later under the context that wrote the row.
 */
export function captureContext(ctx: Context = context.active()): Record<string, string> {
  const carrier: Record<string, string> = {};
  propagation.inject(ctx, carrier);
  return carrier;
}

/** The inverse of captureContext. */
export function restoreContext(carrier: Record<string, string>): Context {
  return propagation.extract(ROOT_CONTEXT, carrier);
}
