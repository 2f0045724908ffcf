import { createRequire } from "node:module";
import type { NatsProbe } from "../src/index.js";

export interface TestNatsConnection extends NatsProbe {
  close(): Promise<void>;
}

/**
 * A real nats.js connection for readiness tests. service-kit does not depend on a NATS
 * transport itself (readiness types the connection structurally), so the client is
 * loaded from the messaging package, which does.
 */
export async function connectNats(servers: string): Promise<TestNatsConnection> {
  const require = createRequire(new URL("../../messaging/package.json", import.meta.url));
  const { connect } = (await import(require.resolve("@nats-io/transport-node"))) as {
    connect(opts: { servers: string }): Promise<TestNatsConnection>;
  };
  return connect({ servers });
}
