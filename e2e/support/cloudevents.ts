import { CloudEvent } from "cloudevents";
import type { BusEvent } from "./bus.js";

/**
 * The CloudEvent a stored message stands for under the NATS protocol binding in binary
 * mode: every `ce-<name>` header is the attribute `<name>`, the body is the data. Built with
 * the `cloudevents` SDK in strict mode, so an event the SDK finds invalid throws here.
 * `content-type` is deliberately not mapped: the binding names the attribute
 * `ce-datacontenttype`, and a consumer that reads only the binding must find it.
 */
export function cloudEventOf(event: BusEvent<unknown>): CloudEvent<unknown> {
  const ce = new CloudEvent<unknown>({ ...headerAttributes(event), data: event.payload }, true);
  ce.validate();
  return ce;
}

/** The attributes carried as `ce-*` headers, by name (what the SDK did not have to infer). */
export function headerAttributes(event: BusEvent<unknown>): Record<string, string> {
  return Object.fromEntries(
    Object.entries(event.headers)
      .filter(([key]) => key.startsWith("ce-"))
      .map(([key, value]) => [key.slice(3), value]),
  );
}
