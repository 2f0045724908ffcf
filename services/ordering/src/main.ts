import { startTelemetry } from "@stockflow/telemetry";

// Telemetry starts before anything else is imported, so every span has a provider.
const telemetry = startTelemetry({ serviceName: "ordering" });

const { loadConfig } = await import("./config.js");
const { bootstrap } = await import("./bootstrap.js");
const { runService } = await import("@stockflow/service-kit");

const config = loadConfig();
const service = await bootstrap(config);
await runService({
  app: service.app,
  host: config.host,
  port: config.port,
  logger: service.logger,
  // Consumers and relay start once the port listens; orders accepted before the relay
  // runs wait in the outbox.
  onStart: () => service.start(),
  onStop: async () => {
    await service.stop();
    await telemetry.shutdown();
  },
});
