import { readFileSync } from "node:fs";
import { credsAuthenticator, type NatsConnection } from "@nats-io/nats-core";
import { connect } from "@nats-io/transport-node";
import { setMessagingServer } from "@stockflow/telemetry";
import { outageLog } from "./outage-log.js";
import type { Logger } from "./types.js";

export interface NatsOptions {
  /** One URL or several (a list, or comma separated). */
  servers: string | readonly string[];
  user?: string;
  password?: string;
  credsFile?: string;
  name: string;
  logger: Logger;
}

/**
 * Connects and keeps reconnecting forever: a service outlives a broker restart instead of
 * exiting, and waits for a broker that is not up yet at start.
 */
export async function connectNats(options: NatsOptions): Promise<NatsConnection> {
  const { logger } = options;
  const nc = await connect({
    servers: (typeof options.servers === "string" ? options.servers.split(",") : [...options.servers])
      .map((s) => s.trim())
      .filter(Boolean),
    name: options.name,
    maxReconnectAttempts: -1,
    reconnectTimeWait: 500,
    waitOnFirstConnect: true,
    // nats.js makes two Error objects per request (every JetStream publish), for async stack
    // traces: 2-4% of a service's CPU in its profile under load. Errors keep their messages.
    noAsyncTraces: true,
    ...(options.user ? { user: options.user, pass: options.password } : {}),
    ...(options.credsFile
      ? {
          authenticator: credsAuthenticator(
            new TextEncoder().encode(readFileSync(options.credsFile, "utf8")),
          ),
        }
      : {}),
  });
  logger.info({ server: nc.getServer() }, "connected to NATS");
  // One line when the connection drops, reminders while every reconnect attempt fails, one
  // line when it is back: not a line per attempt (every 500 ms).
  const outage = outageLog({ logger, dependency: "NATS", component: `connection ${options.name}` });
  setMessagingServer(nc.getServer());
  void (async () => {
    for await (const s of nc.status()) {
      if (s.type === "error") logger.error({ err: s.error }, `NATS error: ${s.error.message}`);
      else if (s.type === "disconnect") outage.down(new Error(`disconnected from ${s.server}`));
      else if (s.type === "reconnecting") outage.down(new Error("reconnecting"));
      else if (s.type === "reconnect") {
        outage.up();
        setMessagingServer(nc.getServer());
      }
    }
  })();
  return nc;
}
