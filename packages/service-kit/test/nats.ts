import { connect } from "@nats-io/transport-node";

/** A real nats.js connection for readiness tests. */
export const connectNats = (servers: string) => connect({ servers });
