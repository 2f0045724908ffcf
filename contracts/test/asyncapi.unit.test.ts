import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { Parser } from "@asyncapi/parser";
import { describe, expect, it } from "vitest";
import {
  allContracts,
  asyncApiDocument,
  asyncApiText,
  DEAD_LETTER_REASONS,
  DLQ_HEADERS,
  streams,
} from "../src/index.js";

const committedText = readFileSync(fileURLToPath(new URL("../asyncapi.json", import.meta.url)), "utf8");

// biome-ignore lint/suspicious/noExplicitAny: the document is read as plain JSON.
type Any = any;
const doc: Any = asyncApiDocument();
const operationsOf = (subject: string) =>
  Object.entries(doc.operations)
    .filter(([, op]: [string, Any]) => op.channel.$ref === `#/channels/${subject}`)
    .map(([id]) => id)
    .sort();

describe("the AsyncAPI document", () => {
  it("shows allocation.line_allocated.v1 as deprecated, superseded by v2", () => {
    const channel = doc.channels["allocation.line_allocated.v1"];
    expect(channel["x-deprecated"]).toBe(true);
    expect(channel["x-superseded-by"]).toBe("allocation.line_allocated.v2");
    expect(channel.description).toContain("Deprecated: superseded by allocation.line_allocated.v2");
    expect(doc.components.schemas["allocation.line_allocated.v1"].deprecated).toBe(true);
    expect(doc.components.messages["allocation.line_allocated.v1"].title).toBe(
      "line_allocated v1 (deprecated)",
    );
    expect(doc.channels["allocation.line_allocated.v2"]["x-deprecated"]).toBeUndefined();
  });

  it("is committed as generated from the current contracts", () => {
    expect(committedText, "stale: run pnpm --filter @stockflow/contracts docs").toBe(asyncApiText());
  });

  it("is valid AsyncAPI 3.1 for @asyncapi/parser, without an error, a warning or even a hint", async () => {
    const diagnostics = await new Parser().validate(committedText);
    const problems = diagnostics.map((d) => `${d.severity} ${d.code} ${d.path.join("/")}: ${d.message}`);
    expect(problems).toEqual([]);
    expect(doc.asyncapi).toBe("3.1.0");
  });

  it("describes a dead letter: every dlq-* header the consumers set, and what its payload carries", async () => {
    const { document } = await new Parser().parse(committedText);
    const message = document?.components().messages().get("dead_letter");
    const headers = message?.headers()?.json() as Any;
    expect(headers.required).toEqual(
      expect.arrayContaining(Object.values(DLQ_HEADERS).filter((h) => h !== DLQ_HEADERS.originalMsgId)),
    );
    for (const name of Object.values(DLQ_HEADERS))
      expect(headers.properties[name]?.description, name).toBeTruthy();
    expect(headers.properties[DLQ_HEADERS.reason].enum).toEqual([...DEAD_LETTER_REASONS]);
    expect(message?.payload()?.description()).toMatch(/original message body/);
    expect(message?.description()).toMatch(/dlq replay/);
  });

  it("has a channel per contract subject, naming its stream, with the contract's schema as payload", () => {
    for (const contract of allContracts) {
      const channel = doc.channels[contract.subject];
      expect(channel.address).toBe(contract.subject);
      expect(channel["x-stream"]).toBe(contract.stream);
      expect(streams[contract.stream as keyof typeof streams]).toBeDefined();
      const { deprecated, ...payload } = doc.components.schemas[contract.subject];
      expect(payload).toEqual(JSON.parse(JSON.stringify(contract.schema)));
      expect(deprecated).toBe(contract.deprecated ? true : undefined);
      const message = doc.components.messages[contract.subject];
      expect(message.headers.properties["ce-type"].const).toBe(contract.subject);
      expect(message.headers.properties["ce-source"].const).toBe(`/${contract.producer}`);
      expect(message.headers.required).toEqual(
        expect.arrayContaining(["ce-specversion", "ce-id", "ce-source", "ce-type", "ce-time", "traceparent"]),
      );
    }
  });

  it("says which service sends and which receives each event", () => {
    // subject -> [producer, ...consumers]
    const flows: Record<string, string[]> = {
      "ordering.order_placed.v1": ["ordering", "allocation"],
      "ordering.order_cancelled.v1": ["ordering", "allocation"],
      "warehouse.batch_registered.v1": ["warehouse", "allocation"],
      "warehouse.batch_quantity_changed.v1": ["warehouse", "allocation"],
      "warehouse.shipment_delayed.v1": ["warehouse", "allocation"],
      "allocation.line_allocated.v1": ["allocation", "warehouse"],
      "allocation.line_allocated.v2": ["allocation", "ordering"],
      "allocation.line_deallocated.v1": ["allocation", "ordering", "warehouse"],
      "allocation.out_of_stock.v1": ["allocation", "ordering"],
    };
    for (const [subject, [producer, ...consumers]] of Object.entries(flows)) {
      const expected = [`${producer}.send.${subject}`, ...consumers.map((c) => `${c}.receive.${subject}`)];
      expect(operationsOf(subject), subject).toEqual(expected.sort());
    }
  });
});
