import { describe, expect, it } from "vitest";
import { EXIT_USAGE, run } from "../src/cli.js";
import { traceIdOf } from "../src/commands/tail.js";
import { formatAge, parseDuration } from "../src/duration.js";
import { captureOutput } from "./support.js";

// Usage errors are found before any connection is made: these tests do no I/O.
const usageOf = async (argv: string[]) => {
  const cap = captureOutput();
  const code = await run(argv, { env: { NATS_URL: "nats://127.0.0.1:1" }, output: cap.output });
  return { code, err: cap.errText() };
};

describe("durations", () => {
  it("parses a whole number and one unit", () => {
    expect(parseDuration("0s")).toBe(0);
    expect(parseDuration("250ms")).toBe(250);
    expect(parseDuration("30s")).toBe(30_000);
    expect(parseDuration("15m")).toBe(900_000);
    expect(parseDuration("2h")).toBe(7_200_000);
    expect(parseDuration("7d")).toBe(604_800_000);
  });

  it("rejects anything else", () => {
    for (const bad of ["", "5", "1.5h", "-1s", "1w", "1h30m", "soon"])
      expect(parseDuration(bad)).toBeUndefined();
  });

  it("formats an age with its two largest units", () => {
    expect(formatAge(850)).toBe("850ms");
    expect(formatAge(42_000)).toBe("42s");
    expect(formatAge(303_000)).toBe("5m 3s");
    expect(formatAge(7_800_000)).toBe("2h 10m");
    expect(formatAge(273_600_000)).toBe("3d 4h");
  });
});

describe("trace ids", () => {
  it("takes the trace id out of a traceparent and nothing out of garbage", () => {
    expect(traceIdOf("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01")).toBe(
      "0af7651916cd43dd8448eb211c80319c",
    );
    expect(traceIdOf(undefined)).toBe("");
    expect(traceIdOf("not-a-trace")).toBe("");
  });
});

describe("argument parsing", () => {
  it("asks for a reason when replaying --all", async () => {
    expect(await usageOf(["dlq", "replay", "--all"])).toMatchObject({
      code: EXIT_USAGE,
      err: expect.stringContaining("--reason"),
    });
  });

  it("refuses a sequence that is not a positive integer", async () => {
    expect((await usageOf(["dlq", "replay", "abc"])).code).toBe(EXIT_USAGE);
    expect((await usageOf(["dlq", "replay", "0"])).code).toBe(EXIT_USAGE);
  });

  it("refuses a purge without a valid --older-than", async () => {
    expect((await usageOf(["dlq", "purge"])).code).toBe(EXIT_USAGE);
    expect(await usageOf(["dlq", "purge", "--older-than", "soon"])).toMatchObject({
      code: EXIT_USAGE,
      err: expect.stringContaining('not "soon"'),
    });
  });

  it("refuses unknown options and a tail without a filter", async () => {
    expect((await usageOf(["dlq", "list", "--verbose"])).code).toBe(EXIT_USAGE);
    expect((await usageOf(["tail"])).code).toBe(EXIT_USAGE);
    expect((await usageOf(["tail", "x.>", "--count", "many"])).code).toBe(EXIT_USAGE);
  });

  it("prints the usage for help and exits 0", async () => {
    const cap = captureOutput();
    expect(await run(["help"], { env: {}, output: cap.output })).toBe(0);
    expect(cap.text()).toContain("stockflow <command>");
  });
});
