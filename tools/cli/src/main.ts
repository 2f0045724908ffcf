#!/usr/bin/env node
import { run } from "./cli.js";
import { processOutput } from "./output.js";

// The composition root: real process streams, environment and Ctrl-C. Everything else is in
// cli.ts, so tests run the same code in-process.
const controller = new AbortController();
process.once("SIGINT", () => controller.abort());
process.exitCode = await run(process.argv.slice(2), {
  env: process.env,
  output: processOutput,
  signal: controller.signal,
});
