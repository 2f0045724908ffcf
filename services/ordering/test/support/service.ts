import { createTestDatabase, startNatsServer } from "@stockflow/testkit";
import { bootstrap, type OrderingService } from "../../src/bootstrap.js";
import { loadConfig } from "../../src/config.js";
import { silentLogger } from "./database.js";
import { connect, type NatsConnection } from "./nats.js";

/**
 * One more replica of ordering on an existing database and nats-server, bootstrapped and
 * ready to serve (app.inject) but, unless `start`, without relay and allocation consumer.
 */
export async function orderingReplica(
  dbUrl: string,
  natsUrl: string,
  { env = {}, start = false }: { env?: Record<string, string>; start?: boolean } = {},
): Promise<OrderingService> {
  const config = loadConfig({
    DATABASE_URL: dbUrl,
    NATS_URL: natsUrl,
    RATE_LIMIT_PER_MINUTE: "0",
    LOG_LEVEL: "silent",
    ...env,
  });
  const service = await bootstrap(config, { logger: silentLogger(), relayPollIntervalMs: 100 });
  try {
    await service.app.ready();
    if (start) await service.start();
  } catch (err) {
    await service.stop().catch(() => {});
    throw err;
  }
  return service;
}

/**
 * The ordering service as it runs, on a fresh database and a private nats-server, started
 * (relay and allocation consumer running) and driven through app.inject. `close` undoes it all.
 */
export async function startOrdering(label: string, env: Record<string, string> = {}) {
  const db = await createTestDatabase(label);
  const nats = await startNatsServer();
  let service: OrderingService | undefined;
  let nc: NatsConnection | undefined;
  try {
    service = await orderingReplica(db.url, nats.url, { env, start: true });
    nc = await connect(nats.url);
  } catch (err) {
    await service?.stop().catch(() => {});
    await nats.dispose();
    await db.drop();
    throw err;
  }
  const started = service;
  const client = nc;
  return {
    service: started,
    app: started.app,
    nc: client,
    nats,
    dbUrl: db.url,
    async close() {
      await client.close();
      await started.app.close();
      await started.stop();
      await nats.dispose();
      await db.drop();
    },
  };
}
