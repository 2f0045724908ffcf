import { execFile, spawn } from "node:child_process";
import { existsSync, readdirSync, statSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { freePort } from "@stockflow/testkit";
import { beforeAll, describe, expect, it } from "vitest";
import { run } from "../src/cli.js";
import { captureOutput } from "./support.js";

const cliRoot = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const repoRoot = resolve(cliRoot, "../..");
const mainJs = join(cliRoot, "dist/main.js");

function newestSource(dir: string): number {
  return Math.max(
    ...readdirSync(dir, { withFileTypes: true }).map((e) =>
      e.isDirectory() ? newestSource(join(dir, e.name)) : statSync(join(dir, e.name)).mtimeMs,
    ),
  );
}

function runBinary(args: string[], env: Record<string, string>) {
  return new Promise<{ code: number | null; stdout: string; stderr: string }>((resolveRun) => {
    const p = spawn(process.execPath, [mainJs, ...args], { env: { ...process.env, ...env }, cwd: repoRoot });
    let stdout = "";
    let stderr = "";
    p.stdout.on("data", (d) => (stdout += d));
    p.stderr.on("data", (d) => (stderr += d));
    p.once("exit", (code) => resolveRun({ code, stdout, stderr }));
  });
}

let closedNatsUrl: string;

beforeAll(async () => {
  closedNatsUrl = `nats://127.0.0.1:${await freePort()}`;
  // The binary runs from dist/: build it when missing or older than the source.
  if (!existsSync(mainJs) || statSync(mainJs).mtimeMs < newestSource(join(cliRoot, "src"))) {
    await promisify(execFile)(
      process.execPath,
      [join(repoRoot, "node_modules/typescript/bin/tsc"), "-p", cliRoot],
      {
        cwd: repoRoot,
      },
    );
  }
});

describe("the stockflow binary", () => {
  it("exits 2 at once with a one-line message when NATS is unreachable", async () => {
    const started = Date.now();
    const r = await runBinary(["dlq", "list"], { NATS_URL: closedNatsUrl });
    expect(r.code).toBe(2);
    expect(r.stderr.trim()).toBe(`stockflow: cannot connect to NATS at ${closedNatsUrl}: connection refused`);
    expect(r.stdout).toBe("");
    expect(Date.now() - started).toBeLessThan(15_000);
  });

  it("exits 2 in-process too, for every command that needs NATS", async () => {
    for (const argv of [
      ["dlq", "list"],
      ["dlq", "replay", "1"],
      ["dlq", "purge", "--older-than", "1h"],
      ["tail", ">"],
    ]) {
      const cap = captureOutput();
      expect(await run(argv, { env: { NATS_URL: closedNatsUrl }, output: cap.output })).toBe(2);
      expect(cap.errText()).toContain(`cannot connect to NATS at ${closedNatsUrl}`);
    }
  });

  it("exits 64 with the usage on an unknown command", async () => {
    const r = await runBinary(["frobnicate"], {});
    expect(r.code).toBe(64);
    expect(r.stderr).toContain('unknown command "frobnicate"');
    expect(r.stderr).toContain("dlq replay --all --reason <reason>");
  });
});
