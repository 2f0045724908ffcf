import type { Logger } from "@stockflow/telemetry";

/**
 * The postgres-js 3.4.x crash when PostgreSQL closes a connection in the middle of a
 * transaction (porsager/postgres#1154, #1208): begin() answers the failure with a ROLLBACK
 * on the connection that just closed; its write is flushed from a setImmediate after the
 * socket is gone and throws outside any promise, which kills the process. The transaction
 * itself has already been rejected (begin() races the connection's close), so that write
 * is moot. Nothing else matches.
 */
export function isPostgresJsClosedSocketWrite(err: unknown): boolean {
  if (!(err instanceof TypeError)) return false;
  const stack = err.stack ?? "";
  return (
    err.message.includes("reading 'write'") &&
    stack.includes("nextWrite") &&
    /postgres[\\/]src[\\/]connection\.js/.test(stack)
  );
}

let installed = false;

/**
 * Keeps the process alive through that one postgres-js crash, so a database restart makes
 * the service not ready for a while rather than killing it. Every other uncaught exception
 * still ends the process with exit code 1, as Node's default does. Installed once per process.
 */
export function surviveClosedSocketWrites(logger: Logger): void {
  if (installed) return;
  installed = true;
  process.on("uncaughtException", (err) => {
    if (isPostgresJsClosedSocketWrite(err)) {
      logger.warn({ err }, "database connection closed under a pending write (postgres-js); ignored");
      return;
    }
    process.stderr.write(`${(err as Error)?.stack ?? String(err)}\n`);
    process.exit(1);
  });
}
