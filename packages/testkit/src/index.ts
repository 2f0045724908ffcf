export { waitFor } from "./wait-for.js";
export type { WaitForOptions } from "./wait-for.js";
export { freePort, portAcceptsConnections } from "./free-port.js";
export { adminDatabaseUrl, createTestDatabase, withDatabase } from "./database.js";
export type { TestDatabase } from "./database.js";
export { startNatsServer } from "./nats-server.js";
export type { NatsServerOptions, PrivateNatsServer } from "./nats-server.js";
export { collectSpans } from "./spans.js";
export type { SpanCollector } from "./spans.js";
