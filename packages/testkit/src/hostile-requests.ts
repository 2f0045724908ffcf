import fc from "fast-check";

// What the hostile-requests fuzz tests of the three services share (each service's
// test/hostile-requests.fuzz.int.test.ts): sending a request invalid by construction to the
// app in process and checking it is refused, and the arbitraries every API must refuse. A
// service adds its own fields' invalid values and the names it must never generate.

/** A request as fastify's `app.inject` takes it. */
export interface HostileRequest {
  method: "GET" | "POST" | "PUT" | "PATCH" | "DELETE";
  url: string;
  headers?: Record<string, string>;
  payload?: string;
}

/** Sends a request in process: `(r) => app.inject(r)`. */
export type Inject = (request: HostileRequest) => Promise<{ statusCode: number; body: string }>;

/**
 * Sends `request` and throws (the property's counterexample) unless it is refused as the
 * services refuse: 4xx, the standard error body `{ error, message }`, within `deadlineMs`.
 */
export async function expectRefused(inject: Inject, request: HostileRequest, deadlineMs = 5_000) {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${deadlineMs} ms`)), deadlineMs);
  });
  const res = await Promise.race([inject(request), deadline]).finally(() => clearTimeout(timer));
  const where = `${request.method} ${request.url.slice(0, 120)} ${request.payload?.slice(0, 120) ?? ""} -> ${res.statusCode} ${res.body.slice(0, 300)}`;
  if (res.statusCode < 400 || res.statusCode >= 500) throw new Error(`not a 4xx: ${where}`);
  if (!isErrorBody(res.body)) throw new Error(`not the standard error body: ${where}`);
}

function isErrorBody(body: string): boolean {
  try {
    const parsed = JSON.parse(body) as Record<string, unknown>;
    return (
      Object.keys(parsed).sort().join() === "error,message" &&
      typeof parsed.error === "string" &&
      typeof parsed.message === "string"
    );
  } catch {
    return false;
  }
}

/** A value as JSON text (`undefined` as `null`): bodies are built as text, so -0 and 1e308 arrive as written. */
export const json = (value: unknown) => JSON.stringify(value) ?? "null";

/** No unpaired surrogate (String#isWellFormed is ES2024, beyond the configured lib). */
export function isWellFormed(s: string): boolean {
  try {
    encodeURIComponent(s);
    return true;
  } catch {
    return false;
  }
}

/** Characters PostgreSQL text cannot store: NUL and lone surrogates. */
export const unstorable = fc.constantFrom("\u0000", "\ud800", "\udbff", "\udc00", "\udfff");
/** Text with an unstorable character inside. */
export const withUnstorable = fc.tuple(fc.string(), unstorable, fc.string()).map((parts) => parts.join(""));

/** Text of at least `minLength` characters (a field's limit + 1), up to 12,000. */
export const longText = (minLength: number) =>
  fc
    .tuple(
      fc.string({ unit: "binary", minLength: 1, maxLength: 8 }),
      fc.integer({ min: minLength, max: 12_000 }),
    )
    .map(([s, n]) => s.repeat(Math.ceil(n / [...s].length)));

/** Injection probes, with the service's own (a `drop table` of its tables, a seeded name quoted). */
export const metacharacters = (...more: string[]) =>
  fc.constantFrom('" OR 1=1 --', '{"$ne": null}', "</script><script>alert(1)</script>", ...more);

/** Up to three of the usual request headers (and `more`), each with a hostile value. */
export function hostileHeaders(probes: fc.Arbitrary<string>, more: string[] = []) {
  const value = fc.oneof(fc.string({ maxLength: 40 }), longText(201), withUnstorable, probes);
  const names = ["x-forwarded-for", "accept", "authorization", "traceparent", "tracestate", "x-request-id"];
  return fc.dictionary(fc.constantFrom(...names, ...more), value, { maxKeys: 3 });
}

/**
 * A path segment as sent on the wire: percent-encoded text (long, probing), bytes that
 * decode to no valid or storable text, traversal and prototype names; never one that
 * decodes to a name in `known` (the seeded ones).
 */
export function hostilePathSegment({
  probes,
  minLongText = 201,
  more = [],
  known = [],
}: {
  probes: fc.Arbitrary<string>;
  minLongText?: number;
  more?: string[];
  known?: readonly string[];
}) {
  const seeded = new Set(known);
  return fc
    .oneof(
      fc.string({ unit: "binary", minLength: 1, maxLength: 60 }).map(encodeURIComponent),
      longText(minLongText).filter(isWellFormed).map(encodeURIComponent),
      probes.map(encodeURIComponent),
      fc.tuple(fc.string(), unstorable, fc.string()).map(
        // Lone surrogates cannot be percent-encoded as UTF-8: sent as the bytes a client would try.
        ([a, bad, b]) =>
          `${encodeURIComponent(a)}${bad === "\u0000" ? "%00" : "%ED%A0%80"}${encodeURIComponent(b)}`,
      ),
      fc.constantFrom(
        "%ZZ",
        "%",
        "%E0%A4%A",
        "%ED%A0%80",
        "%C0%80",
        "%00",
        "..%2F..%2Fetc%2Fpasswd",
        "__proto__",
        "constructor",
        "prototype",
        "x".repeat(10_000),
        ...more,
      ),
    )
    .filter((segment) => {
      try {
        return !seeded.has(decodeURIComponent(segment));
      } catch {
        return true;
      }
    });
}

/** A query string (or none) that probes the parser: prototype keys, NUL, bad escapes, thousands of pairs. */
export const hostileQuery = (...more: string[]) =>
  fc.option(
    fc.constantFrom(
      "?__proto__[admin]=1",
      "?constructor[prototype][admin]=1",
      "?a=%00",
      "?a=%ZZ",
      `?${"a=1&".repeat(2_000)}`,
      ...more,
    ),
    { nil: "" },
  );
