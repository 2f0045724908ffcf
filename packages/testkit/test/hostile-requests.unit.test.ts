import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { expectRefused, hostilePathSegment, metacharacters } from "../src/hostile-requests.js";

const answering = (statusCode: number, body: string) => async () => ({ statusCode, body });
const request = { method: "GET" as const, url: "/things/x" };
const errorBody = JSON.stringify({ error: "not_found", message: "no such thing" });

describe("expectRefused", () => {
  it("accepts a 4xx with the standard error body", async () => {
    await expect(expectRefused(answering(404, errorBody), request)).resolves.toBeUndefined();
  });

  it("throws for an answer that is not a 4xx, naming the request", async () => {
    await expect(expectRefused(answering(200, errorBody), request)).rejects.toThrow(
      /not a 4xx: GET \/things\/x/,
    );
    await expect(expectRefused(answering(500, errorBody), request)).rejects.toThrow(/not a 4xx/);
  });

  it("throws for a 4xx whose body is not exactly { error, message }", async () => {
    for (const body of [
      "",
      "not json",
      '{"error":"x"}',
      '{"error":"x","message":"y","stack":"z"}',
      '{"error":1,"message":"y"}',
    ])
      await expect(expectRefused(answering(400, body), request)).rejects.toThrow(/standard error body/);
  });

  it("throws when no answer comes within the deadline", async () => {
    const never = () => new Promise<never>(() => {});
    await expect(expectRefused(never, request, 20)).rejects.toThrow("no answer within 20 ms");
  });
});

describe("hostilePathSegment", () => {
  it("never generates a segment that decodes to a known name", () => {
    const known = ["DESK", "order-1"];
    fc.assert(
      fc.property(hostilePathSegment({ probes: metacharacters("DESK"), known }), (segment) => {
        let decoded: string | undefined;
        try {
          decoded = decodeURIComponent(segment);
        } catch {
          decoded = undefined;
        }
        expect(known).not.toContain(decoded);
      }),
      { numRuns: 200 },
    );
  });
});
