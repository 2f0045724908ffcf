import { startTelemetry } from "@stockflow/telemetry";

// The SDK goes first: instrumentations only patch modules loaded after it starts, hence
// the dynamic imports below.
const telemetry = startTelemetry({ serviceName: "warehouse" });

const { createLogger } = await import("@stockflow/telemetry");
const { runService } = await import("@stockflow/service-kit");
const { loadConfig } = await import("./config.js");
const { bootstrap } = await import("./bootstrap.js");

let config: ReturnType<typeof loadConfig>;
try {
  config = loadConfig();
} catch (err) {
  // No logger yet: its level is part of the configuration that failed.
  console.error(`warehouse: ${(err as Error).message}`);
  await telemetry.shutdown();
  process.exit(1);
}
const logger = createLogger({ service: "warehouse", level: config.logLevel });
try {
  const service = await bootstrap(config, logger);
  await runService({
    app: service.app,
    host: config.host,
    port: config.port,
    logger,
    onStart: () => service.start(),
    onStop: async () => {
      await service.stop();
      await telemetry.shutdown();
    },
  });
} catch (err) {
  logger.fatal({ err }, "warehouse failed to start");
  await telemetry.shutdown();
  process.exit(1);
}
