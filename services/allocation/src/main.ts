import { startTelemetry } from "@stockflow/telemetry";

// The SDK must be running before anything it instruments is imported, hence the dynamic imports.
const telemetry = startTelemetry({ serviceName: "allocation" });

const { createLogger } = await import("@stockflow/telemetry");
const { runService } = await import("@stockflow/service-kit");
const { loadConfig } = await import("./config.js");
const { bootstrap } = await import("./bootstrap.js");

const config = loadConfig();
const logger = createLogger({ service: "allocation", level: config.logLevel });
try {
  const service = await bootstrap(config, { logger });
  await runService({
    app: service.app,
    host: config.host,
    port: config.port,
    logger,
    onStart: () => service.start(),
    async onStop() {
      await service.stop();
      await telemetry.shutdown();
    },
  });
} catch (err) {
  logger.fatal({ err }, `allocation failed to start: ${(err as Error).message}`);
  await telemetry.shutdown();
  process.exit(1);
}
