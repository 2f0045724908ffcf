import { readFileSync } from "node:fs";
import { type Authenticator, credsAuthenticator, type NatsConnection } from "@nats-io/nats-core";
import { connect } from "@nats-io/transport-node";
import { CliError } from "./output.js";

export interface CliNatsOptions {
  /** One URL or several, comma separated. */
  servers: string;
  user?: string;
  password?: string;
  credsFile?: string;
  timeoutMs?: number;
}

/** Exit code when the broker cannot be reached: scripts can tell it from a failed command. */
export const EXIT_NATS_UNREACHABLE = 2;

export function natsOptionsFromEnv(env: NodeJS.ProcessEnv): CliNatsOptions {
  return {
    servers: env.NATS_URL || "nats://127.0.0.1:4222",
    user: env.NATS_USER || undefined,
    password: env.NATS_PASSWORD || undefined,
    credsFile: env.NATS_CREDS || undefined,
  };
}

/**
 * Connects once, with a deadline and no reconnection: unlike a service, an operator's
 * command should fail at once and say why rather than wait for a broker that is down.
 */
export async function connectCli(options: CliNatsOptions): Promise<NatsConnection> {
  const servers = options.servers
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);
  let authenticator: Authenticator | undefined;
  if (options.credsFile) {
    try {
      authenticator = credsAuthenticator(new TextEncoder().encode(readFileSync(options.credsFile, "utf8")));
    } catch (err) {
      throw new CliError(`cannot read NATS_CREDS file ${options.credsFile}: ${(err as Error).message}`);
    }
  }
  try {
    return await connect({
      servers,
      name: "stockflow-cli",
      timeout: options.timeoutMs ?? 3000,
      reconnect: false,
      maxReconnectAttempts: 0,
      waitOnFirstConnect: false,
      ...(options.user ? { user: options.user, pass: options.password } : {}),
      ...(authenticator ? { authenticator } : {}),
    });
  } catch (err) {
    throw new CliError(
      `cannot connect to NATS at ${servers.join(", ")}: ${(err as Error).message}`,
      EXIT_NATS_UNREACHABLE,
      { cause: err },
    );
  }
}
