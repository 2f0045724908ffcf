import { describe, expect, it } from "vitest";
import { day, explain } from "../console/src/messages.js";
import { BatchExists, BatchNotFound } from "../src/app/errors.js";
import { DamageExceedsQuantity, EtaNotLater, InvalidQuantity } from "../src/domain/index.js";

// Every code the warehouse API can answer with: its own errors, then the service kit's.
const warehouseCodes = [
  new BatchExists("B-1").code,
  new BatchNotFound("B-1").code,
  new DamageExceedsQuantity("B-1", 5, 2).code,
  new EtaNotLater("B-1", "2031-01-10", "2031-01-05").code,
  new InvalidQuantity(0).code,
  "unauthorized",
];
const kitCodes = [
  "validation_failed",
  "invalid_json",
  "invalid_url",
  "bad_request",
  "not_found",
  "payload_too_large",
  "unsupported_media_type",
  "too_many_requests",
  "service_unavailable",
  "internal_error",
];

describe("the console's sentences", () => {
  it.each([...warehouseCodes, ...kitCodes, "network_error"])("has its own sentence for %s", (code) => {
    const sentence = explain(code, "technical message", { reference: "B-1", qty: 5 });
    expect(sentence).toMatch(/^[A-Z].*\.$/);
    expect(sentence).not.toContain(code);
    expect(sentence).not.toBe(explain("some_future_code", "technical message"));
  });

  it("still says something, with the code for the operators, for a code it does not know", () => {
    expect(explain("some_future_code", "")).toContain("(code some_future_code)");
  });

  it("tells damage beyond stock with what the batch holds now", () => {
    const current = { reference: "B-1", sku: "LAMP", qty: 2, eta: null };
    expect(explain("damage_exceeds_quantity", "", { reference: "B-1", qty: 5, current })).toBe(
      "Nothing was changed: batch B-1 holds only 2 units, so 5 units cannot be reported damaged.",
    );
  });

  it("tells a delay to an earlier day with the day the shipment has now", () => {
    const current = { reference: "B-1", sku: "LAMP", qty: 2, eta: "2031-01-10" };
    expect(explain("eta_not_later", "", { reference: "B-1", eta: "2031-01-05", current })).toContain(
      "after the one it has now, Fri 10 Jan 2031.",
    );
  });

  it("writes days the same way whatever the browser's language", () => {
    expect(day("2031-03-15")).toBe("Sat 15 Mar 2031");
    expect(day("2032-02-29")).toBe("Sun 29 Feb 2032");
  });
});
