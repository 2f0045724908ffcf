import { parseArgs } from "node:util";
import type { NatsConnection } from "@nats-io/nats-core";
import { contractsReport } from "./commands/contracts.js";
import { dlqList } from "./commands/dlq-list.js";
import { dlqPurge } from "./commands/dlq-purge.js";
import { dlqReplay } from "./commands/dlq-replay.js";
import { outboxBacklog, outboxSourcesFromEnv } from "./commands/outbox.js";
import { tail } from "./commands/tail.js";
import { parseDuration } from "./duration.js";
import { connectCli, natsOptionsFromEnv } from "./nats.js";
import { CliError, type Output } from "./output.js";

export const EXIT_USAGE = 64;

export const USAGE = `usage: stockflow <command>

  dlq list [--json]                      every dead letter: seq, reason, error, origin, deliveries, age
  dlq replay <seq>                       republish a dead letter to its original subject, then delete it
  dlq replay --all --reason <reason>     the same for every dead letter with that reason
  dlq purge --older-than <duration>      delete dead letters older than e.g. 30s, 15m, 2h, 7d
  tail <subject-filter> [--count N] [--json]
                                         print live events (subject, ce-id, trace id, body) until Ctrl-C
  outbox [--json]                        each service's outbox backlog (pending rows, oldest age)
  contracts [--json]                     every subject: stream, publisher, messages, last one, the
                                         durables reading it with their backlog; deprecated versions'
                                         remaining readers

environment: NATS_URL (nats://127.0.0.1:4222), NATS_USER, NATS_PASSWORD, NATS_CREDS,
  ORDERING_DATABASE_URL, ALLOCATION_DATABASE_URL, WAREHOUSE_DATABASE_URL
exit codes: 0 done, 1 failed, 2 NATS unreachable, 64 usage error`;

export interface RunContext {
  env: NodeJS.ProcessEnv;
  output: Output;
  /** Aborted on Ctrl-C: stops `tail`. */
  signal?: AbortSignal;
}

const usage = (message: string) => new CliError(`${message}\n\n${USAGE}`, EXIT_USAGE);

function positiveInt(text: string | undefined, what: string): number | undefined {
  if (text === undefined) return undefined;
  if (!/^\d+$/.test(text) || Number(text) < 1)
    throw usage(`${what} must be a positive integer, not "${text}"`);
  return Number(text);
}

async function withNats<T>(ctx: RunContext, fn: (nc: NatsConnection) => Promise<T>): Promise<T> {
  const nc = await connectCli(natsOptionsFromEnv(ctx.env));
  try {
    return await fn(nc);
  } finally {
    await nc.close().catch(() => {});
  }
}

async function dlq(args: string[], ctx: RunContext): Promise<number> {
  const [sub, ...rest] = args;
  const { output } = ctx;
  switch (sub) {
    case "list": {
      const { values } = parseArgs({ args: rest, options: { json: { type: "boolean" } } });
      return withNats(ctx, (nc) => dlqList({ nc, output }, { json: values.json ?? false }));
    }
    case "replay": {
      const { values, positionals } = parseArgs({
        args: rest,
        allowPositionals: true,
        options: { all: { type: "boolean" }, reason: { type: "string" } },
      });
      if (values.all) {
        if (!values.reason) throw usage("dlq replay --all needs --reason <reason>");
        if (positionals.length > 0) throw usage("dlq replay takes either <seq> or --all --reason <reason>");
        const reason = values.reason;
        await withNats(ctx, (nc) => dlqReplay({ nc, output }, { reason }));
        return 0;
      }
      if (values.reason) throw usage("--reason goes with --all");
      if (positionals.length !== 1) throw usage("dlq replay needs one dead letter sequence (see dlq list)");
      const seq = positiveInt(positionals[0], "the sequence")!;
      await withNats(ctx, (nc) => dlqReplay({ nc, output }, { seq }));
      return 0;
    }
    case "purge": {
      const { values } = parseArgs({ args: rest, options: { "older-than": { type: "string" } } });
      const text = values["older-than"];
      if (!text) throw usage("dlq purge needs --older-than <duration>");
      const ms = parseDuration(text);
      if (ms === undefined)
        throw usage(`--older-than takes a duration like 30s, 15m, 2h or 7d, not "${text}"`);
      await withNats(ctx, (nc) => dlqPurge({ nc, output }, ms));
      return 0;
    }
    default:
      throw usage(sub ? `unknown dlq command "${sub}"` : "dlq needs a command: list, replay or purge");
  }
}

/** Runs one command line (without `node main.js`) and returns the exit code. */
export async function run(argv: string[], ctx: RunContext): Promise<number> {
  const [command, ...rest] = argv;
  try {
    switch (command) {
      case "dlq":
        return await dlq(rest, ctx);
      case "tail": {
        const { values, positionals } = parseArgs({
          args: rest,
          allowPositionals: true,
          options: { count: { type: "string" }, json: { type: "boolean" } },
        });
        if (positionals.length !== 1) throw usage("tail needs one subject filter, e.g. 'ordering.>'");
        const count = positiveInt(values.count, "--count");
        const filter = positionals[0]!;
        await withNats(ctx, (nc) =>
          tail({ nc, output: ctx.output }, filter, {
            count,
            json: values.json ?? false,
            signal: ctx.signal,
            onReady: () =>
              ctx.output.err(`tailing ${filter}${count ? ` for ${count} message(s)` : " (Ctrl-C to stop)"}`),
          }),
        );
        return 0;
      }
      case "outbox": {
        const { values } = parseArgs({ args: rest, options: { json: { type: "boolean" } } });
        const results = await outboxBacklog(
          { databases: outboxSourcesFromEnv(ctx.env), output: ctx.output },
          { json: values.json ?? false },
        );
        return results.every((r) => r.ok) ? 0 : 1;
      }
      case "contracts": {
        const { values } = parseArgs({ args: rest, options: { json: { type: "boolean" } } });
        await withNats(ctx, (nc) =>
          contractsReport({ nc, output: ctx.output }, { json: values.json ?? false }),
        );
        return 0;
      }
      case undefined:
      case "help":
      case "--help":
      case "-h":
        ctx.output.out(USAGE);
        return command === undefined ? EXIT_USAGE : 0;
      default:
        throw usage(`unknown command "${command}"`);
    }
  } catch (err) {
    if (err instanceof CliError) {
      ctx.output.err(`stockflow: ${err.message}`);
      return err.exitCode;
    }
    // parseArgs reports unknown or malformed options with a code of its own.
    if ((err as { code?: string }).code?.startsWith("ERR_PARSE_ARGS")) {
      ctx.output.err(`stockflow: ${(err as Error).message}\n\n${USAGE}`);
      return EXIT_USAGE;
    }
    ctx.output.err(`stockflow: ${(err as Error).message}`);
    return 1;
  }
}
