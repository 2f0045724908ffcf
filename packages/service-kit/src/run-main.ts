import { createLogger, type Logger, startTelemetry } from "@stockflow/telemetry";
import type { BaseConfig } from "./config.js";
import { type RunServiceOptions, runService } from "./run-service.js";
import { versionOfMain } from "./service-version.js";

/** What a service's composition root hands back: its HTTP app and what runs beside it. */
export interface ServiceInstance {
  app: RunServiceOptions["app"];
  /** Starts consumers and the outbox relay, once the port listens. */
  start(): Promise<void>;
  /** Stops them, flushes the outbox, closes NATS and the database. */
  stop(): Promise<void>;
}

export interface MainOptions<C extends BaseConfig> {
  service: string;
  loadConfig: () => C;
  bootstrap: (config: C, logger: Logger) => Promise<ServiceInstance>;
}

/**
 * A service process from start to exit: telemetry first (so every span has a provider),
 * then the configuration, the composition root, listening, and on SIGTERM a drain that
 * ends in exit 0. A configuration or start-up failure is one clear line and exit 1.
 */
export async function runMain<C extends BaseConfig>({ service, loadConfig, bootstrap }: MainOptions<C>) {
  const telemetry = startTelemetry({ serviceName: service, serviceVersion: versionOfMain() });
  let config: C;
  try {
    config = loadConfig();
  } catch (err) {
    // No logger yet: its level is part of the configuration that failed.
    console.error(`${service}: ${(err as Error).message}`);
    await telemetry.shutdown();
    process.exit(1);
  }
  const logger = createLogger({ service, level: config.logLevel });
  try {
    const instance = await bootstrap(config, logger);
    await runService({
      app: instance.app,
      host: config.host,
      port: config.port,
      logger,
      onStart: () => instance.start(),
      async onStop() {
        await instance.stop();
        await telemetry.shutdown();
      },
    });
  } catch (err) {
    logger.fatal({ err }, `${service} failed to start: ${(err as Error).message}`);
    await telemetry.shutdown();
    process.exit(1);
  }
}
