import type { Logger } from "@stockflow/telemetry";
import type { FastifyInstance } from "fastify";

export interface RunServiceOptions {
  // biome-ignore lint/suspicious/noExplicitAny: any app built by buildHttpApp, whatever its type provider
  app: FastifyInstance<any, any, any, any, any>;
  host: string;
  port: number;
  logger: Logger;
  /** Runs once the port listens (start consumers, the relay ...). */
  onStart?: () => Promise<void> | void;
  /** Runs after HTTP has drained: stop consumers and relay, close NATS, database, telemetry. */
  onStop: () => Promise<void> | void;
  /** Hard limit for a graceful stop before exiting 1. */
  deadlineMs?: number;
  /** Listen to SIGTERM/SIGINT (default true). */
  handleSignals?: boolean;
  /** process.exit unless a test says otherwise. */
  exit?: (code: number) => void;
}

export interface RunningService {
  /** The address the app listens on, e.g. http://127.0.0.1:3001. */
  address: string;
  /** Drains and stops as on SIGTERM, then calls exit(0) (exit(1) on failure or deadline). */
  shutdown(reason?: string): Promise<void>;
}

/**
 * Listens, then stops gracefully on SIGTERM/SIGINT: HTTP stops accepting and finishes
 * in-flight requests, onStop() closes the rest, the process exits 0. A second signal or
 * the deadline forces exit 1.
 */
export async function runService({
  app,
  host,
  port,
  logger,
  onStart,
  onStop,
  deadlineMs = 20_000,
  handleSignals = true,
  exit = (code) => process.exit(code),
}: RunServiceOptions): Promise<RunningService> {
  const address = await app.listen({ host, port });
  logger.info({ address }, "listening");
  await onStart?.();

  let stopping: Promise<void> | undefined;

  const onSignal = (signal: NodeJS.Signals) => {
    if (stopping) {
      logger.warn({ signal }, "second signal: exiting now");
      exit(1);
      return;
    }
    void shutdown(signal);
  };
  const signals: NodeJS.Signals[] = ["SIGTERM", "SIGINT"];
  if (handleSignals) for (const s of signals) process.on(s, onSignal);

  function shutdown(reason = "shutdown"): Promise<void> {
    stopping ??= (async () => {
      logger.info({ reason }, "stopping");
      const deadline = setTimeout(() => {
        logger.error({ deadlineMs }, "graceful stop took too long: exiting");
        exit(1);
      }, deadlineMs);
      // server.close() drops the connections idle at that moment; the others end with their
      // current answer, which says `connection: close` from now on (buildHttpApp).
      let code = 0;
      try {
        await app.close();
        await onStop();
        logger.info("stopped");
      } catch (err) {
        logger.error({ err }, "graceful stop failed");
        code = 1;
      } finally {
        clearTimeout(deadline);
        for (const s of signals) process.off(s, onSignal);
      }
      exit(code);
    })();
    return stopping;
  }

  return { address, shutdown };
}
